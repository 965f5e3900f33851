"""The components the eventinfra package hosts, and why the others are not hosted yet."""

from typing import Final

import pulumi

from eventinfra.aws.consumer import EventConsumer
from eventinfra.aws.idempotency import IdempotencyStore
from eventinfra.aws.key import EventKey
from eventinfra.aws.lambda_consumer import LambdaConsumer
from eventinfra.aws.parking import ParkingQueue
from eventinfra.aws.platform import SnsSqsPlatform
from eventinfra.aws.producer import EventProducer
from eventinfra.aws.topic import EventTopic
from eventinfra.kafka.cluster import KafkaCluster
from eventinfra.kafka.consumer import KafkaConsumer
from eventinfra.kafka.platform import KafkaPlatform
from eventinfra.kafka.user import KafkaAccess
from eventinfra.rabbitmq.broker import RabbitMQBroker
from eventinfra.rabbitmq.consumer import RabbitMQConsumer
from eventinfra.rabbitmq.container_consumer import ContainerConsumer
from eventinfra.rabbitmq.event import RabbitMQEvent
from eventinfra.rabbitmq.idempotency import RedisIdempotencyStore
from eventinfra.rabbitmq.platform import RabbitMQPlatform
from eventinfra.rabbitmq.user import RabbitMQUser

PACKAGE_NAME: Final = "eventinfra"
"""The package's name: the first part of every type token, `eventinfra:index:<ClassName>`."""

HOSTED: Final[tuple[type[pulumi.ComponentResource], ...]] = (
    EventKey,
    EventTopic,
    EventProducer,
    IdempotencyStore,
    ParkingQueue,
    LambdaConsumer,
    EventConsumer,
    SnsSqsPlatform,
    RedisIdempotencyStore,
    RabbitMQBroker,
    RabbitMQEvent,
    RabbitMQUser,
    ContainerConsumer,
    RabbitMQConsumer,
    KafkaCluster,
    KafkaAccess,
    KafkaConsumer,
    RabbitMQPlatform,
    KafkaPlatform,
)


def _no_args(component: str) -> str:
    return (
        f"ComponentResource '{component}' requires an argument named 'args' with a type "
        "annotation in its __init__ method"
    )


NOT_HOSTED: Final[dict[str, tuple[str, str]]] = {
    # Component name: (the analyzer's exact error in pulumi 3.272; why, and the fix).
    "EventPlatform": (
        _no_args("EventPlatform"),
        "The platform's first name and signature, `EventPlatform(name, config)`, kept for "
        "Python programs; other languages use `SnsSqsPlatform` with `SnsSqsPlatformArgs`.",
    ),
}


def hosted_components() -> list[type[pulumi.ComponentResource]]:
    """The hosted components, in the order the schema lists them."""
    return list(HOSTED)
