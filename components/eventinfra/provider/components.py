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
from eventinfra.kafka.platform import KafkaPlatform
from eventinfra.rabbitmq.idempotency import RedisIdempotencyStore
from eventinfra.rabbitmq.platform import RabbitMQPlatform

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
    RabbitMQPlatform,
    KafkaPlatform,
)

_DEPENDS_ON = (
    "`depends_on: list[pulumi.Resource]` cannot be a schema property: the analyzer only "
    "references resources of packages with a `pulumi_type` (the generic `Resource` has none). "
    "Fix: drop it from the Args and order the children another way (callers from other "
    "languages would use the `dependsOn` option); that changes the recorded dependencies of "
    "every RabbitMQ stack, so it is its own change."
)


def _no_resource_reference(args: str) -> str:
    return (
        f"Can not determine resource reference for type 'Resource' used in '{args}.depends_on': "
        "'Resource.pulumi_type' is not defined. This may be due to an outdated version of "
        "'pulumi'."
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
    "KafkaCluster": (_no_resource_reference("KafkaClusterArgs"), _DEPENDS_ON),
    "KafkaConsumer": (
        _no_resource_reference("ContainerConsumerArgs"),
        _DEPENDS_ON + " (It builds its Args from `ContainerConsumerArgs`.)",
    ),
    "KafkaAccess": (_no_resource_reference("KafkaAccessArgs"), _DEPENDS_ON),
    "RabbitMQBroker": (_no_resource_reference("RabbitMQBrokerArgs"), _DEPENDS_ON),
    "RabbitMQEvent": (_no_resource_reference("RabbitMQEventArgs"), _DEPENDS_ON),
    "RabbitMQUser": (_no_resource_reference("RabbitMQUserArgs"), _DEPENDS_ON),
    "ContainerConsumer": (_no_resource_reference("ContainerConsumerArgs"), _DEPENDS_ON),
    "RabbitMQConsumer": (
        _no_resource_reference("ContainerConsumerArgs"),
        _DEPENDS_ON + " (It builds its Args from `ContainerConsumerArgs`.)",
    ),
}


def hosted_components() -> list[type[pulumi.ComponentResource]]:
    """The hosted components, in the order the schema lists them."""
    return list(HOSTED)
