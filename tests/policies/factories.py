"""Happy-path resources for policy tests, and runners that call policies through the SDK's types."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

UNKNOWN = UNKNOWN_STRING_VALUE
# What the SDK's servicer passes when the engine sends no customTimeouts.
NO_CUSTOM_TIMEOUTS = PolicyCustomTimeouts(0, 0, 0)
ACCOUNT = "123456789012"
REGION = "eu-west-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1111aaaa-2222-3333-4444-555566667777"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:dev-orders"
ALERTS_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:dev-alerts"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


@dataclass
class Res:
    """A RecordedResource-like fixture: a type, a logical name and engine (camelCase) props."""

    type: str
    name: str
    props: dict[str, Any] = field(default_factory=dict)

    @property
    def urn(self) -> str:
        return f"urn:pulumi:dev::shop::{self.type}::{self.name}"


def _queue(name: str, **props: Any) -> dict[str, Any]:
    return {
        "name": name,
        "arn": queue_arn(name),
        "url": queue_url(name),
        "kmsMasterKeyId": KEY_ARN,
        "fifoQueue": False,
        **props,
    }


def _alarm(
    metric: str,
    namespace: str,
    dimensions: dict[str, str],
    threshold: float,
    operator: str = "GreaterThanThreshold",
) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "metricName": metric,
        "dimensions": dimensions,
        "threshold": threshold,
        "comparisonOperator": operator,
        "statistic": "Maximum",
        "period": 60,
        "evaluationPeriods": 1,
        "alarmActions": [ALERTS_ARN],
        "actionsEnabled": True,
    }


def _queue_policy(name: str, *senders: str) -> dict[str, Any]:
    statements = []
    if senders:
        statements.append(
            {
                "Sid": "AllowSubscribedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": ["sqs:SendMessage"],
                "Resource": queue_arn(name),
                "Condition": {"ArnEquals": {"aws:SourceArn": list(senders)}},
            }
        )
    statements.append(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
            "Resource": queue_arn(name),
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    return {
        "queueUrl": queue_url(name),
        "policy": json.dumps({"Version": "2012-10-17", "Statement": statements}),
    }


def happy_stack() -> dict[str, Res]:
    """A compliant stack: topic → queue (+DLQ) → Lambda, and an external consumer of a 2nd queue."""
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Admin",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["kms:DescribeKey", "kms:PutKeyPolicy"],
                "Resource": "*",
            },
            {
                "Sid": "Services",
                "Effect": "Allow",
                "Principal": {"Service": ["sns.amazonaws.com", "cloudwatch.amazonaws.com"]},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
            },
        ],
    }
    consume = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"]
    records = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]

    def table(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "arn": table_arn(name),
            "hashKey": "id",
            "attributes": [{"name": "id", "type": "S"}],
            "ttl": {"attributeName": "expiration", "enabled": True},
            "billingMode": "PAY_PER_REQUEST",
            "tags": {"eventinfra:role": "idempotency"},
        }

    def dlq(name: str, source: str) -> dict[str, Any]:
        return _queue(
            name,
            messageRetentionSeconds=1209600,
            tags={"eventinfra:role": "dlq"},
            redriveAllowPolicy=json.dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [queue_arn(source)]}
            ),
        )

    def source(name: str, visibility: float) -> dict[str, Any]:
        return _queue(
            name,
            visibilityTimeoutSeconds=visibility,
            messageRetentionSeconds=345600,
            redrivePolicy=json.dumps(
                {"deadLetterTargetArn": queue_arn(f"{name}-dlq"), "maxReceiveCount": 5}
            ),
        )

    def subscription(name: str) -> dict[str, Any]:
        return {
            "protocol": "sqs",
            "topic": TOPIC_ARN,
            "endpoint": queue_arn(name),
            "redrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn(f"{name}-dlq")}),
        }

    def iam(*pairs: tuple[list[str], str]) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": actions, "Resource": [arn]}
                    for actions, arn in pairs
                ],
            }
        )

    resources = [
        Res(
            "aws:kms/key:Key",
            "key",
            {
                "arn": KEY_ARN,
                "keyId": KEY_ARN.rsplit("/", 1)[1],
                "enableKeyRotation": True,
                "policy": json.dumps(key_policy),
                "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
                "keyUsage": "ENCRYPT_DECRYPT",
            },
        ),
        Res(
            "aws:sns/topic:Topic",
            "orders-topic",
            {"name": "dev-orders", "arn": TOPIC_ARN, "kmsMasterKeyId": KEY_ARN},
        ),
        Res(
            "aws:sns/topicPolicy:TopicPolicy",
            "orders-topic-policy",
            {
                "arn": TOPIC_ARN,
                "policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "DenyInsecureTransport",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": ["sns:Publish"],
                                "Resource": TOPIC_ARN,
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    }
                ),
            },
        ),
        # A Lambda consumer.
        Res("aws:sqs/queue:Queue", "billing-queue", source("dev-billing", 180)),
        Res("aws:sqs/queue:Queue", "billing-dlq", dlq("dev-billing-dlq", "dev-billing")),
        Res(
            "aws:sqs/queuePolicy:QueuePolicy",
            "billing-queue-policy",
            _queue_policy("dev-billing", TOPIC_ARN),
        ),
        Res(
            "aws:sqs/queuePolicy:QueuePolicy",
            "billing-dlq-policy",
            _queue_policy("dev-billing-dlq", TOPIC_ARN),
        ),
        Res(
            "aws:sns/topicSubscription:TopicSubscription",
            "billing-subscription",
            subscription("dev-billing"),
        ),
        Res("aws:dynamodb/table:Table", "billing-idempotency", table("dev-billing-idempotency")),
        Res(
            "aws:lambda/function:Function",
            "billing-function",
            {
                "name": "dev-billing",
                "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dev-billing",
                "role": f"arn:aws:iam::{ACCOUNT}:role/billing-role",
                "timeout": 30,
                "environment": {
                    "variables": {"EVENTINFRA_IDEMPOTENCY_TABLE": "dev-billing-idempotency"}
                },
                "loggingConfig": {"logGroup": "/aws/lambda/dev-billing", "logFormat": "JSON"},
            },
        ),
        Res(
            "aws:iam/rolePolicy:RolePolicy",
            "billing-role-policy",
            {
                "role": "billing-role",
                "policy": iam(
                    (consume, queue_arn("dev-billing")),
                    (records, table_arn("dev-billing-idempotency")),
                ),
            },
        ),
        Res(
            "aws:cloudwatch/logGroup:LogGroup",
            "billing-logs",
            {"name": "/aws/lambda/dev-billing", "retentionInDays": 14},
        ),
        Res(
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            "billing-event-source",
            {
                "eventSourceArn": queue_arn("dev-billing"),
                "functionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dev-billing",
                "batchSize": 10,
                "maximumBatchingWindowInSeconds": 0,
                "functionResponseTypes": ["ReportBatchItemFailures"],
            },
        ),
        Res(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "billing-errors-alarm",
            _alarm(
                "Errors",
                "AWS/Lambda",
                {"FunctionName": "dev-billing"},
                1,
                "GreaterThanOrEqualToThreshold",
            ),
        ),
        # An external consumer.
        Res("aws:sqs/queue:Queue", "audit-queue", source("dev-audit", 30)),
        Res("aws:sqs/queue:Queue", "audit-dlq", dlq("dev-audit-dlq", "dev-audit")),
        Res(
            "aws:sqs/queuePolicy:QueuePolicy",
            "audit-queue-policy",
            _queue_policy("dev-audit", TOPIC_ARN),
        ),
        Res(
            "aws:sqs/queuePolicy:QueuePolicy",
            "audit-dlq-policy",
            _queue_policy("dev-audit-dlq", TOPIC_ARN),
        ),
        Res(
            "aws:sns/topicSubscription:TopicSubscription",
            "audit-subscription",
            subscription("dev-audit"),
        ),
        Res("aws:dynamodb/table:Table", "audit-idempotency", table("dev-audit-idempotency")),
        Res(
            "aws:iam/policy:Policy",
            "audit-consumer-policy",
            {
                "policy": iam(
                    (consume, queue_arn("dev-audit")), (records, table_arn("dev-audit-idempotency"))
                )
            },
        ),
    ]
    for name in ("dev-billing", "dev-audit"):
        resources.append(
            Res(
                "aws:cloudwatch/metricAlarm:MetricAlarm",
                f"{name}-dlq-alarm",
                _alarm(
                    "ApproximateNumberOfMessagesVisible", "AWS/SQS", {"QueueName": f"{name}-dlq"}, 0
                ),
            )
        )
        resources.append(
            Res(
                "aws:cloudwatch/metricAlarm:MetricAlarm",
                f"{name}-age-alarm",
                _alarm("ApproximateAgeOfOldestMessage", "AWS/SQS", {"QueueName": name}, 1800),
            )
        )
    return {r.name: r for r in resources}


def mutate(stack: dict[str, Res], resource_name: str, /, **changes: Any) -> dict[str, Res]:
    """A copy of `stack` with props of `name` changed (a value of `DELETE` removes the key)."""
    copied = copy.deepcopy(stack)
    props = copied[resource_name].props
    for key, value in changes.items():
        if value is DELETE:
            props.pop(key, None)
        else:
            props[key] = value
    return copied


DELETE = object()


@dataclass
class Outcome:
    violations: list[tuple[str, str | None]]
    """(message, urn) pairs, in report order."""
    not_applicable: str | None = None

    @property
    def messages(self) -> list[str]:
        return [message for message, _ in self.violations]

    @property
    def urns(self) -> list[str]:
        """The URN of each violation; fails the test if a violation names no resource."""
        assert all(urn is not None for _, urn in self.violations), self.violations
        return [urn for _, urn in self.violations if urn is not None]


def _proxied(props: Mapping[str, Any]) -> Any:
    # What the servicer hands a policy: plain JSON wrapped in the unknown-checking proxy.
    return unknown_checking_proxy(json.loads(json.dumps(props)))


def check_resource(
    policy: Policy, resource: Res, config: Mapping[str, Any] | None = None
) -> Outcome:
    """Run a resource policy's validate on one resource, as the SDK's Analyze does."""
    outcome = Outcome([])
    args = ResourceValidationArgs(
        resource.type,
        _proxied(resource.props),
        resource.urn,
        resource.name,
        PolicyResourceOptions(False, [], False, [], NO_CUSTOM_TIMEOUTS, []),
        None,
        dict(config or {}),
    )

    def report(message: str, urn: str | None = None) -> None:
        outcome.violations.append((message, urn))

    _run(policy.validate, args, report, outcome)  # type: ignore[attr-defined]
    return outcome


def check_stack(
    policy: Policy, stack: Mapping[str, Res] | list[Res], config: Mapping[str, Any] | None = None
) -> Outcome:
    """Run a stack policy's validate over the resources, as the SDK's AnalyzeStack does."""
    resources = list(stack.values()) if isinstance(stack, Mapping) else list(stack)
    outcome = Outcome([])
    args = StackValidationArgs(
        [
            PolicyResource(
                r.type,
                _proxied(r.props),
                r.urn,
                r.name,
                PolicyResourceOptions(False, [], False, [], NO_CUSTOM_TIMEOUTS, []),
                None,
                None,
                [],
                {},
            )
            for r in resources
        ],
        dict(config or {}),
    )

    def report(message: str, urn: str | None = None) -> None:
        outcome.violations.append((message, urn))

    _run(policy.validate, args, report, outcome)  # type: ignore[attr-defined]
    return outcome


def _run(
    validate: Callable[..., Any] | list[Callable[..., Any]],
    args: Any,
    report: Callable[..., None],
    outcome: Outcome,
) -> None:
    for function in validate if isinstance(validate, list) else [validate]:
        try:
            function(args, report)
        except _NotApplicableError as error:
            outcome.not_applicable = error.reason
