"""The components the eventinfra package hosts, and why the others are not hosted yet."""

from typing import Final

import pulumi

from eventinfra.aws.idempotency import IdempotencyStore
from eventinfra.aws.key import EventKey
from eventinfra.aws.producer import EventProducer
from eventinfra.aws.topic import EventTopic
from eventinfra.provider.annotations import resolve_annotations
from eventinfra.provider.platform import SnsSqsPlatform
from eventinfra.rabbitmq.idempotency import RedisIdempotencyStore

PACKAGE_NAME: Final = "eventinfra"
"""The package's name: the first part of every type token, `eventinfra:index:<ClassName>`."""

HOSTED: Final[tuple[type[pulumi.ComponentResource], ...]] = (
    EventKey,
    EventTopic,
    EventProducer,
    IdempotencyStore,
    SnsSqsPlatform,
    RedisIdempotencyStore,
)

_ALARM_TARGET = (
    "`alarm_target: AlarmTarget` is a dataclass in a module with `from __future__ import "
    "annotations`, so the analyzer finds strings in it; and a hosted component would get the "
    "field as a dict, not an `AlarmTarget`. Fix: an `AlarmTargetArgs` TypedDict."
)
_DEPENDS_ON = (
    "`depends_on: Sequence[pulumi.Resource]` cannot be a schema property: the analyzer only "
    "references resources of packages with a `pulumi_type` (the generic `Resource` has none). "
    "Fix: drop it from the Args; callers from other languages use the `dependsOn` option."
)
_NO_ARGS = "its `__init__` takes no `args`: the analyzer needs a TypedDict parameter named args."

NOT_HOSTED: Final[dict[str, tuple[str, str]]] = {
    # Component name: (the analyzer's exact error in pulumi 3.272, after
    # `resolve_annotations`; why, and the fix).
    "ParkingQueue": ("issubclass() arg 1 must be a class", _ALARM_TARGET),
    "LambdaConsumer": ("issubclass() arg 1 must be a class", _ALARM_TARGET),
    "EventConsumer": (
        "issubclass() arg 1 must be a class",
        "`runtime: Literal['lambda', 'external']` is not a type the analyzer supports (an "
        "Enum is), and " + _ALARM_TARGET,
    ),
    "EventPlatform": (
        "ComponentResource 'EventPlatform' requires an argument named 'args' with a type "
        "annotation in its __init__ method",
        _NO_ARGS + " It takes a Python `PlatformConfig`; `SnsSqsPlatform` hosts it with "
        "`SnsSqsPlatformArgs`.",
    ),
    "RabbitMQPlatform": (
        "ComponentResource 'RabbitMQPlatform' requires an argument named 'args' with a type "
        "annotation in its __init__ method",
        _NO_ARGS + " It takes a Python `PlatformConfig`; it needs args like `SnsSqsPlatformArgs`.",
    ),
    "KafkaPlatform": (
        "ComponentResource 'KafkaPlatform' requires an argument named 'args' with a type "
        "annotation in its __init__ method",
        _NO_ARGS + " It takes a Python `PlatformConfig`; it needs args like `SnsSqsPlatformArgs`.",
    ),
    "KafkaCluster": (
        "Can not determine resource reference for type 'Resource' used in "
        "'KafkaClusterArgs.depends_on': 'Resource.pulumi_type' is not defined. This may be "
        "due to an outdated version of 'pulumi'.",
        _DEPENDS_ON,
    ),
    "KafkaConsumer": (
        "Can not determine resource reference for type 'Resource' used in "
        "'ContainerConsumerArgs.depends_on': 'Resource.pulumi_type' is not defined. This may be "
        "due to an outdated version of 'pulumi'.",
        _DEPENDS_ON,
    ),
    "KafkaAccess": (
        "Can not determine resource reference for type 'Resource' used in "
        "'KafkaAccessArgs.depends_on': 'Resource.pulumi_type' is not defined. This may be "
        "due to an outdated version of 'pulumi'.",
        _DEPENDS_ON,
    ),
    "RabbitMQBroker": (
        "Can not determine resource reference for type 'Resource' used in "
        "'RabbitMQBrokerArgs.depends_on': 'Resource.pulumi_type' is not defined. This may be "
        "due to an outdated version of 'pulumi'.",
        _DEPENDS_ON,
    ),
    "RabbitMQEvent": (
        "Can not determine resource reference for type 'Resource' used in "
        "'RabbitMQEventArgs.depends_on': 'Resource.pulumi_type' is not defined. This may be "
        "due to an outdated version of 'pulumi'.",
        _DEPENDS_ON,
    ),
    "RabbitMQUser": (
        "Can not determine resource reference for type 'Resource' used in "
        "'RabbitMQUserArgs.depends_on': 'Resource.pulumi_type' is not defined. This may be "
        "due to an outdated version of 'pulumi'.",
        _DEPENDS_ON,
    ),
    "ContainerConsumer": (
        "Can not determine resource reference for type 'Resource' used in "
        "'ContainerConsumerArgs.depends_on': 'Resource.pulumi_type' is not defined. This may be "
        "due to an outdated version of 'pulumi'.",
        _DEPENDS_ON,
    ),
    "RabbitMQConsumer": (
        "Can not determine resource reference for type 'Resource' used in "
        "'ContainerConsumerArgs.depends_on': 'Resource.pulumi_type' is not defined. This may be "
        "due to an outdated version of 'pulumi'.",
        _DEPENDS_ON + " (It builds its Args from `ContainerConsumerArgs`.)",
    ),
}


def hosted_components() -> list[type[pulumi.ComponentResource]]:
    """The hosted components, their annotations evaluated for the analyzer."""
    for component in HOSTED:
        resolve_annotations(component)
    return list(HOSTED)
