"""Delivery and DLQ policies: happy path, one mutation per failure mode, unknowns."""

from __future__ import annotations

import json

import pytest
from pulumi_policy import Policy

from eventinfra_policies.aws import delivery
from tests.policies.factories import (
    DELETE,
    TOPIC_ARN,
    UNKNOWN,
    Outcome,
    Res,
    check_resource,
    check_stack,
    happy_stack,
    mutate,
    queue_arn,
)

SNS_FIX = (
    'Add an aws.sqs.QueuePolicy statement: Effect Allow, Principal {"Service": '
    '"sns.amazonaws.com"}, Action sqs:SendMessage, Condition {"ArnEquals": {"aws:SourceArn": '
    f'"{TOPIC_ARN}"}}}}.'
)
CMK_FIX = (
    "Encrypt it with a customer-managed aws.kms.Key whose key policy allows Principal "
    '{"Service": "sns.amazonaws.com"} kms:GenerateDataKey and kms:Decrypt.'
)
NO_DLQ = (
    "SQS queue 'audit-queue' must have a dead-letter queue, because a message that keeps failing "
    "is otherwise retried until it expires and is lost. Set redrivePolicy = json.dumps("
    '{"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 5}) on it (the DLQ gets '
    "redriveAllowPolicy byQueue), or tag a terminal parking queue eventinfra:role=parking with "
    "redriveAllowPolicy denyAll."
)


def _names(outcome: Outcome) -> list[str]:
    return [urn.rsplit("::", 1)[-1] for urn in outcome.urns]


@pytest.mark.parametrize(
    "policy", [p for p in delivery.POLICIES if p.name != "sqs-max-receive-count"]
)
def test_happy_stack_passes(policy: Policy) -> None:
    outcome = check_stack(policy, happy_stack())
    assert (outcome.violations, outcome.not_applicable) == ([], None)


def test_policy_names() -> None:
    assert [p.name for p in delivery.POLICIES] == [
        "sns-sqs-delivery-allowed",
        "sns-sqs-encryption-compatible",
        "sqs-queue-has-dlq",
        "sqs-max-receive-count",
        "sqs-dlq-retention-exceeds-source",
        "sqs-dlq-type-matches",
        "sns-subscription-has-dlq",
        "sns-topic-has-subscriber",
    ]


# ---------------------------------------------------------------- sns-sqs-delivery-allowed

MISSING_PERMISSION = (
    f"SQS queue 'audit-queue' must let SNS topic {TOPIC_ARN} send to it, because SNS silently "
    f"drops every message a queue policy does not allow. {SNS_FIX}"
)


def test_delivery_fails_without_queue_policy() -> None:
    stack = happy_stack()
    del stack["audit-queue-policy"]
    outcome = check_stack(delivery.sns_sqs_delivery_allowed, stack)
    assert outcome.messages == [MISSING_PERMISSION]
    assert _names(outcome) == ["audit-queue"]


def test_delivery_fails_for_another_topic() -> None:
    other = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn("dev-audit"),
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": "arn:aws:sns:eu-west-1:123456789012:other"}
                },
            }
        ]
    }
    stack = mutate(happy_stack(), "audit-queue-policy", policy=json.dumps(other))
    assert check_stack(delivery.sns_sqs_delivery_allowed, stack).messages == [MISSING_PERMISSION]


def test_delivery_unknown_endpoint_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-subscription", endpoint=UNKNOWN)
    outcome = check_stack(delivery.sns_sqs_delivery_allowed, stack)
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "could not check 'audit-subscription': string value at .endpoint can't be known during "
        "preview; checked again during `pulumi up`"
    )


# ---------------------------------------------------------------- sns-sqs-encryption-compatible


def test_encryption_fails_on_aws_managed_key() -> None:
    stack = mutate(happy_stack(), "audit-queue", kmsMasterKeyId="alias/aws/sqs")
    outcome = check_stack(delivery.sns_sqs_encryption_compatible, stack)
    assert outcome.messages == [
        "SQS queue 'audit-queue' must use a customer-managed KMS key instead of the AWS-managed "
        "key alias/aws/sqs, because its key policy cannot grant SNS and every message SNS "
        f"delivers to it is lost. {CMK_FIX}"
    ]


def test_encryption_fails_on_sqs_managed_sse() -> None:
    stack = mutate(happy_stack(), "audit-queue", kmsMasterKeyId=DELETE, sqsManagedSseEnabled=True)
    assert check_stack(delivery.sns_sqs_encryption_compatible, stack).messages == [
        "SQS queue 'audit-queue' must use a customer-managed KMS key instead of SQS-managed "
        "encryption (sqsManagedSseEnabled), because SNS cannot be granted use of a key it does "
        f"not control and delivery fails. {CMK_FIX}"
    ]


def test_encryption_fails_when_key_policy_omits_sns() -> None:
    admin_only = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    stack = mutate(happy_stack(), "key", policy=json.dumps(admin_only))
    outcome = check_stack(delivery.sns_sqs_encryption_compatible, stack)
    # The subscribed queues and the DLQs their subscriptions dead-letter to.
    assert sorted(_names(outcome)) == ["audit-dlq", "audit-queue", "billing-dlq", "billing-queue"]
    assert outcome.messages[0] == (
        "SQS queue 'billing-queue' must be encrypted with a KMS key whose key policy grants "
        "sns.amazonaws.com, because SNS must encrypt what it delivers to the queue; key 'key' "
        'does not. Add a key policy statement: Principal {"Service": "sns.amazonaws.com"}, '
        "Action [kms:GenerateDataKey, kms:Decrypt]."
    )


def test_encryption_unknown_key_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-queue", kmsMasterKeyId=UNKNOWN)
    outcome = check_stack(delivery.sns_sqs_encryption_compatible, stack)
    assert outcome.violations == []
    assert "'audit-queue': string value at .kmsMasterKeyId can't be known" in (
        outcome.not_applicable or ""
    )


# ---------------------------------------------------------------- sqs-queue-has-dlq


def test_queue_without_dlq_fails() -> None:
    stack = mutate(happy_stack(), "audit-queue", redrivePolicy=DELETE)
    outcome = check_stack(delivery.sqs_queue_has_dlq, stack)
    assert outcome.messages == [NO_DLQ]


def test_dlq_recognised_as_redrive_target_without_redrive_allow_policy() -> None:
    stack = mutate(happy_stack(), "audit-dlq", redriveAllowPolicy=DELETE)
    assert check_stack(delivery.sqs_queue_has_dlq, stack).violations == []


def test_dlq_is_never_recognised_by_name_or_tag() -> None:
    stack = mutate(happy_stack(), "audit-queue", redrivePolicy=DELETE)
    stack = mutate(stack, "audit-dlq", redriveAllowPolicy=DELETE)
    stack = mutate(stack, "audit-subscription", redrivePolicy=DELETE)
    # Named "-dlq" and tagged eventinfra:role=dlq, but nothing dead-letters to it.
    assert _names(check_stack(delivery.sqs_queue_has_dlq, stack)) == ["audit-queue", "audit-dlq"]


def test_parking_queue_is_exempt_only_with_tag_and_deny_all() -> None:
    parking = {
        "redriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"}),
        "tags": {"eventinfra:role": "parking"},
        "redrivePolicy": DELETE,
    }
    stack = mutate(happy_stack(), "audit-queue", **parking)
    assert check_stack(delivery.sqs_queue_has_dlq, stack).violations == []
    untagged = mutate(stack, "audit-queue", tags={})
    assert check_stack(delivery.sqs_queue_has_dlq, untagged).messages == [NO_DLQ]


def test_separate_redrive_policy_resource_counts() -> None:
    from tests.policies.factories import Res, queue_url

    stack = mutate(happy_stack(), "audit-queue", redrivePolicy=DELETE)
    stack["audit-redrive"] = Res(
        "aws:sqs/redrivePolicy:RedrivePolicy",
        "audit-redrive",
        {
            "queueUrl": queue_url("dev-audit"),
            "redrivePolicy": json.dumps(
                {"deadLetterTargetArn": queue_arn("dev-audit-dlq"), "maxReceiveCount": 5}
            ),
        },
    )
    assert check_stack(delivery.sqs_queue_has_dlq, stack).violations == []


def test_queue_dlq_unknown_redrive_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-queue", redrivePolicy=UNKNOWN)
    outcome = check_stack(delivery.sqs_queue_has_dlq, stack)
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "could not check 'audit-queue': string value at .redrivePolicy can't be known during "
        "preview; checked again during `pulumi up`"
    )


# ---------------------------------------------------------------- sqs-max-receive-count


def _with_count(count: float) -> Res:
    redrive = {"deadLetterTargetArn": queue_arn("dev-audit-dlq"), "maxReceiveCount": count}
    return mutate(happy_stack(), "audit-queue", redrivePolicy=json.dumps(redrive))["audit-queue"]


@pytest.mark.parametrize("count", [5, 50])
def test_max_receive_count_bounds_pass(count: int) -> None:
    assert check_resource(delivery.sqs_max_receive_count, _with_count(count)).violations == []


def test_max_receive_count_too_low() -> None:
    assert check_resource(delivery.sqs_max_receive_count, _with_count(3)).messages == [
        "SQS queue 'audit-queue' must set maxReceiveCount to at least 5 (found 3), because a "
        "Lambda consumer that is throttled or retried counts receives and healthy messages would "
        "be dead-lettered. Raise maxReceiveCount in redrivePolicy."
    ]


def test_max_receive_count_too_high() -> None:
    assert check_resource(delivery.sqs_max_receive_count, _with_count(51)).messages == [
        "SQS queue 'audit-queue' must set maxReceiveCount to at most 50 (found 51), because a "
        "poison message is otherwise retried for a long time before it reaches the DLQ. Lower "
        "maxReceiveCount in redrivePolicy."
    ]


def test_max_receive_count_configurable() -> None:
    outcome = check_resource(
        delivery.sqs_max_receive_count, _with_count(8), {"minimum": 10, "maximum": 20}
    )
    assert outcome.messages[0].startswith(
        "SQS queue 'audit-queue' must set maxReceiveCount to at least 10 (found 8)"
    )


def test_max_receive_count_unknown_is_not_applicable() -> None:
    queue = mutate(happy_stack(), "audit-queue", redrivePolicy=UNKNOWN)["audit-queue"]
    outcome = check_resource(delivery.sqs_max_receive_count, queue)
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "'audit-queue': string value at .redrivePolicy can't be known during preview; checked "
        "again during `pulumi up`"
    )


# ---------------------------------------------------------------- retention and type


def test_dlq_retention_not_longer_than_source_fails() -> None:
    stack = mutate(happy_stack(), "audit-dlq", messageRetentionSeconds=345600)
    outcome = check_stack(delivery.sqs_dlq_retention_exceeds_source, stack)
    assert outcome.messages == [
        "SQS queue 'audit-dlq' must retain messages longer than its source queue 'audit-queue' "
        "(345600 s ≤ 345600 s), because a standard DLQ keeps each message's original enqueue "
        "time and would expire dead letters early. Set messageRetentionSeconds = 1209600 (14 "
        "days) on the DLQ."
    ]
    assert _names(outcome) == ["audit-dlq"]


def test_dlq_retention_absent_means_four_days() -> None:
    stack = mutate(happy_stack(), "audit-dlq", messageRetentionSeconds=DELETE)
    assert _names(check_stack(delivery.sqs_dlq_retention_exceeds_source, stack)) == ["audit-dlq"]


def test_dlq_retention_unknown_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-dlq", messageRetentionSeconds=UNKNOWN)
    outcome = check_stack(delivery.sqs_dlq_retention_exceeds_source, stack)
    assert outcome.violations == []
    assert "messageRetentionSeconds can't be known during preview" in (outcome.not_applicable or "")


def test_fifo_source_with_standard_dlq_fails() -> None:
    stack = mutate(happy_stack(), "audit-queue", fifoQueue=True)
    assert check_stack(delivery.sqs_dlq_type_matches, stack).messages == [
        "SQS queue 'audit-dlq' must be a FIFO queue like its source queue 'audit-queue', because "
        "SQS rejects a redrive policy whose DLQ is of the other type. Make the DLQ FIFO "
        "(fifoQueue=True, name ending .fifo)."
    ]


def test_standard_source_with_fifo_dlq_fails() -> None:
    stack = mutate(happy_stack(), "audit-dlq", fifoQueue=True)
    assert check_stack(delivery.sqs_dlq_type_matches, stack).messages == [
        "SQS queue 'audit-dlq' must be a standard queue like its source queue 'audit-queue', "
        "because SQS rejects a redrive policy whose DLQ is of the other type. Make the DLQ "
        "standard (fifoQueue=False)."
    ]


def test_dlq_type_unknown_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-queue", fifoQueue=UNKNOWN)
    outcome = check_stack(delivery.sqs_dlq_type_matches, stack)
    assert outcome.violations == [] and "fifoQueue can't be known" in (outcome.not_applicable or "")


# ---------------------------------------------------------------- subscriptions and topics


@pytest.mark.parametrize(
    "protocol,endpoint",
    [
        ("sqs", queue_arn("dev-audit")),
        ("https", "https://example.com/hook"),
        ("lambda", "arn:aws:lambda:eu-west-1:123456789012:function:f"),
    ],
)
def test_subscription_without_dlq_fails(protocol: str, endpoint: str) -> None:
    stack = mutate(
        happy_stack(),
        "audit-subscription",
        protocol=protocol,
        endpoint=endpoint,
        redrivePolicy=DELETE,
    )
    assert check_stack(delivery.sns_subscription_has_dlq, stack).messages == [
        f"SNS subscription 'audit-subscription' must have a dead-letter queue, because SNS drops "
        f"a message it cannot deliver to its {protocol} endpoint after its retries. Set "
        'redrivePolicy = json.dumps({"deadLetterTargetArn": dlq.arn}) and let sns.amazonaws.com '
        "send to that DLQ."
    ]


def test_email_subscription_and_parking_subscription_are_exempt() -> None:
    stack = mutate(
        happy_stack(),
        "billing-subscription",
        protocol="email",
        endpoint="ops@example.com",
        redrivePolicy=DELETE,
    )
    stack = mutate(stack, "audit-subscription", redrivePolicy=DELETE)
    stack = mutate(
        stack,
        "audit-queue",
        tags={"eventinfra:role": "parking"},
        redriveAllowPolicy=json.dumps({"redrivePermission": "denyAll"}),
    )
    assert check_stack(delivery.sns_subscription_has_dlq, stack).violations == []


def test_subscription_unknown_redrive_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-subscription", redrivePolicy=UNKNOWN)
    outcome = check_stack(delivery.sns_subscription_has_dlq, stack)
    assert outcome.violations == [] and "redrivePolicy can't be known" in (
        outcome.not_applicable or ""
    )


def test_topic_without_subscription_fails() -> None:
    stack = happy_stack()
    del stack["audit-subscription"], stack["billing-subscription"]
    assert check_stack(delivery.sns_topic_has_subscriber, stack).messages == [
        "SNS topic 'orders-topic' must have at least one subscription, because SNS discards every "
        "message published to a topic nobody subscribes to. Subscribe a consumer, or a parking "
        "queue (tag eventinfra:role=parking) that keeps the events until one exists."
    ]


def test_topic_unknown_arn_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "orders-topic", arn=UNKNOWN)
    outcome = check_stack(delivery.sns_topic_has_subscriber, stack)
    assert outcome.violations == [] and "'orders-topic'" in (outcome.not_applicable or "")
