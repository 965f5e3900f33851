"""Kafka security: least privilege, every ACL names one topic or group literally."""

from __future__ import annotations

from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ..common import ReportResourceViolation, resource_validator
from .topology import STRIMZI_ACLS, USER, acls

# ---------------------------------------------------------------- kafka-acl-literal


@resource_validator([USER])
def _check_acl_literal(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    for acl in acls(args.props):
        if acl.name == "*":
            report_violation(
                f"KafkaUser '{args.name}' must name each {acl.resource_type or 'resource'} it "
                f"may use (found an ACL on '*' allowing {', '.join(sorted(acl.operations))}), "
                "because a wildcard grants every current and future one, so one leaked "
                "credential reads or writes every event. List each topic and group literally."
            )
        elif acl.pattern_type != "literal":
            report_violation(
                f"KafkaUser '{args.name}' must use literal ACLs (found patternType "
                f"{acl.pattern_type!r} on {acl.resource_type} {acl.name!r}), because a prefix "
                "also grants every topic or group created later under that name. Set "
                "patternType: literal and list each name."
            )


kafka_acl_literal = ResourceValidationPolicy(
    name="kafka-acl-literal",
    description="Every ACL of a KafkaUser names its topic or group literally: never '*', never "
    "patternType prefix.",
    validate=_check_acl_literal,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Kafka ACLs are literal",
    remediation_steps="Give each KafkaUser one ACL per topic and group it uses, with "
    "patternType literal.",
    url=STRIMZI_ACLS,
    tags=["kafka", "strimzi", "security", "least-privilege"],
)


POLICIES: Final = [kafka_acl_literal]
