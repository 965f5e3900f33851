"""LambdaConsumer: a function fed by a queue, with only the permissions it needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults, iam
from eventinfra.aws.alarms import AlarmTarget, metric_alarm
from eventinfra.aws.tags import component_tags


class LambdaConsumerArgs(TypedDict, total=False):
    function_name: pulumi.Input[str]
    code_path: str
    handler: str
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, pulumi.Input[str]]
    queue_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    batch_size: int
    batch_window_seconds: int
    max_concurrency: int | None
    idempotency_table_arn: pulumi.Input[str] | None
    log_retention_days: int
    alarm_target: AlarmTarget
    errors_threshold: int
    tags: Mapping[str, str]


class LambdaConsumer(pulumi.ComponentResource):
    """The function, its role, its log group, its event source mapping and its alarms."""

    function_arn: pulumi.Output[str]
    """ARN of the function."""
    role_arn: pulumi.Output[str]
    """ARN of the function's execution role."""

    def __init__(
        self, name: str, args: LambdaConsumerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eventinfra:index:LambdaConsumer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = component_tags(args.get("tags"), f"LambdaConsumer/{name}")
        function_name = args["function_name"]

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=pulumi.Output.concat("/aws/lambda/", function_name),
            retention_in_days=args.get("log_retention_days", defaults.LOG_RETENTION_DAYS),
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=iam.assume_role("lambda.amazonaws.com"),
            tags=tags,
            opts=child,
        )
        statements = [
            iam.allow(iam.QUEUE_CONSUMER_ACTIONS, [args["queue_arn"]], "ConsumeQueue"),
            iam.allow(iam.KMS_DECRYPT_ACTIONS, [args["kms_key_arn"]], "DecryptMessages"),
            iam.allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [pulumi.Output.concat(log_group.arn, ":log-stream:*")],
                "WriteLogs",
            ),
        ]
        table_arn = args.get("idempotency_table_arn")
        if table_arn is not None:
            statements.append(
                iam.allow(iam.IDEMPOTENCY_TABLE_ACTIONS, [table_arn], "IdempotencyRecords")
            )
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=iam.document(*statements),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            role=role.arn,
            runtime=args.get("runtime", defaults.LAMBDA_RUNTIME),
            handler=args["handler"],
            code=pulumi.FileArchive(args["code_path"]),
            timeout=args.get("timeout_seconds", defaults.LAMBDA_TIMEOUT_SECONDS),
            memory_size=args.get("memory_mb", defaults.LAMBDA_MEMORY_MB),
            environment={"variables": dict(args.get("environment", {}))},
            logging_config={"log_format": "JSON", "log_group": log_group.name},
            tags=tags,
            # The role must be able to write logs and read the queue before the first event.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, log_group]),
        )
        max_concurrency = args.get("max_concurrency")
        aws.lambda_.EventSourceMapping(
            f"{name}-event-source",
            event_source_arn=args["queue_arn"],
            function_name=function.arn,
            batch_size=args.get("batch_size", defaults.LAMBDA_BATCH_SIZE),
            maximum_batching_window_in_seconds=args.get("batch_window_seconds", 0),
            # Only failed messages return to the queue; without it one failure retries the batch.
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": max_concurrency} if max_concurrency else None,
            tags=tags,
            opts=child,
        )
        target = args["alarm_target"]
        dimensions = {"FunctionName": function.name}
        metric_alarm(
            f"{name}-errors-alarm",
            target=target,
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions=dimensions,
            statistic="Sum",
            threshold=args.get("errors_threshold", defaults.LAMBDA_ERRORS_ALARM_THRESHOLD),
            comparison="GreaterThanOrEqualToThreshold",
            description=f"Consumer {name} is failing: its messages will be retried, then "
            "dead-lettered.",
            tags=tags,
            parent=self,
        )
        metric_alarm(
            f"{name}-throttles-alarm",
            target=target,
            namespace="AWS/Lambda",
            metric_name="Throttles",
            dimensions=dimensions,
            statistic="Sum",
            threshold=0,
            comparison="GreaterThanThreshold",
            description=f"Consumer {name} is throttled: raise its concurrency or the account's.",
            tags=tags,
            parent=self,
        )
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.register_outputs({"function_arn": self.function_arn, "role_arn": self.role_arn})
