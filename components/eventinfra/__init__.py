"""eventinfra: event-driven infrastructure from one typed topology, as Pulumi components."""

from eventinfra.config import Settings, Topology
from eventinfra.consumer import EventConsumer, EventConsumerArgs, SubscriptionArgs
from eventinfra.container_consumer import ContainerConsumer, ContainerConsumerArgs
from eventinfra.errors import ConfigError, EventInfraError, Problem
from eventinfra.idempotency import IdempotencyStore, IdempotencyStoreArgs
from eventinfra.key import EventKey, EventKeyArgs
from eventinfra.lambda_consumer import LambdaConsumer, LambdaConsumerArgs
from eventinfra.loader import PlatformConfig, load_platform_config
from eventinfra.parking import ParkingQueue, ParkingQueueArgs
from eventinfra.platform import EventPlatform
from eventinfra.producer import EventProducer, EventProducerArgs
from eventinfra.rabbitmq_broker import RabbitMQBroker, RabbitMQBrokerArgs
from eventinfra.rabbitmq_consumer import RabbitMQConsumer, RabbitMQConsumerArgs
from eventinfra.rabbitmq_event import RabbitMQEvent, RabbitMQEventArgs
from eventinfra.rabbitmq_platform import RabbitMQPlatform
from eventinfra.rabbitmq_user import RabbitMQUser, RabbitMQUserArgs
from eventinfra.redis_idempotency import RedisIdempotencyStore, RedisIdempotencyStoreArgs
from eventinfra.stack import load_stack_config
from eventinfra.topic import EventTopic, EventTopicArgs

__all__ = [
    "ConfigError",
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
    "LambdaConsumer",
    "LambdaConsumerArgs",
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
    "SubscriptionArgs",
    "Topology",
    "load_platform_config",
    "load_stack_config",
]
