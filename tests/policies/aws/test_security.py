"""Security baseline policies: encryption, resource policies, KMS rotation, IAM wildcards."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import Policy

from eventinfra_policies.aws import security
from tests.policies.factories import (
    DELETE,
    UNKNOWN,
    check_resource,
    check_stack,
    happy_stack,
    mutate,
)

RESOURCE_POLICIES = [p for p in security.POLICIES if p.name != "resource-policy-tls-only"]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_policy_names() -> None:
    assert [p.name for p in security.POLICIES] == [
        "sqs-queue-encrypted",
        "sns-topic-encrypted",
        "resource-policy-not-public",
        "sqs-queue-policy-source-arn-exact",
        "resource-policy-tls-only",
        "kms-key-rotation",
        "iam-no-wildcards",
    ]


@pytest.mark.parametrize("policy", RESOURCE_POLICIES, ids=lambda p: p.name)
def test_happy_resources_pass(policy: Policy) -> None:
    for resource in happy_stack().values():
        outcome = check_resource(policy, resource)
        assert (outcome.violations, outcome.not_applicable) == ([], None), resource.name


def test_happy_stack_requires_tls() -> None:
    outcome = check_stack(security.resource_policy_tls_only, happy_stack())
    assert (outcome.violations, outcome.not_applicable) == ([], None)


# ---------------------------------------------------------------- encryption


def test_queue_with_encryption_switched_off_fails() -> None:
    queue = mutate(happy_stack(), "audit-queue", kmsMasterKeyId=DELETE, sqsManagedSseEnabled=False)[
        "audit-queue"
    ]
    assert check_resource(security.sqs_queue_encrypted, queue).messages == [
        "SQS queue 'audit-queue' must be encrypted at rest, because messages carry business data; "
        "it sets sqsManagedSseEnabled=false and no kmsMasterKeyId. Set kmsMasterKeyId to a "
        "customer-managed key (or sqsManagedSseEnabled=true)."
    ]


def test_queue_default_sse_sqs_passes_unless_cmk_required() -> None:
    queue = mutate(happy_stack(), "audit-queue", kmsMasterKeyId=DELETE)["audit-queue"]
    assert check_resource(security.sqs_queue_encrypted, queue).violations == []
    assert check_resource(security.sqs_queue_encrypted, queue, {"requireCmk": True}).messages == [
        "SQS queue 'audit-queue' must be encrypted with a customer-managed KMS key, because the "
        "policy config requires CMKs (key policy and rotation under your control). Set "
        "kmsMasterKeyId to an aws.kms.Key's ARN."
    ]


def test_queue_encryption_unknown_is_not_applicable() -> None:
    queue = mutate(happy_stack(), "audit-queue", kmsMasterKeyId=UNKNOWN)["audit-queue"]
    outcome = check_resource(security.sqs_queue_encrypted, queue)
    assert outcome.violations == [] and "kmsMasterKeyId can't be known" in (
        outcome.not_applicable or ""
    )


def test_plain_topic_fails() -> None:
    topic = mutate(happy_stack(), "orders-topic", kmsMasterKeyId=DELETE)["orders-topic"]
    assert check_resource(security.sns_topic_encrypted, topic).messages == [
        "SNS topic 'orders-topic' must be encrypted with a customer-managed KMS key, because "
        "published events are stored unencrypted otherwise. Set kmsMasterKeyId to an aws.kms.Key "
        "whose key policy grants the publishers and sns.amazonaws.com."
    ]


def test_topic_on_aws_managed_key_fails() -> None:
    topic = mutate(happy_stack(), "orders-topic", kmsMasterKeyId="alias/aws/sns")["orders-topic"]
    assert check_resource(security.sns_topic_encrypted, topic).messages == [
        "SNS topic 'orders-topic' must be encrypted with a customer-managed KMS key instead of "
        "alias/aws/sns, because CloudWatch alarms and other AWS services cannot publish to a "
        "topic encrypted with an AWS-managed key. Set kmsMasterKeyId to an aws.kms.Key's ARN."
    ]
    assert (
        check_resource(security.sns_topic_encrypted, topic, {"requireCmk": False}).violations == []
    )


def test_topic_unknown_key_is_not_applicable() -> None:
    topic = mutate(happy_stack(), "orders-topic", kmsMasterKeyId=UNKNOWN)["orders-topic"]
    assert check_resource(security.sns_topic_encrypted, topic).not_applicable


# ---------------------------------------------------------------- resource-policy-not-public

PUBLIC = (
    "SQS queue policy 'audit-queue-policy' must not allow any principal (\"*\") without a "
    "condition (statement Open), because anyone with an AWS account could then use it. Name the "
    "principal (a service or account), or add an aws:SourceArn/aws:SourceAccount condition."
)


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
def test_public_queue_policy_fails(principal: object) -> None:
    policy = mutate(
        happy_stack(),
        "audit-queue-policy",
        policy=_doc(
            {
                "Sid": "Open",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "sqs:SendMessage",
                "Resource": "arn",
            }
        ),
    )["audit-queue-policy"]
    assert check_resource(security.resource_policy_not_public, policy).messages == [PUBLIC]


def test_star_principal_constrained_by_source_arn_passes() -> None:
    policy = mutate(
        happy_stack(),
        "audit-queue-policy",
        policy=_doc(
            {
                "Sid": "Open",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sqs:SendMessage",
                "Resource": "arn",
                "Condition": {"ArnEquals": {"aws:SourceArn": "arn:topic"}},
            }
        ),
    )["audit-queue-policy"]
    assert check_resource(security.resource_policy_not_public, policy).violations == []


def test_action_star_fails_on_inline_topic_policy() -> None:
    topic = mutate(
        happy_stack(),
        "orders-topic",
        policy=_doc(
            {
                "Sid": "Ops",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "*",
                "Resource": "arn",
            }
        ),
    )["orders-topic"]
    assert check_resource(security.resource_policy_not_public, topic).messages == [
        "SNS topic policy 'orders-topic' must not allow Action \"*\" (statement Ops), because that "
        "also grants deleting, purging and re-permissioning the resource. List the actions the "
        "principal needs (sqs:SendMessage, sns:Publish)."
    ]


def test_public_policy_unknown_is_not_applicable() -> None:
    policy = mutate(happy_stack(), "audit-queue-policy", policy=UNKNOWN)["audit-queue-policy"]
    outcome = check_resource(security.resource_policy_not_public, policy)
    assert outcome.violations == [] and outcome.not_applicable == (
        "'audit-queue-policy': string value at .policy can't be known during preview; checked "
        "again during `pulumi up`"
    )


# ---------------------------------------------------------------- sqs-queue-policy-source-arn-exact

TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:orders"


def _from_sns(condition: dict[str, Any]) -> str:
    return _doc(
        {
            "Sid": "FromOrders",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "arn",
            "Condition": condition,
        }
    )


def _source_messages(condition: dict[str, Any], resource: str = "audit-queue-policy") -> list[str]:
    mutated = mutate(happy_stack(), resource, policy=_from_sns(condition))[resource]
    return check_resource(security.sqs_queue_policy_source_arn_exact, mutated).messages


def _source_message(key: str, shown: str, name: str = "audit-queue-policy") -> str:
    return (
        f"SQS queue policy '{name}' must name its sources exactly (statement FromOrders allows "
        f"{key} {shown}), because a wildcard lets every matching topic or account send, "
        "including ones created later or owned by others. Use the exact topic ARN (or account "
        "ID) with ArnEquals/StringEquals."
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"ArnEquals": {"aws:SourceArn": TOPIC_ARN}},
        {"ArnEquals": {"aws:SourceArn": [TOPIC_ARN, TOPIC_ARN + "-2"]}},
        {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    ],
)
def test_exact_source_passes(condition: dict[str, Any]) -> None:
    assert _source_messages(condition) == []


@pytest.mark.parametrize(
    ("condition", "key", "shown"),
    [
        ({"ArnEquals": {"aws:SourceArn": "*"}}, "aws:SourceArn", '"*"'),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:sns:eu-west-1:123456789012:*"}},
            "aws:SourceArn",
            '"arn:aws:sns:eu-west-1:123456789012:*"',
        ),
        (
            {"StringLike": {"aws:sourcearn": "arn:aws:sns:eu-west-1:123456789012:order?"}},
            "aws:SourceArn",
            '"arn:aws:sns:eu-west-1:123456789012:order?"',
        ),
        (
            {"ArnEquals": {"aws:SourceArn": [TOPIC_ARN, "arn:aws:sns:*:*:orders"]}},
            "aws:SourceArn",
            '"arn:aws:sns:*:*:orders"',
        ),
        ({"StringLike": {"aws:SourceAccount": ["1234*"]}}, "aws:SourceAccount", '"1234*"'),
    ],
)
def test_wildcard_source_fails(condition: dict[str, Any], key: str, shown: str) -> None:
    assert _source_messages(condition) == [_source_message(key, shown)]


def test_wildcard_source_fails_on_inline_queue_policy() -> None:
    condition = {"ArnLike": {"aws:SourceArn": "*"}}
    assert _source_messages(condition, "audit-queue") == [
        _source_message("aws:SourceArn", '"*"', "audit-queue")
    ]


def test_wildcard_source_in_deny_passes() -> None:
    policy = mutate(
        happy_stack(),
        "audit-queue-policy",
        policy=_doc(
            {
                "Sid": "DenyOthers",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:SendMessage",
                "Resource": "arn",
                "Condition": {"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:orders*"}},
            }
        ),
    )["audit-queue-policy"]
    assert check_resource(security.sqs_queue_policy_source_arn_exact, policy).violations == []


def test_source_arn_unknown_is_not_applicable() -> None:
    policy = mutate(happy_stack(), "audit-queue-policy", policy=UNKNOWN)["audit-queue-policy"]
    outcome = check_resource(security.sqs_queue_policy_source_arn_exact, policy)
    assert outcome.violations == [] and outcome.not_applicable == (
        "'audit-queue-policy': string value at .policy can't be known during preview; checked "
        "again during `pulumi up`"
    )


# ---------------------------------------------------------------- resource-policy-tls-only


def test_topic_without_tls_deny_fails() -> None:
    stack = mutate(happy_stack(), "orders-topic-policy", policy=_doc())
    outcome = check_stack(security.resource_policy_tls_only, stack)
    assert outcome.messages == [
        "SNS topic 'orders-topic' must deny requests without TLS, because its policy otherwise "
        "accepts plain-HTTP calls that expose messages in transit. Add to its aws.sns.TopicPolicy "
        'a statement: Effect Deny, Principal "*", Action all, Condition {"Bool": '
        '{"aws:SecureTransport": "false"}}.'
    ]


def test_queue_without_policy_fails() -> None:
    stack = happy_stack()
    del stack["audit-dlq-policy"]
    outcome = check_stack(security.resource_policy_tls_only, stack)
    assert [urn.rsplit("::", 1)[-1] for urn in outcome.urns] == ["audit-dlq"]
    assert outcome.messages[0].startswith(
        "SQS queue 'audit-dlq' must deny requests without TLS, because"
    )


def test_tls_unknown_policy_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-dlq-policy", policy=UNKNOWN)
    outcome = check_stack(security.resource_policy_tls_only, stack)
    assert outcome.violations == [] and "'audit-dlq'" in (outcome.not_applicable or "")


# ---------------------------------------------------------------- kms-key-rotation


def test_key_without_rotation_fails() -> None:
    key = mutate(happy_stack(), "key", enableKeyRotation=DELETE)["key"]
    assert check_resource(security.kms_key_rotation, key).messages == [
        "KMS key 'key' must rotate its key material, because a key used for years widens what one "
        "leaked key exposes. Set enableKeyRotation=True."
    ]


def test_asymmetric_key_is_exempt() -> None:
    key = mutate(
        happy_stack(),
        "key",
        enableKeyRotation=False,
        customerMasterKeySpec="RSA_2048",
        keyUsage="SIGN_VERIFY",
    )["key"]
    assert check_resource(security.kms_key_rotation, key).violations == []


def test_key_rotation_unknown_is_not_applicable() -> None:
    key = mutate(happy_stack(), "key", enableKeyRotation=UNKNOWN)["key"]
    assert check_resource(security.kms_key_rotation, key).not_applicable


# ---------------------------------------------------------------- iam-no-wildcards


def test_wildcard_action_fails() -> None:
    policy = mutate(
        happy_stack(),
        "audit-consumer-policy",
        policy=_doc(
            {
                "Sid": "Consume",
                "Effect": "Allow",
                "Action": ["sqs:*"],
                "Resource": "arn:aws:sqs:eu-west-1:123456789012:dev-audit",
            }
        ),
    )["audit-consumer-policy"]
    assert check_resource(security.iam_no_wildcards, policy).messages == [
        "IAM policy 'audit-consumer-policy' must list actions explicitly (statement Consume allows "
        "sqs:*), because wildcards grant actions nobody reviewed, including ones AWS adds later. "
        "Replace them with the exact actions the consumer or producer calls."
    ]


def test_wildcard_resource_fails() -> None:
    policy = mutate(
        happy_stack(),
        "billing-role-policy",
        policy=_doc(
            {"Sid": "Read", "Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}
        ),
    )["billing-role-policy"]
    assert check_resource(security.iam_no_wildcards, policy).messages == [
        "IAM policy 'billing-role-policy' must not grant Resource \"*\" (statement Read), because "
        "it reaches every queue, topic and table in the account. Name the ARNs of the resources "
        "it uses."
    ]


def test_allow_listed_actions_and_denies_pass() -> None:
    policy = mutate(
        happy_stack(),
        "billing-role-policy",
        policy=_doc(
            {"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
        ),
    )["billing-role-policy"]
    config = {"allowedActions": ["xray:PutTraceSegments"]}
    assert check_resource(security.iam_no_wildcards, policy, config).violations == []


def test_kms_key_policies_are_not_iam_policies() -> None:
    # Resource "*" in a key policy means the key itself.
    assert check_resource(security.iam_no_wildcards, happy_stack()["key"]).violations == []


def test_role_inline_policies_are_checked() -> None:
    from tests.policies.factories import Res

    role = Res(
        "aws:iam/role:Role",
        "role",
        {
            "inlinePolicies": [
                {"name": "all", "policy": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}
            ]
        },
    )
    assert len(check_resource(security.iam_no_wildcards, role).violations) == 2


def test_iam_unknown_policy_is_not_applicable() -> None:
    policy = mutate(happy_stack(), "billing-role-policy", policy=UNKNOWN)["billing-role-policy"]
    assert check_resource(security.iam_no_wildcards, policy).not_applicable
