"""Compliant building blocks for the policy corpus: each case adds ONE misconfiguration inline."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

ACCOUNT = "123456789012"
# An existing on-call topic outside the corpus programs: alarms notify it.
ALERTS_TOPIC_ARN = f"arn:aws:sns:eu-west-1:{ACCOUNT}:ops-alerts"
DLQ_RETENTION_SECONDS = 1_209_600  # 14 days, the SQS maximum
KEY_ADMIN_ACTIONS = [
    "kms:DescribeKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
]


def key(name: str) -> aws.kms.Key:
    """A rotating customer-managed key SNS and CloudWatch may use."""
    return aws.kms.Key(
        name,
        enable_key_rotation=True,
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": KEY_ADMIN_ACTIONS,
                        "Resource": "*",
                    },
                    {
                        "Sid": "ServicesEncryptMessages",
                        "Effect": "Allow",
                        "Principal": {"Service": ["sns.amazonaws.com", "cloudwatch.amazonaws.com"]},
                        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                        "Resource": "*",
                    },
                ],
            }
        ),
    )


def _deny_insecure(resource_arn: pulumi.Input[str], actions: Sequence[str]) -> dict:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": resource_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def topic(name: str, kms_key: aws.kms.Key) -> aws.sns.Topic:
    """An encrypted topic whose policy requires TLS."""
    created = aws.sns.Topic(name, name=name, kms_master_key_id=kms_key.arn)
    aws.sns.TopicPolicy(
        f"{name}-policy",
        arn=created.arn,
        policy=created.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [_deny_insecure(arn, ["sns:Publish", "sns:Subscribe"])],
                }
            )
        ),
    )
    return created


def queue_policy(
    name: str, queue: aws.sqs.Queue, senders: Sequence[aws.sns.Topic] = ()
) -> aws.sqs.QueuePolicy:
    """TLS-only, and lets exactly `senders` deliver through SNS."""

    def document(args: list) -> str:
        arn, *topic_arns = args
        statements = [_deny_insecure(arn, ["sqs:SendMessage", "sqs:ReceiveMessage"])]
        if topic_arns:
            statements.insert(
                0,
                {
                    "Sid": "AllowSubscribedTopics",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": ["sqs:SendMessage"],
                    "Resource": arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arns}},
                },
            )
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    return aws.sqs.QueuePolicy(
        name,
        queue_url=queue.url,
        policy=pulumi.Output.all(queue.arn, *[t.arn for t in senders]).apply(document),
    )


def alarm(
    name: str,
    namespace: str,
    metric: str,
    dimensions: dict,
    threshold: float,
    operator: str = "GreaterThanThreshold",
) -> aws.cloudwatch.MetricAlarm:
    return aws.cloudwatch.MetricAlarm(
        name,
        namespace=namespace,
        metric_name=metric,
        dimensions=dimensions,
        statistic="Maximum",
        period=60,
        evaluation_periods=1,
        threshold=threshold,
        comparison_operator=operator,
        alarm_actions=[ALERTS_TOPIC_ARN],
    )


def dlq_depth_alarm(name: str, dlq: aws.sqs.Queue) -> aws.cloudwatch.MetricAlarm:
    return alarm(name, "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": dlq.name}, 0)


def age_alarm(name: str, queue: aws.sqs.Queue) -> aws.cloudwatch.MetricAlarm:
    return alarm(name, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": queue.name}, 1800)


def dead_letter_queue(
    name: str,
    kms_key: aws.kms.Key | None,
    source_name: str,
    senders: Sequence[aws.sns.Topic] = (),
    *,
    alarmed: bool = True,
    fifo: bool = False,
) -> aws.sqs.Queue:
    source_arn = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{source_name}"
    dlq = aws.sqs.Queue(
        name,
        name=name,
        fifo_queue=fifo or None,
        kms_master_key_id=kms_key.arn if kms_key else None,
        message_retention_seconds=DLQ_RETENTION_SECONDS,
        redrive_allow_policy=json.dumps(
            {"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]}
        ),
    )
    queue_policy(f"{name}-policy", dlq, senders)
    if alarmed:
        dlq_depth_alarm(f"{name}-depth", dlq)
    return dlq


def redrive_to(dlq: aws.sqs.Queue, max_receive_count: int = 5) -> pulumi.Output[str]:
    return dlq.arn.apply(
        lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count})
    )


def source_queue(
    name: str,
    kms_key: aws.kms.Key | None,
    dlq: aws.sqs.Queue,
    senders: Sequence[aws.sns.Topic] = (),
    *,
    visibility_timeout_seconds: int = 30,
) -> aws.sqs.Queue:
    queue = aws.sqs.Queue(
        name,
        name=name,
        kms_master_key_id=kms_key.arn if kms_key else None,
        visibility_timeout_seconds=visibility_timeout_seconds,
        message_retention_seconds=345_600,
        redrive_policy=redrive_to(dlq),
    )
    queue_policy(f"{name}-policy", queue, senders)
    age_alarm(f"{name}-age", queue)
    return queue


def subscribe(
    name: str, source: aws.sns.Topic, queue: aws.sqs.Queue, dlq: aws.sqs.Queue
) -> aws.sns.TopicSubscription:
    return aws.sns.TopicSubscription(
        name,
        topic=source.arn,
        protocol="sqs",
        endpoint=queue.arn,
        raw_message_delivery=True,
        redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})),
    )


def idempotency_table(name: str) -> aws.dynamodb.Table:
    return aws.dynamodb.Table(
        name,
        name=name,
        billing_mode="PAY_PER_REQUEST",
        hash_key="id",
        attributes=[aws.dynamodb.TableAttributeArgs(name="id", type="S")],
        ttl=aws.dynamodb.TableTtlArgs(attribute_name="expiration", enabled=True),
        tags={"eventinfra:role": "idempotency"},
    )


def consumer_policy(
    name: str, queue: aws.sqs.Queue, table: aws.dynamodb.Table | None
) -> aws.iam.Policy:
    """What an external consumer (a container, a VM) needs to read `queue` idempotently."""

    def document(args: list) -> str:
        queue_arn, *table_arns = args
        statements = [
            {
                "Sid": "ConsumeQueue",
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                ],
                "Resource": [queue_arn],
            }
        ]
        statements += [
            {
                "Sid": "IdempotencyRecords",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
                "Resource": [arn],
            }
            for arn in table_arns
        ]
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    arns = [queue.arn] + ([table.arn] if table is not None else [])
    return aws.iam.Policy(name, policy=pulumi.Output.all(*arns).apply(document))


HANDLER = pulumi.AssetArchive(
    {
        "app.py": pulumi.StringAsset(
            "def handler(event, context):\n    return {'batchItemFailures': []}\n"
        )
    }
)


def lambda_consumer(name: str, queue: aws.sqs.Queue, *, timeout: int) -> aws.lambda_.Function:
    """A Lambda consumer with idempotency table, logs, least privilege and an error alarm."""
    table = idempotency_table(f"{name}-idempotency")
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs", name=f"/aws/lambda/{name}", retention_in_days=14
    )
    role = aws.iam.Role(
        f"{name}-role",
        name=f"{name}-role",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": ["sts:AssumeRole"],
                    }
                ],
            }
        ),
    )
    aws.iam.RolePolicy(
        f"{name}-role-policy",
        role=role.name,
        policy=pulumi.Output.all(queue.arn, table.arn, log_group.arn).apply(
            lambda arns: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Resource": [arns[0]],
                            "Action": [
                                "sqs:ReceiveMessage",
                                "sqs:DeleteMessage",
                                "sqs:ChangeMessageVisibility",
                                "sqs:GetQueueAttributes",
                            ],
                        },
                        {
                            "Effect": "Allow",
                            "Resource": [arns[1]],
                            "Action": [
                                "dynamodb:GetItem",
                                "dynamodb:PutItem",
                                "dynamodb:UpdateItem",
                                "dynamodb:DeleteItem",
                            ],
                        },
                        {
                            "Effect": "Allow",
                            "Resource": [f"{arns[2]}:log-stream:*"],
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        },
                    ],
                }
            )
        ),
    )
    function = aws.lambda_.Function(
        name,
        name=name,
        runtime="python3.12",
        handler="app.handler",
        code=HANDLER,
        role=role.arn,
        timeout=timeout,
        memory_size=256,
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format="JSON", log_group=log_group.name
        ),
        environment=aws.lambda_.FunctionEnvironmentArgs(
            variables={"EVENTINFRA_IDEMPOTENCY_TABLE": table.name}
        ),
    )
    aws.lambda_.EventSourceMapping(
        f"{name}-event-source",
        event_source_arn=queue.arn,
        function_name=function.arn,
        batch_size=10,
        function_response_types=["ReportBatchItemFailures"],
    )
    alarm(
        f"{name}-errors",
        "AWS/Lambda",
        "Errors",
        {"FunctionName": function.name},
        1,
        "GreaterThanOrEqualToThreshold",
    )
    return function
