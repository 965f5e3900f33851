"""Every rule of the kafka backend, as functions over plain values."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from eventinfra.contract import Finding
from eventinfra.kafka import naming

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
