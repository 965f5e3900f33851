"""IAM and resource policy documents, built from Outputs as JSON strings."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

Statement = Mapping[str, Any]


def json_string(value: Any) -> pulumi.Output[str]:
    """`value` as JSON once the Outputs anywhere inside it resolve.

    Like `Output.json_dumps`, with one `Output.all` over the leaves: json_dumps wraps every
    nested dict, list and value in an Output of its own, which made large stacks several times
    slower to plan (benchmarks/RESULTS.md).
    """
    leaves: list[pulumi.Output[Any]] = []

    def collect(item: Any) -> Any:
        if isinstance(item, pulumi.Output):
            leaves.append(item)
            return _Leaf(len(leaves) - 1)
        if isinstance(item, Mapping):
            return {key: collect(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [collect(inner) for inner in item]
        return item

    template = collect(value)

    def fill(item: Any, resolved: Sequence[Any]) -> Any:
        if isinstance(item, _Leaf):
            return resolved[item.index]
        if isinstance(item, dict):
            return {key: fill(inner, resolved) for key, inner in item.items()}
        if isinstance(item, list):
            return [fill(inner, resolved) for inner in item]
        return item

    return pulumi.Output.all(*leaves).apply(lambda resolved: json.dumps(fill(template, resolved)))


@dataclass(frozen=True)
class _Leaf:
    index: int


def document(*statements: Statement) -> pulumi.Output[str]:
    """A policy document; Outputs anywhere inside are resolved before serialising."""
    return json_string({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: Sequence[str], resources: Sequence[pulumi.Input[str]], sid: str) -> Statement:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": list(resources)}


def deny_insecure_transport(actions: Sequence[str], resource: pulumi.Input[str]) -> Statement:
    """Refuse every request made without TLS (AWS Foundational Security Best Practices)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def allow_sns_to_send(
    queue_arn: pulumi.Input[str], topic_arns: Sequence[pulumi.Input[str]]
) -> Statement:
    """Let exactly these topics deliver: without it SNS drops every message silently."""
    return {
        "Sid": "AllowSubscribedTopics",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": ["sqs:SendMessage"],
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": list(topic_arns)}},
    }


def sns_delivery_policy(
    queue_arn: pulumi.Input[str], topic_arns: Sequence[pulumi.Input[str]]
) -> pulumi.Output[str]:
    """A queue policy for a queue fed by SNS: these topics may send, and only over TLS."""
    return document(
        allow_sns_to_send(queue_arn, topic_arns),
        deny_insecure_transport(SQS_TLS_ACTIONS, queue_arn),
    )


def assume_role(service: str) -> pulumi.Output[str]:
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": ["sts:AssumeRole"],
        }
    )


QUEUE_CONSUMER_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)
IDEMPOTENCY_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
# A Lambda consumer moves a schema-invalid (poison) record to its own DLQ at once.
DEAD_LETTER_ACTIONS = ("sqs:SendMessage",)
# Active tracing: the function sends segments to X-Ray, which takes no resource ARNs.
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
# What SNS needs of a queue's key to deliver into it; the same pair lets a consumer read.
KMS_DECRYPT_ACTIONS = ("kms:Decrypt",)
KMS_PUBLISH_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
SQS_TLS_ACTIONS = ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                   "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
                   "sqs:PurgeQueue")  # fmt: skip
SNS_TLS_ACTIONS = ("sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes")
