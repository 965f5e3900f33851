"""Kafka durability: every topic is replicated and refuses writes it could lose."""

from __future__ import annotations

from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    Severity,
    StackValidationPolicy,
)

from ..common import Res, Stack, number, stack_validator
from .topology import (
    DEFAULT_MIN_INSYNC,
    DEFAULT_MIN_REPLICATION,
    KAFKA_DEFAULT_MIN_INSYNC,
    KAFKA_DEFAULT_REPLICATION,
    KAFKA_REPLICATION,
    TOPIC,
    broker_config,
    cluster_of,
)

# ---------------------------------------------------------------- kafka-topic-replicated


@stack_validator([TOPIC])
def _check_topic_replicated(stack: Stack, topic: Res, report_violation: ReportViolation) -> None:
    config = stack.args.get_config()
    minimum_replicas = number(config.get("minimumReplicas"), DEFAULT_MIN_REPLICATION)
    minimum_insync = number(config.get("minimumInSyncReplicas"), DEFAULT_MIN_INSYNC)
    broker = stack.joined(broker_config).get(cluster_of(topic), {})
    replicas = topic.get("spec", "replicas")
    source = "spec.replicas"
    if replicas is None:
        replicas = broker.get("default.replication.factor", KAFKA_DEFAULT_REPLICATION)
        source = "the broker's default.replication.factor"
    replicas = number(replicas, KAFKA_DEFAULT_REPLICATION)
    if replicas < minimum_replicas:
        report_violation(
            f"KafkaTopic '{topic.name}' must keep at least {minimum_replicas:g} replicas (found "
            f"{replicas:g} from {source}), because a topic with fewer copies loses accepted "
            f"events with a disk, or stops taking writes while a broker restarts. Set "
            f"spec.replicas: {minimum_replicas:g}.",
            topic.urn,
        )
        return
    insync = topic.get("spec", "config", "min.insync.replicas")
    source = "spec.config"
    if insync is None:
        insync = broker.get("min.insync.replicas", KAFKA_DEFAULT_MIN_INSYNC)
        source = "the broker's min.insync.replicas"
    insync = number(insync, KAFKA_DEFAULT_MIN_INSYNC)
    if insync < minimum_insync:
        report_violation(
            f"KafkaTopic '{topic.name}' must set min.insync.replicas to at least "
            f"{minimum_insync:g} (found {insync:g} from {source}), because with acks=all a "
            "write is then acknowledged by a single broker and lost when that broker's disk "
            f"goes. Set spec.config min.insync.replicas: {minimum_insync:g}.",
            topic.urn,
        )


kafka_topic_replicated = StackValidationPolicy(
    name="kafka-topic-replicated",
    description="Every KafkaTopic keeps at least minimumReplicas replicas (default 3) and "
    "min.insync.replicas of at least minimumInSyncReplicas (default 2), from the topic or, when "
    "it leaves them unset, from its Kafka resource's broker config.",
    validate=_check_topic_replicated,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Kafka topics are replicated",
    config_schema=PolicyConfigSchema(
        properties={
            "minimumReplicas": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MIN_REPLICATION,
            },
            "minimumInSyncReplicas": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MIN_INSYNC,
            },
        }
    ),
    remediation_steps="Set the KafkaTopic's spec.replicas: 3 and spec.config "
    "min.insync.replicas: 2 (or the Kafka resource's default.replication.factor and "
    "min.insync.replicas).",
    url=KAFKA_REPLICATION,
    tags=["kafka", "strimzi", "durability", "replication"],
)


POLICIES: Final = [kafka_topic_replicated]
