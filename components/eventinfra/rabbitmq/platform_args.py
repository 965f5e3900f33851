"""RabbitMQPlatformArgs: the RabbitMQ platform's topology and settings as language-neutral args."""

# No `from __future__ import annotations` here: Pulumi's component analyzer reads these
# annotations at run time and cannot follow string annotations.

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from eventinfra.config.loader import PlatformConfig
from eventinfra.config.platform_args import (
    ArgsSpec,
    ClusterConsumerRuntime,
    PlatformClusterProducerArgs,
    PlatformContainerArgs,
    PlatformEventArgs,
    PlatformIdempotencyArgs,
    config_from_args,
)

# Plain fields, like SnsSqsPlatformArgs: the exchanges, queues and users are planned from them.


class RabbitMQPlatformConsumerArgs(TypedDict):
    """A service that receives events from its own quorum queue, with a dead-letter queue."""

    subscribes: list[str]
    """The events it receives (names from `events`, at least one). A topic exchange routes on
    the event name only, so there are no filters."""
    runtime: ClusterConsumerRuntime
    """Where its code runs: `container` (give `container`) or `external`."""
    description: NotRequired[str]
    """What the consumer does, for readers of the topology."""
    container: NotRequired[PlatformContainerArgs]
    """The workload, for runtime `container`."""
    idempotency: NotRequired[PlatformIdempotencyArgs]
    """The idempotency store (Redis, shared by the container consumers); on by default."""
    max_receive_count: NotRequired[int]
    """Deliveries before a message moves to the dead-letter queue (the quorum queue's
    delivery limit), 1 to 1,000; default: `queues.maxReceiveCount`."""


class PlatformRabbitMQBrokerArgs(TypedDict):
    """The RabbitMQ cluster, run by the RabbitMQ Cluster Operator."""

    namespace: NotRequired[str]
    """The Kubernetes namespace of the broker and everything else, a DNS label; default
    `events`."""
    replicas: NotRequired[int]
    """Broker nodes, 1 to 9; default 3."""
    storage: NotRequired[str]
    """Each node's volume, like `20Gi`; default `10Gi`."""
    storage_class: NotRequired[str]
    """The volumes' storage class; default: the cluster's default class."""
    cpu: NotRequired[str]
    """Each node's CPU (requests equal limits), like `2`; default `2`."""
    memory: NotRequired[str]
    """Each node's memory (requests equal limits), like `4Gi`; default `4Gi`."""
    image: NotRequired[str]
    """The broker image; pin it by digest in production, like
    `rabbitmq:4.0.5-management@sha256:<64 hex>`."""
    redis_image: NotRequired[str]
    """The idempotency store's Redis image; pin it by digest in production."""
    tls_secret: NotRequired[str]
    """A `kubernetes.io/tls` Secret in the namespace; turns off the non-TLS listeners."""
    operators_namespace: NotRequired[str]
    """Where the Cluster and Topology Operators run: they may reach the management API."""
    keda_namespace: NotRequired[str]
    """Where KEDA runs: it may read queue lengths from the management API."""
    monitoring_namespace: NotRequired[str]
    """Where Prometheus runs: it may scrape the broker's metrics port."""
    install_operators: NotRequired[bool]
    """Install the Cluster Operator, Topology Operator and KEDA from pinned release manifests;
    default false (they must already be installed)."""


class PlatformRabbitMQQueueDefaultsArgs(TypedDict):
    """Queue settings for consumers that do not set their own."""

    max_receive_count: NotRequired[int]
    """Deliveries before a message is dead-lettered, 1 to 1,000."""


class PlatformRabbitMQAlarmArgs(TypedDict):
    """When the platform's Prometheus alerts fire."""

    queue_age_seconds: NotRequired[int]
    """Alert when a queue's messages wait longer than this, 60 to 1,209,600 seconds."""


class RabbitMQPlatformArgs(TypedDict):
    """One environment's event platform on RabbitMQ in Kubernetes: its topology and settings."""

    events: dict[str, PlatformEventArgs]
    """Event types by name, like `user.signup` (letters, digits, '.', '_' and '-')."""
    producers: NotRequired[dict[str, PlatformClusterProducerArgs]]
    """Producers by name, like `accounts-api` (a DNS label)."""
    consumers: NotRequired[dict[str, RabbitMQPlatformConsumerArgs]]
    """Consumers by name, like `mailer` (a DNS label)."""
    name_prefix: NotRequired[str]
    """The vhost and the prefix of every object name: lowercase letters, digits and '-', at
    most 40; default: the stack name."""
    rabbitmq: NotRequired[PlatformRabbitMQBrokerArgs]
    """The broker."""
    queues: NotRequired[PlatformRabbitMQQueueDefaultsArgs]
    """Queue settings for consumers that do not set their own."""
    alarms: NotRequired[PlatformRabbitMQAlarmArgs]
    """When alerts fire."""
    base_directory: NotRequired[str]
    """Folder that relative `schema` paths are resolved against; default: the working
    directory. From YAML pass `${pulumi.cwd}`; a provider's own working directory is not the
    program's."""


ARGS = ArgsSpec(
    root=RabbitMQPlatformArgs,
    broker="rabbitmq",
    source="RabbitMQPlatformArgs",
    planned="exchanges, queues and users",
)


def platform_config_from_args(
    args: RabbitMQPlatformArgs | Mapping[str, Any], *, stack: str
) -> PlatformConfig:
    """Validate the args through the topology and settings models; raise every problem once,
    each at its key path in the args (`consumers.mailer.container.replicas.max`)."""
    return config_from_args(args, ARGS, stack=stack)
