"""The example stacks pass the policy pack, run exactly as `eventinfra check` runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventinfra.check.policy_runner import PolicyReport, evaluate_policies
from eventinfra.check.synth import synthesize

REPOSITORY = Path(__file__).resolve().parents[2]
PACK = REPOSITORY / "policies"
POLICY_NAMES = {
    "sns-sqs-delivery-allowed",
    "sns-sqs-encryption-compatible",
    "sqs-queue-has-dlq",
    "sqs-max-receive-count",
    "sqs-dlq-retention-exceeds-source",
    "sqs-dlq-type-matches",
    "sns-subscription-has-dlq",
    "sns-topic-has-subscriber",
    "lambda-sqs-visibility-timeout",
    "lambda-sqs-partial-batch-response",
    "consumer-has-idempotency-store",
    "idempotency-table-shape",
    "sqs-dlq-has-depth-alarm",
    "sqs-queue-has-age-alarm",
    "lambda-consumer-has-error-alarm",
    "alarm-has-actions",
    "lambda-log-retention",
    "sqs-queue-encrypted",
    "sns-topic-encrypted",
    "resource-policy-not-public",
    "sqs-queue-policy-source-arn-exact",
    "resource-policy-tls-only",
    "kms-key-rotation",
    "iam-no-wildcards",
    "k8s-consumer-resources",
    "k8s-consumer-probes",
    "k8s-consumer-pdb",
    "k8s-run-as-non-root",
    "k8s-readonly-root-filesystem",
    "k8s-no-privilege-escalation",
    "k8s-image-pinned",
    "rabbitmq-cluster-ha",
    "rabbitmq-cluster-persistence",
    "rabbitmq-queue-is-quorum",
    "rabbitmq-queue-has-dead-letter",
    "rabbitmq-consumer-autoscaled",
    "rabbitmq-queue-retained-on-delete",
    "kafka-topic-replicated",
    "kafka-consumer-has-dead-letter",
    "kafka-acl-literal",
    "kafka-consumer-autoscaled",
    "kafka-replicas-within-partitions",
}


def _evaluate(stack: str) -> PolicyReport:
    synthesis = synthesize(REPOSITORY, stack)
    config = json.loads((PACK / "config" / f"{stack}.json").read_text(encoding="utf-8"))
    return evaluate_policies(
        synthesis.resources, PACK, policy_config=config, stack=stack, project=synthesis.project
    )


@pytest.fixture(scope="module", params=["dev", "prod", "k8s"])
def report(request: pytest.FixtureRequest) -> PolicyReport:
    return _evaluate(request.param)


def test_no_mandatory_violation(report: PolicyReport) -> None:
    mandatory = [
        (v.policy_name, v.urn, v.message)
        for v in report.violations
        if v.enforcement_level == "mandatory"
    ]
    assert mandatory == []


def test_no_violation_at_all(report: PolicyReport) -> None:
    # The components are the reference: even advisory findings mean one side is wrong.
    assert [(v.policy_name, v.urn, v.message) for v in report.violations] == []


def test_every_policy_ran_and_nothing_was_unknown(report: PolicyReport) -> None:
    assert {p.name for p in report.policies} == POLICY_NAMES
    assert report.not_applicable == ()
    assert report.resources_analyzed > 50


def test_levels_follow_the_environment_config(report: PolicyReport) -> None:
    levels = {p.enforcement_level for p in report.policies}
    # dev.json makes everything advisory, prod.json and k8s.json everything mandatory.
    assert levels in ({"advisory"}, {"mandatory"})


def test_kafka_stack_passes_its_config_where_every_rule_is_mandatory() -> None:
    # kafka.json makes everything mandatory, like prod.json and k8s.json: the example must pass
    # every rule, the Kafka rules included, with nothing left unknown.
    synthesis = synthesize(REPOSITORY, "kafka")
    config = json.loads((PACK / "config" / "kafka.json").read_text(encoding="utf-8"))
    report = evaluate_policies(
        synthesis.resources, PACK, policy_config=config, stack="kafka", project=synthesis.project
    )
    assert [(v.policy_name, v.urn, v.message) for v in report.violations] == []
    assert report.not_applicable == ()
    kafka = {p.name: p.enforcement_level for p in report.policies if p.name.startswith("kafka-")}
    assert kafka == dict.fromkeys(
        sorted(n for n in POLICY_NAMES if n.startswith("kafka-")), "mandatory"
    )


def test_pack_metadata_is_complete(report: PolicyReport) -> None:
    for policy in report.policies:
        assert policy.description and policy.severity, policy.name
        assert policy.remediation_steps and policy.url.startswith("https://"), policy.name


def test_policy_defaults_without_config() -> None:
    synthesis = synthesize(REPOSITORY, "dev")
    report = evaluate_policies(synthesis.resources, PACK, stack="dev", project=synthesis.project)
    by_name = {p.name: p for p in report.policies}
    assert by_name["lambda-sqs-visibility-timeout"].config == {"multiplier": 6}
    assert by_name["sqs-max-receive-count"].config == {"minimum": 5, "maximum": 50}
    mandatory = {p.name for p in report.policies if p.enforcement_level == "mandatory"}
    # HIGH severity is mandatory out of the box; so is a subscription DLQ (MEDIUM, as upstream).
    high = {p.name for p in report.policies if p.severity == "high"}
    assert mandatory == high | {"sns-subscription-has-dlq"}
    assert not report.has_mandatory


def test_unknown_values_make_policies_not_applicable_in_the_real_pack() -> None:
    """Preview: values computed by the provider are unknown; no policy may crash or guess."""
    from dataclasses import replace

    from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE

    synthesis = synthesize(REPOSITORY, "dev")
    resources = []
    for resource in synthesis.resources:
        if (
            resource.type == "aws:sqs/queue:Queue"
            and resource.name == "events-consumer-welcome-email-queue"
        ):
            unknown = {
                "redrivePolicy": UNKNOWN_STRING_VALUE,
                "visibilityTimeoutSeconds": UNKNOWN_NUMBER_VALUE,
            }
            resource = replace(
                resource,
                inputs={**resource.inputs, **unknown},
                outputs={**resource.outputs, **unknown},
            )
        resources.append(resource)
    report = evaluate_policies(
        resources, PACK, policy_config={"all": "mandatory"}, stack="dev", project=synthesis.project
    )
    # A policy that touched an unknown without handling it would surface as an advisory
    # "can't run policy … during preview" diagnostic.
    assert [(v.policy_name, v.message) for v in report.violations] == []
    not_applicable = {n.policy_name for n in report.not_applicable}
    assert {
        "sqs-max-receive-count",
        "sqs-queue-has-dlq",
        "lambda-sqs-visibility-timeout",
        "sqs-dlq-retention-exceeds-source",
    } <= not_applicable
    reasons = {n.policy_name: n.reason for n in report.not_applicable}
    assert reasons["sqs-queue-has-dlq"] == (
        "could not check 'events-consumer-welcome-email-queue': string value at .redrivePolicy "
        "can't be known during preview; checked again during `pulumi up`"
    )
