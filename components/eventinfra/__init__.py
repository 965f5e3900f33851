"""eventinfra: event-driven infrastructure from one typed topology, as Pulumi components.

Every public name is importable from here. They load on first use (PEP 562), so that an AWS-only
program never imports pulumi-kubernetes (the `eventinfra[k8s]` extra) and `import eventinfra`
costs almost nothing; type checkers see ordinary imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventinfra.aws.alarms import AlarmTarget, AlarmTargetArgs
    from eventinfra.aws.consumer import (
        ConsumerIdempotencyArgs,
        ConsumerRuntime,
        EventConsumer,
        EventConsumerArgs,
        SubscriptionArgs,
    )
    from eventinfra.aws.idempotency import IdempotencyStore, IdempotencyStoreArgs
    from eventinfra.aws.key import EventKey, EventKeyArgs
    from eventinfra.aws.lambda_consumer import (
        LambdaConsumer,
        LambdaConsumerArgs,
        LambdaFunctionArgs,
    )
    from eventinfra.aws.parking import ParkingQueue, ParkingQueueArgs
    from eventinfra.aws.platform import EventPlatform, SnsSqsPlatform
    from eventinfra.aws.platform_args import SnsSqsPlatformArgs
    from eventinfra.aws.producer import EventProducer, EventProducerArgs
    from eventinfra.aws.topic import EventTopic, EventTopicArgs
    from eventinfra.config.loader import PlatformConfig, load_platform_config
    from eventinfra.config.models import Settings, Topology
    from eventinfra.config.platform_args import ClusterConsumerRuntime
    from eventinfra.config.stack import load_stack_config
    from eventinfra.errors import ConfigError, EventInfraError, Problem
    from eventinfra.kafka.cluster import KafkaCluster, KafkaClusterArgs
    from eventinfra.kafka.consumer import KafkaConsumer, KafkaConsumerArgs
    from eventinfra.kafka.platform import KafkaPlatform
    from eventinfra.kafka.platform_args import KafkaCleanupPolicy, KafkaPlatformArgs
    from eventinfra.kafka.user import KafkaAccess, KafkaAccessArgs
    from eventinfra.rabbitmq.broker import RabbitMQBroker, RabbitMQBrokerArgs
    from eventinfra.rabbitmq.consumer import RabbitMQConsumer, RabbitMQConsumerArgs
    from eventinfra.rabbitmq.container_consumer import ContainerConsumer, ContainerConsumerArgs
    from eventinfra.rabbitmq.event import RabbitMQEvent, RabbitMQEventArgs
    from eventinfra.rabbitmq.idempotency import RedisIdempotencyStore, RedisIdempotencyStoreArgs
    from eventinfra.rabbitmq.platform import RabbitMQPlatform
    from eventinfra.rabbitmq.platform_args import RabbitMQPlatformArgs
    from eventinfra.rabbitmq.user import RabbitMQUser, RabbitMQUserArgs

__version__ = "0.2.0"

# Where each public name is defined.
_MODULES = {
    "KafkaAccess": "eventinfra.kafka.user",
    "KafkaAccessArgs": "eventinfra.kafka.user",
    "KafkaCluster": "eventinfra.kafka.cluster",
    "KafkaClusterArgs": "eventinfra.kafka.cluster",
    "KafkaConsumer": "eventinfra.kafka.consumer",
    "KafkaConsumerArgs": "eventinfra.kafka.consumer",
    "KafkaPlatform": "eventinfra.kafka.platform",
    "KafkaPlatformArgs": "eventinfra.kafka.platform_args",
    "KafkaCleanupPolicy": "eventinfra.kafka.platform_args",
    "ClusterConsumerRuntime": "eventinfra.config.platform_args",
    "AlarmTarget": "eventinfra.aws.alarms",
    "AlarmTargetArgs": "eventinfra.aws.alarms",
    "ConfigError": "eventinfra.errors",
    "ConsumerIdempotencyArgs": "eventinfra.aws.consumer",
    "ConsumerRuntime": "eventinfra.aws.consumer",
    "ContainerConsumer": "eventinfra.rabbitmq.container_consumer",
    "ContainerConsumerArgs": "eventinfra.rabbitmq.container_consumer",
    "EventConsumer": "eventinfra.aws.consumer",
    "EventConsumerArgs": "eventinfra.aws.consumer",
    "EventInfraError": "eventinfra.errors",
    "EventKey": "eventinfra.aws.key",
    "EventKeyArgs": "eventinfra.aws.key",
    "EventPlatform": "eventinfra.aws.platform",
    "EventProducer": "eventinfra.aws.producer",
    "EventProducerArgs": "eventinfra.aws.producer",
    "EventTopic": "eventinfra.aws.topic",
    "EventTopicArgs": "eventinfra.aws.topic",
    "IdempotencyStore": "eventinfra.aws.idempotency",
    "IdempotencyStoreArgs": "eventinfra.aws.idempotency",
    "LambdaConsumer": "eventinfra.aws.lambda_consumer",
    "LambdaConsumerArgs": "eventinfra.aws.lambda_consumer",
    "LambdaFunctionArgs": "eventinfra.aws.lambda_consumer",
    "ParkingQueue": "eventinfra.aws.parking",
    "ParkingQueueArgs": "eventinfra.aws.parking",
    "PlatformConfig": "eventinfra.config.loader",
    "Problem": "eventinfra.errors",
    "RabbitMQBroker": "eventinfra.rabbitmq.broker",
    "RabbitMQBrokerArgs": "eventinfra.rabbitmq.broker",
    "RabbitMQConsumer": "eventinfra.rabbitmq.consumer",
    "RabbitMQConsumerArgs": "eventinfra.rabbitmq.consumer",
    "RabbitMQEvent": "eventinfra.rabbitmq.event",
    "RabbitMQEventArgs": "eventinfra.rabbitmq.event",
    "RabbitMQPlatform": "eventinfra.rabbitmq.platform",
    "RabbitMQPlatformArgs": "eventinfra.rabbitmq.platform_args",
    "RabbitMQUser": "eventinfra.rabbitmq.user",
    "RabbitMQUserArgs": "eventinfra.rabbitmq.user",
    "RedisIdempotencyStore": "eventinfra.rabbitmq.idempotency",
    "RedisIdempotencyStoreArgs": "eventinfra.rabbitmq.idempotency",
    "Settings": "eventinfra.config.models",
    "SnsSqsPlatform": "eventinfra.aws.platform",
    "SnsSqsPlatformArgs": "eventinfra.aws.platform_args",
    "SubscriptionArgs": "eventinfra.aws.consumer",
    "Topology": "eventinfra.config.models",
    "load_platform_config": "eventinfra.config.loader",
    "load_stack_config": "eventinfra.config.stack",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'eventinfra' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith(("pulumi_kubernetes", "pulumi_random")):
            raise ModuleNotFoundError(
                f"eventinfra.{name} needs {error.name}, which comes with the Kubernetes extra: "
                "pip install 'eventinfra[k8s]'.",
                name=error.name,
            ) from None
        raise
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])


__all__ = [
    "AlarmTarget",
    "AlarmTargetArgs",
    "ClusterConsumerRuntime",
    "ConfigError",
    "ConsumerIdempotencyArgs",
    "ConsumerRuntime",
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
    "KafkaCleanupPolicy",
    "KafkaCluster",
    "KafkaClusterArgs",
    "KafkaConsumer",
    "KafkaConsumerArgs",
    "KafkaPlatform",
    "KafkaPlatformArgs",
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
    "RabbitMQPlatformArgs",
    "RabbitMQUser",
    "RabbitMQUserArgs",
    "RedisIdempotencyStore",
    "RedisIdempotencyStoreArgs",
    "Settings",
    "SnsSqsPlatform",
    "SnsSqsPlatformArgs",
    "SubscriptionArgs",
    "Topology",
    "load_platform_config",
    "load_stack_config",
]
