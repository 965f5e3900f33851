"""Each corpus program holds ONE realistic misconfiguration; `eventinfra check` finds exactly it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventinfra.check.cli import EXIT_MANDATORY_VIOLATION, main
from tests.support import REPOSITORY

CORPUS = Path(__file__).resolve().parent / "corpus"
ALL_MANDATORY = CORPUS / "all-mandatory.json"

# case folder → (the one policy it must trip, the resource it must name)
EXPECTED = {
    "sns-sqs-without-sns-permission": ("sns-sqs-delivery-allowed", "billing"),
    "encrypted-queue-aws-managed-key": ("sns-sqs-encryption-compatible", "billing"),
    "dlq-alarm-on-messages-sent": ("sqs-dlq-has-depth-alarm", "billing-dlq"),
    "visibility-shorter-than-lambda": ("lambda-sqs-visibility-timeout", "billing"),
    "consumer-without-idempotency": ("consumer-has-idempotency-store", "billing-consumer"),
    "iam-wildcard-action": ("iam-no-wildcards", "checkout-publish"),
    "queue-without-dlq": ("sqs-queue-has-dlq", "billing"),
    "dlq-retention-shorter-than-source": ("sqs-dlq-retention-exceeds-source", "billing-dlq"),
    "fifo-queue-with-standard-dlq": ("sqs-dlq-type-matches", "payments-dlq"),
    "topic-without-subscribers": ("sns-topic-has-subscriber", "invoice-paid"),
    "subscription-without-dlq": ("sns-subscription-has-dlq", "billing-orders"),
    "alarm-without-actions": ("alarm-has-actions", "billing-age"),
    "plain-topic": ("sns-topic-encrypted", "alerts"),
    "key-without-rotation": ("kms-key-rotation", "events-key"),
    "public-queue-policy": ("resource-policy-not-public", "billing-policy"),
    "wildcard-source-arn": ("sqs-queue-policy-source-arn-exact", "billing-policy"),
    "deployment-running-as-root": ("k8s-run-as-non-root", "report-worker"),
    "image-latest": ("k8s-image-pinned", "report-worker"),
    "rabbitmq-classic-queue": ("rabbitmq-queue-is-quorum", "billing"),
    "kafka-prefixed-acl": ("kafka-acl-literal", "checkout-api"),
    "kafka-consumer-without-dead-letter": ("kafka-consumer-has-dead-letter", "mailer"),
    "kafka-under-replicated-topic": ("kafka-topic-replicated", "order-placed"),
    "kafka-consumer-fixed-replicas": ("kafka-consumer-autoscaled", "mailer"),
    "kafka-replicas-beyond-partitions": ("kafka-replicas-within-partitions", "mailer-scaler"),
}


def test_every_case_is_listed() -> None:
    cases = {p.parent.name for p in CORPUS.glob("*/__main__.py")}
    assert cases == set(EXPECTED)
    for case in cases:
        assert (CORPUS / case / "Pulumi.yaml").is_file()
        assert (CORPUS / case / "stacks" / "Pulumi.dev.yaml").is_file()


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_trips_exactly_its_policy(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    policy, resource = EXPECTED[case]
    code = main(
        [
            "check",
            "--program",
            str(CORPUS / case),
            "--stack",
            "dev",
            "--format",
            "json",
            "--policy-pack",
            str(REPOSITORY / "policies"),
            "--policy-config",
            str(ALL_MANDATORY),
        ]
    )
    output = json.loads(capsys.readouterr().out)
    found = [
        (v["policy"], v["enforcementLevel"], (v["urn"] or "").rsplit("::", 1)[-1])
        for v in output["violations"]
    ]
    assert found == [(policy, "mandatory", resource)]
    assert code == EXIT_MANDATORY_VIOLATION
    message = output["violations"][0]["message"]
    assert f"'{resource}' must " in message and ", because " in message
