"""Kafka delivery: every consumer can set a poison event aside on its dead-letter topic."""

from __future__ import annotations

from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationPolicy,
)

from ..common import Res, Stack, stack_validator
from .topology import STRIMZI_ACLS, USER, acls, cluster_of, topics_by_name

# ---------------------------------------------------------------- kafka-consumer-has-dead-letter


@stack_validator([USER])
def _check_consumer_dead_letter(stack: Stack, user: Res, report_violation: ReportViolation) -> None:
    granted = acls(user.props)
    groups = [a.name for a in granted if a.resource_type == "group" and a.allows("Read")]
    if not groups:
        return  # not a consumer
    topics = [a for a in granted if a.resource_type == "topic"]
    read = {a.name for a in topics if a.allows("Read")}
    written = [a.name for a in topics if a.allows("Write") and a.name not in read]
    declared = stack.joined(topics_by_name)
    scope = cluster_of(user)
    if any((*scope, name) in declared for name in written):
        return
    if written:
        found = (
            f"it may write {', '.join(repr(n) for n in written)}, none of them a KafkaTopic "
            "of its cluster in this stack"
        )
    else:
        found = "it may write no topic besides those it reads"
    report_violation(
        f"KafkaUser '{user.name}' must be allowed to Write a dead-letter topic, because it "
        f"reads as consumer group {groups[0]!r} and {found}: an event it cannot process then "
        "blocks its partition or is skipped and lost. Declare a KafkaTopic for its dead "
        "letters and grant the user Write and Describe on it (literal).",
        user.urn,
    )


kafka_consumer_has_dead_letter = StackValidationPolicy(
    name="kafka-consumer-has-dead-letter",
    description="Every KafkaUser with Read on a consumer group may Write a topic it does not "
    "read, declared as a KafkaTopic of its cluster in the stack: its dead-letter topic.",
    validate=_check_consumer_dead_letter,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Kafka consumers have a dead-letter topic",
    remediation_steps="Declare a KafkaTopic <consumer>.dead-letter and add a literal ACL with "
    "Write and Describe on it to the consumer's KafkaUser.",
    url=STRIMZI_ACLS,
    tags=["kafka", "strimzi", "dlq", "delivery"],
)


POLICIES: Final = [kafka_consumer_has_dead_letter]
