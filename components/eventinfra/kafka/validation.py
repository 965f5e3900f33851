"""Every rule of the kafka backend, as functions over plain values."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from eventinfra.contract import Finding, under
from eventinfra.kafka import naming
from eventinfra.physical_names import DNS1123_SUBDOMAIN, K8S_LABEL_MAX, K8S_NAME_MAX
from eventinfra.rabbitmq import defaults as workload_defaults
from eventinfra.rabbitmq import validation as workload_rules

# Kafka's topic name rule, applied to every name an ACL grants on: a literal ACL on `*` is
# Kafka's wildcard and grants every topic or group, and Strimzi passes the name through as is.
_ACL_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


def acl_name_problems(acls: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Each ACL names one topic or group exactly (keys relative to the KafkaAccess args)."""
    return [
        Finding(
            ("acls", index, "name"),
            f"gives the {acl.get('resource_type', 'resource')} name {acl.get('name')!r}; "
            "expected at most 249 letters, digits, '.', '_' and '-' (the Kafka topic name "
            "rule), because a literal ACL on '*' grants every topic or group.",
        )
        for index, acl in enumerate(acls)
        if not (isinstance(acl.get("name"), str) and _ACL_NAME.fullmatch(acl["name"]))
    ]


def filter_problems(filter_policy: Mapping[str, Any] | None) -> list[Finding]:
    """A consumer group reads every event of its topics: Kafka has no broker-side filter."""
    if filter_policy is None:
        return []
    return [
        Finding(
            (),
            "is not supported on the 'kafka' broker, where a consumer group reads every event "
            "of its topics; expected no filter (filter in the consumer, or publish a separate "
            f"event), found {dict(filter_policy)!r}.",
        )
    ]


def topic_problems(events: Collection[str], consumers: Collection[str]) -> list[Finding]:
    """Topic names Kafka refuses: too long, or colliding with another's in metric names (a '.'
    where the other has '_'), dead-letter and retry topics included (keys relative to the
    topology)."""
    owners: dict[str, tuple[tuple[str, str], str]] = {}
    names: set[str] = set()
    findings = []
    topics = [(("events", e), naming.event_topic(e), f"the topic of event {e!r}") for e in events]
    topics += [
        (("consumers", c), naming.dead_letter_topic(c), f"the dead-letter topic of consumer {c!r}")
        for c in consumers
    ]
    topics += [
        (("consumers", c), naming.retry_topic(c), f"the retry topic of consumer {c!r}")
        for c in consumers
    ]
    for owner, topic, role in topics:
        if len(topic) > naming.TOPIC_MAX_LENGTH:
            findings.append(
                Finding(
                    owner,
                    f"gives the Kafka topic name {topic!r} ({role}, {len(topic)} characters); "
                    f"expected at most {naming.TOPIC_MAX_LENGTH}.",
                )
            )
        key = naming.metric_collision_key(topic)
        if key in owners and topic in names:
            findings.append(
                Finding(
                    owner,
                    f"gives the Kafka topic name {topic!r} ({role}), which is already "
                    f"{owners[key][1]}; expected another name.",
                )
            )
        elif key in owners:
            other_owner, other_role = owners[key]
            findings.append(
                Finding(
                    owner,
                    f"gives the Kafka topic name {topic!r} ({role}), which Kafka refuses beside "
                    f"{other_role} (from {'.'.join(other_owner)}): names that differ only in '.' "
                    "and '_' collide in its metrics; expected another name.",
                )
            )
        else:
            owners[key] = (owner, role)
        names.add(topic)
    return findings


def reserved_name_problems(applications: Mapping[str, Collection[str]]) -> list[Finding]:
    """No producer or consumer named like the ops commands' user and group (keys relative to
    the topology; `applications` maps `producers` and `consumers` to their names)."""
    return [
        Finding(
            (section, name),
            f"is named {name!r}, which eventinfra uses for the ops commands' KafkaUser and "
            "consumer group (`eventinfra dlq`); expected another name.",
        )
        for section, names in applications.items()
        for name in names
        if name == naming.OPS_APPLICATION
    ]


def topic_settings_problems(topics: Collection[str], events: Collection[str]) -> list[Finding]:
    """`kafka.topics` may only name declared events (keys relative to `kafka.topics`)."""
    declared = ", ".join(repr(e) for e in events)
    return [
        Finding(
            (topic,),
            f"names no declared event; expected one of {declared}, found {topic!r}.",
        )
        for topic in topics
        if topic not in events
    ]


def max_replicas_problems(max_replicas: int, partitions: Mapping[str, int]) -> list[Finding]:
    """A consumer group gives each partition to one member: more replicas than the smallest
    subscribed topic's partitions sit idle (keys relative to the consumer's `container`)."""
    if not partitions:
        return []
    event, fewest = min(partitions.items(), key=lambda item: (item[1], item[0]))
    if max_replicas <= fewest:
        return []
    return [
        Finding(
            ("replicas", "max"),
            f"expected at most {fewest}, the partitions of topic {event!r}, as a consumer group "
            f"gives each partition to one member and the others sit idle; found {max_replicas} "
            "(lower it, or raise the topic's partitions in `kafka.topics`).",
        )
    ]


# A Kubernetes label key (`IsQualifiedName`): an optional DNS-1123 subdomain prefix and `/`,
# then a name of at most 63 alphanumerics, '-', '_' and '.', alphanumeric at both ends.
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def label_key_problems(key: str | None) -> list[Finding]:
    """A node label key, like `topology.kubernetes.io/zone` (Strimzi's rack `topologyKey`)."""
    if key is None:
        return []
    prefix, _, name = key.rpartition("/")
    valid = (
        len(name) <= K8S_LABEL_MAX
        and _LABEL_NAME.fullmatch(name) is not None
        and (
            "/" not in key
            or (len(prefix) <= K8S_NAME_MAX and DNS1123_SUBDOMAIN.fullmatch(prefix) is not None)
        )
    )
    if valid:
        return []
    return [
        Finding(
            (),
            "expected a Kubernetes label key, like `topology.kubernetes.io/zone`: an optional "
            "DNS subdomain and '/', then at most 63 letters, digits, '-', '_' and '.', beginning "
            f"and ending with a letter or digit; found {key!r}.",
        )
    ]


def cluster_settings_problems(
    *,
    cpu: str,
    memory: str,
    storage: str,
    storage_class: str | None,
    rack_topology_key: str | None,
) -> list[Finding]:
    """The brokers' size and placement (keys relative to the `kafka:` settings, or to the
    KafkaCluster args, which use the same names)."""
    return [
        *under(("cpu",), workload_rules.cpu_problems(cpu)),
        *under(("memory",), workload_rules.memory_problems(memory)),
        *under(
            ("storage",),
            workload_rules.memory_problems(
                storage, minimum=workload_defaults.MIN_STORAGE_BYTES, what="volume size"
            ),
        ),
        *under(
            ("storage_class",), workload_rules.object_name_problems(storage_class, "StorageClass")
        ),
        *under(("rack_topology_key",), label_key_problems(rack_topology_key)),
    ]
