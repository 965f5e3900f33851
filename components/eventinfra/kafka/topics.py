"""An event's topic settings: the per-event `kafka.topics` entry, else the `kafka:` defaults."""

from __future__ import annotations

from dataclasses import dataclass

from eventinfra.config.models import KafkaSettings
from eventinfra.kafka import defaults


@dataclass(frozen=True)
class TopicSettings:
    partitions: int
    retention_hours: int
    cleanup_policy: str


def topic_settings(kafka: KafkaSettings, event: str) -> TopicSettings:
    own = kafka.topics.get(event)
    return TopicSettings(
        partitions=(own.partitions if own and own.partitions else kafka.partitions),
        retention_hours=(
            own.retention_hours if own and own.retention_hours else kafka.retention_hours
        ),
        cleanup_policy=(
            own.cleanup_policy if own and own.cleanup_policy else defaults.CLEANUP_POLICY
        ),
    )


def replication(kafka: KafkaSettings) -> tuple[int, int]:
    """Replicas per partition and `min.insync.replicas`: every broker up to three, and two
    in sync once there are at least three (one broker may fail without blocking writes)."""
    replicas = min(kafka.replicas, 3)
    return replicas, min(defaults.MIN_INSYNC_REPLICAS, max(replicas - 1, 1))
