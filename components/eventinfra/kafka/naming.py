"""Kafka and Kubernetes names of the kafka backend, derived in one place."""

from __future__ import annotations

DEAD_LETTER_SUFFIX = ".dead-letter"
RETRY_SUFFIX = ".retry"
# The ops commands' KafkaUser (`<prefix>-eventinfra-ops`) and consumer group: an application
# may not take this name, or its user and group would be the ops tool's.
OPS_APPLICATION = "eventinfra-ops"
# Kafka: topic names of at most 249 characters of [A-Za-z0-9._-]; '.' and '_' collide in
# metric names, so Kafka refuses a topic whose name differs from another's only there.
TOPIC_MAX_LENGTH = 249


def event_topic(event: str) -> str:
    """The event's topic: one Kafka cluster per platform, so the event name is enough."""
    return event


def dead_letter_topic(consumer: str) -> str:
    return consumer + DEAD_LETTER_SUFFIX


def retry_topic(consumer: str) -> str:
    """What `eventinfra dlq redrive` writes to: only this consumer reads it, so a redriven
    record reaches this consumer alone, not every group of the event's topic."""
    return consumer + RETRY_SUFFIX


def ops_group() -> str:
    """The group whose committed offsets mark how far the ops commands have taken each
    dead-letter topic (one cluster per platform, so one fixed name is enough)."""
    return OPS_APPLICATION


def consumer_group(consumer: str) -> str:
    """The consumer's group id: its ACL grants Read on exactly this name (literal)."""
    return consumer


def cluster_name(prefix: str) -> str:
    return f"{prefix}-kafka"


def user_name(prefix: str, application: str) -> str:
    """The KafkaUser (its principal, `CN=<name>` with TLS) and the Secret Strimzi writes."""
    return f"{prefix}-{application}"


def bootstrap_host(cluster: str, namespace: str) -> str:
    """Strimzi's bootstrap Service for a cluster."""
    return f"{cluster}-kafka-bootstrap.{namespace}.svc"


def metric_collision_key(topic: str) -> str:
    """Kafka's own collision rule: two topics whose names differ only in '.' vs '_'."""
    return topic.replace(".", "_")
