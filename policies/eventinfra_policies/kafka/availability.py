"""Kafka availability: consumers autoscale on their group's lag, never past their partitions."""

from __future__ import annotations

from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationPolicy,
)

from ..common import Res, Stack, number, stack_validator
from ..kubernetes.workloads import (
    DEPLOYMENT,
    KEDA_DEFAULT_MAX_REPLICAS,
    SCALED_OBJECT,
    namespace_of,
    scaled_objects_by_target,
)
from .topology import (
    KEDA_KAFKA,
    consumer_group,
    kafka_triggers,
    set_aside_topics,
    topics_by_name,
)

# ---------------------------------------------------------------- kafka-consumer-autoscaled


@stack_validator([DEPLOYMENT])
def _check_consumer_autoscaled(
    stack: Stack, deployment: Res, report_violation: ReportViolation
) -> None:
    is_consumer, group = consumer_group(deployment)
    if not is_consumer:
        return
    target = (namespace_of(deployment.props), str(deployment.get("metadata", "name")))
    scaled = stack.joined(scaled_objects_by_target).get(target)
    if scaled is None:
        report_violation(
            f"Deployment '{deployment.name}' must be the scaleTargetRef of a KEDA ScaledObject "
            "with a kafka trigger, because a fixed replica count cannot catch up with a "
            "backlog and the consumer group's lag grows until events pass their retention. "
            f"Add a keda.sh/v1alpha1 ScaledObject targeting '{target[1]}' with a trigger of "
            "type kafka on its consumer group.",
            deployment.urn,
        )
        return
    triggers = kafka_triggers(scaled)
    if not triggers:
        report_violation(
            f"Deployment '{deployment.name}' must be scaled on its consumer group's lag by a "
            f"kafka trigger, because ScaledObject '{scaled.name}' scales it on something else "
            "and the backlog goes unseen. Add a trigger of type kafka with its consumerGroup.",
            deployment.urn,
        )
        return
    groups = [(t.get("metadata") or {}).get("consumerGroup") for t in triggers]
    if group and group not in groups:
        report_violation(
            f"Deployment '{deployment.name}' must be scaled on the lag of its own consumer "
            f"group ({group!r}), because ScaledObject '{scaled.name}' watches {groups[0]!r} "
            f"and never sees this backlog. Set the kafka trigger's metadata.consumerGroup: "
            f"{group}.",
            deployment.urn,
        )


kafka_consumer_autoscaled = StackValidationPolicy(
    name="kafka-consumer-autoscaled",
    description="Every Kafka consumer Deployment (env EVENTINFRA_KAFKA_GROUP) is the "
    "scaleTargetRef of a KEDA ScaledObject with a kafka trigger on its consumer group.",
    validate=_check_consumer_autoscaled,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Kafka consumers autoscale on lag",
    remediation_steps="Add a KEDA ScaledObject targeting the Deployment with a kafka trigger "
    "(consumerGroup = the consumer's group, lagThreshold, excludePersistentLag).",
    url=KEDA_KAFKA,
    tags=["kafka", "kubernetes", "keda", "scaling"],
)


# ---------------------------------------------------------------- kafka-replicas-within-partitions


@stack_validator([SCALED_OBJECT])
def _check_replicas_within_partitions(
    stack: Stack, scaled: Res, report_violation: ReportViolation
) -> None:
    triggers = kafka_triggers(scaled)
    if not triggers:
        return
    declared = stack.joined(topics_by_name)
    maximum = number(scaled.get("spec", "maxReplicaCount"), KEDA_DEFAULT_MAX_REPLICAS)
    namespace = namespace_of(scaled.props)
    # A retry topic's single partition does not bound the group: its members share the
    # event topics' partitions, and only one of them needs the few redriven events.
    set_aside = {(ns, n) for ns, _, n in stack.joined(set_aside_topics)}
    for trigger in triggers:
        name = (trigger.get("metadata") or {}).get("topic")
        if (namespace, name) in set_aside:
            continue
        topics = [t for (ns, _, n), t in declared.items() if ns == namespace and n == name]
        for topic in topics:
            partitions = number(topic.get("spec", "partitions"), 1)
            if maximum > partitions:
                report_violation(
                    f"ScaledObject '{scaled.name}' must scale to at most {partitions:g} "
                    f"replicas, the partitions of topic {name!r} (found maxReplicaCount "
                    f"{maximum:g}), because Kafka gives each partition to one member of a "
                    "consumer group and the extra replicas sit idle while costing a "
                    f"rebalance each. Set spec.maxReplicaCount: {partitions:g} or add "
                    "partitions.",
                    scaled.urn,
                )
                return


kafka_replicas_within_partitions = StackValidationPolicy(
    name="kafka-replicas-within-partitions",
    description="A KEDA ScaledObject with kafka triggers scales to no more replicas "
    "(maxReplicaCount, default 100) than the partitions of each KafkaTopic it watches; a "
    "topic a consumer's or the ops user's principal writes without reading (a dead-letter or "
    "retry topic) does not bound it.",
    validate=_check_replicas_within_partitions,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    display_name="Kafka consumers scale within their partitions",
    remediation_steps="Set the ScaledObject's maxReplicaCount to at most the topic's "
    "partitions, or raise the KafkaTopic's spec.partitions.",
    url=KEDA_KAFKA,
    tags=["kafka", "kubernetes", "keda", "scaling"],
)


POLICIES: Final = [kafka_consumer_autoscaled, kafka_replicas_within_partitions]
