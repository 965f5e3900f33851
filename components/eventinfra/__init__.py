"""eventinfra: event-driven infrastructure from one typed topology, as Pulumi components."""

from eventinfra.aws.alarms import AlarmTarget
from eventinfra.aws.consumer import (
    ConsumerIdempotencyArgs,
    EventConsumer,
    EventConsumerArgs,
    SubscriptionArgs,
)
from eventinfra.aws.idempotency import IdempotencyStore, IdempotencyStoreArgs
from eventinfra.aws.key import EventKey, EventKeyArgs
from eventinfra.aws.lambda_consumer import LambdaConsumer, LambdaConsumerArgs, LambdaFunctionArgs
from eventinfra.aws.parking import ParkingQueue, ParkingQueueArgs
from eventinfra.aws.platform import EventPlatform, SnsSqsPlatform
from eventinfra.aws.producer import EventProducer, EventProducerArgs
from eventinfra.aws.topic import EventTopic, EventTopicArgs
from eventinfra.config.loader import PlatformConfig, load_platform_config
from eventinfra.config.models import Settings, Topology
from eventinfra.config.stack import load_stack_config
from eventinfra.errors import ConfigError, EventInfraError, Problem
from eventinfra.kafka.cluster import KafkaCluster, KafkaClusterArgs
from eventinfra.kafka.consumer import KafkaConsumer, KafkaConsumerArgs
from eventinfra.kafka.platform import KafkaPlatform
from eventinfra.kafka.user import KafkaAccess, KafkaAccessArgs
from eventinfra.rabbitmq.broker import RabbitMQBroker, RabbitMQBrokerArgs
from eventinfra.rabbitmq.consumer import RabbitMQConsumer, RabbitMQConsumerArgs
from eventinfra.rabbitmq.container_consumer import ContainerConsumer, ContainerConsumerArgs
from eventinfra.rabbitmq.event import RabbitMQEvent, RabbitMQEventArgs
from eventinfra.rabbitmq.idempotency import RedisIdempotencyStore, RedisIdempotencyStoreArgs
from eventinfra.rabbitmq.platform import RabbitMQPlatform
from eventinfra.rabbitmq.user import RabbitMQUser, RabbitMQUserArgs

__version__ = "0.2.0"

__all__ = [
    "AlarmTarget",
    "ConfigError",
    "ConsumerIdempotencyArgs",
    "ContainerConsumer",
    "ContainerConsumerArgs",
    "EventConsumer",
    "EventConsumerArgs",
    "EventInfraError",
    "EventKey",
    "EventKeyArgs",
    "EventPlatform",
    "EventProducer",
    "EventProducerArgs",
    "EventTopic",
    "EventTopicArgs",
    "IdempotencyStore",
    "IdempotencyStoreArgs",
    "KafkaAccess",
    "KafkaAccessArgs",
    "KafkaCluster",
    "KafkaClusterArgs",
    "KafkaConsumer",
    "KafkaConsumerArgs",
    "KafkaPlatform",
    "LambdaConsumer",
    "LambdaConsumerArgs",
    "LambdaFunctionArgs",
    "ParkingQueue",
    "ParkingQueueArgs",
    "PlatformConfig",
    "Problem",
    "RabbitMQBroker",
    "RabbitMQBrokerArgs",
    "RabbitMQConsumer",
    "RabbitMQConsumerArgs",
    "RabbitMQEvent",
    "RabbitMQEventArgs",
    "RabbitMQPlatform",
    "RabbitMQUser",
    "RabbitMQUserArgs",
    "RedisIdempotencyStore",
    "RedisIdempotencyStoreArgs",
    "Settings",
    "SnsSqsPlatform",
    "SubscriptionArgs",
    "Topology",
    "load_platform_config",
    "load_stack_config",
]
