"""KafkaPlatformArgs: the Kafka platform's topology and settings as language-neutral args."""

# No `from __future__ import annotations` here: Pulumi's component analyzer reads these
# annotations at run time and cannot follow string annotations.

from collections.abc import Mapping
from enum import StrEnum
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

# Plain fields, like SnsSqsPlatformArgs: the topics, users and consumer groups are planned
# from them.


class KafkaPlatformConsumerArgs(TypedDict):
    """A service that reads events as its own consumer group, with a dead-letter topic."""

    subscribes: list[str]
    """The events it receives (names from `events`, at least one). A consumer group reads every
    event of its topics, so there are no filters."""
    runtime: ClusterConsumerRuntime
    """Where its code runs: `container` (give `container`) or `external`."""
    description: NotRequired[str]
    """What the consumer does, for readers of the topology."""
    container: NotRequired[PlatformContainerArgs]
    """The workload, for runtime `container`; at most one replica per partition is useful."""
    idempotency: NotRequired[PlatformIdempotencyArgs]
    """The idempotency store (Redis, shared by the container consumers); on by default."""
    max_receive_count: NotRequired[int]
    """Handler runs on one record before it goes to the dead-letter topic, 1 to 1,000;
    default: `queues.maxReceiveCount`."""


class PlatformKafkaQueueDefaultsArgs(TypedDict):
    """Settings for consumers that do not set their own."""

    max_receive_count: NotRequired[int]
    """Handler runs on one record before it is dead-lettered, 1 to 1,000; default 5."""


class KafkaCleanupPolicy(StrEnum):
    """What a topic does with old events."""

    DELETE = "delete"
    """Events expire after the retention."""
    COMPACT = "compact"
    """Keep the latest event per key."""
    COMPACT_DELETE = "compact,delete"
    """Keep the latest event per key, and only within the retention."""


class PlatformKafkaTopicArgs(TypedDict):
    """One event's topic, where it differs from the cluster's defaults."""

    partitions: NotRequired[int]
    """Partitions, 1 to 10,000."""
    retention_hours: NotRequired[int]
    """How long events are kept, 1 hour to ten years."""
    cleanup_policy: NotRequired[KafkaCleanupPolicy]
    """`delete` (default) or `compact`."""


class PlatformKafkaClusterArgs(TypedDict):
    """The Kafka cluster, run by Strimzi."""

    namespace: NotRequired[str]
    """The Kubernetes namespace of the cluster and everything else, a DNS label; default
    `events`."""
    replicas: NotRequired[int]
    """Brokers, 1 to 99; default 3 (topics get up to three replicas)."""
    storage: NotRequired[str]
    """Each broker's volume, like `50Gi` (Mi, Gi or Ti); default `20Gi`."""
    storage_class: NotRequired[str]
    """The volumes' storage class; default: the cluster's default class."""
    cpu: NotRequired[str]
    """Each broker's CPU (requests equal limits), like `2`; default `2`."""
    memory: NotRequired[str]
    """Each broker's memory (requests equal limits), like `4Gi`; default `4Gi`."""
    partitions: NotRequired[int]
    """Partitions of every event's topic, 1 to 10,000; default 6."""
    retention_hours: NotRequired[int]
    """How long every topic keeps events, 1 hour to ten years; default 168 (a week)."""
    topics: NotRequired[dict[str, PlatformKafkaTopicArgs]]
    """Per-event topic settings, by event name (declared in `events`)."""
    tls: NotRequired[bool]
    """A TLS listener with client certificates (mTLS), default true; false: a plain listener
    with SCRAM-SHA-512 passwords (development only)."""
    rack_topology_key: NotRequired[str]
    """Spread replicas over this node label's values, like `topology.kubernetes.io/zone`."""
    redis_image: NotRequired[str]
    """The idempotency store's Redis image; pin it by digest in production."""
    monitoring_namespace: NotRequired[str]
    """Where Prometheus runs, default `monitoring`: the namespace's NetworkPolicies deny every
    other ingress not Strimzi's or the idempotency store's."""
    install_operators: NotRequired[bool]
    """Install Strimzi and KEDA from pinned release manifests; default false (they must
    already be installed)."""


class KafkaPlatformArgs(TypedDict):
    """One environment's event platform on Kafka in Kubernetes: its topology and settings."""

    events: dict[str, PlatformEventArgs]
    """Event types by name, like `user.signup` (letters, digits, '.', '_' and '-')."""
    producers: NotRequired[dict[str, PlatformClusterProducerArgs]]
    """Producers by name, like `accounts-api` (a DNS label)."""
    consumers: NotRequired[dict[str, KafkaPlatformConsumerArgs]]
    """Consumers by name, like `mailer` (a DNS label)."""
    name_prefix: NotRequired[str]
    """The prefix of every object, cluster and user name: lowercase letters, digits and '-', at
    most 40; default: the stack name."""
    kafka: NotRequired[PlatformKafkaClusterArgs]
    """The cluster and its topics' defaults."""
    queues: NotRequired[PlatformKafkaQueueDefaultsArgs]
    """Settings for consumers that do not set their own."""
    base_directory: NotRequired[str]
    """Folder that relative `schema` paths are resolved against; default: the working
    directory. From YAML pass `${pulumi.cwd}`; a provider's own working directory is not the
    program's."""


ARGS = ArgsSpec(
    root=KafkaPlatformArgs,
    broker="kafka",
    source="KafkaPlatformArgs",
    planned="topics, users and consumer groups",
)


def platform_config_from_args(
    args: KafkaPlatformArgs | Mapping[str, Any], *, stack: str
) -> PlatformConfig:
    """Validate the args through the topology and settings models; raise every problem once,
    each at its key path in the args (`kafka.topics."order.placed".partitions`)."""
    return config_from_args(args, ARGS, stack=stack)
