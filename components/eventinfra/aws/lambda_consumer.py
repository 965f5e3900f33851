"""LambdaConsumer: a function fed by a queue, with only the permissions it needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults, iam, validation
from eventinfra.aws.alarms import AlarmTarget, metric_alarm
from eventinfra.aws.naming import FIFO_SUFFIX
from eventinfra.aws.tags import component_tags
from eventinfra.contract import Finding, raise_for, shape_problems


class LambdaFunctionArgs(TypedDict):
    """The function a queue feeds, as its owner describes it (the queue, key, alarms and
    idempotency table are wired in by EventConsumer)."""

    function_name: pulumi.Input[str]
    """Physical name; the log group `/aws/lambda/<function_name>` is created before it."""
    code_path: str
    """Folder with the function's code."""
    handler: str
    """`<module>.<function>`, like `app.handler`."""
    runtime: NotRequired[str]
    timeout_seconds: NotRequired[int]
    """Plain, not an Input: the queue's visibility timeout is derived from it."""
    memory_mb: NotRequired[int]
    environment: NotRequired[Mapping[str, pulumi.Input[str]]]
    batch_size: NotRequired[int]
    batch_window_seconds: NotRequired[int]
    max_concurrency: NotRequired[int | None]
    """The event source's maximum concurrency (2 to 1,000); None leaves it unlimited."""
    log_retention_days: NotRequired[int]
    errors_threshold: NotRequired[int]


class LambdaConsumerArgs(LambdaFunctionArgs):
    """A LambdaFunctionArgs plus what the function is wired to."""

    queue_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    alarm_target: AlarmTarget
    idempotency_table_arn: NotRequired[pulumi.Input[str] | None]
    tags: NotRequired[Mapping[str, str]]


def function_problems(
    function: LambdaFunctionArgs, *, fifo: bool, wired: bool = False
) -> list[Finding]:
    """Every rule on a function's settings, keys relative to them; defaults fill the gaps.
    `wired`: the environment already holds the variables EventConsumer adds."""
    timeout = function.get("timeout_seconds", defaults.LAMBDA_TIMEOUT_SECONDS)
    batch_size = function.get("batch_size", defaults.LAMBDA_BATCH_SIZE)
    window = function.get("batch_window_seconds", 0)
    findings = validation.lambda_limit_problems(
        timeout_seconds=timeout,
        memory_mb=function.get("memory_mb", defaults.LAMBDA_MEMORY_MB),
        batch_size=batch_size,
        batch_window_seconds=window,
        max_concurrency=function.get("max_concurrency"),
        log_retention_days=function.get("log_retention_days", defaults.LOG_RETENTION_DAYS),
    )
    # Out of range already says enough about these two; the batching rules assume them valid.
    if not {f.key_path for f in findings} & {("batch_size",), ("batch_window_seconds",)}:
        findings += validation.batching_problems(
            batch_size=batch_size, batch_window_seconds=window, fifo=fifo
        )
    if isinstance(name := function.get("function_name"), str):
        findings += validation.function_name_problems(name, ("function_name",))
    findings += validation.runtime_problems(function.get("runtime", defaults.LAMBDA_RUNTIME))
    environment = function.get("environment", {})
    if isinstance(environment, Mapping):
        findings += validation.environment_problems(
            environment, owned=frozenset() if wired else defaults.EVENTINFRA_LAMBDA_ENV
        )
    return findings


class LambdaConsumer(pulumi.ComponentResource):
    """The function, its role, its log group, its event source mapping and its alarms."""

    function_arn: pulumi.Output[str]
    """ARN of the function."""
    role_arn: pulumi.Output[str]
    """ARN of the function's execution role."""

    def __init__(
        self, name: str, args: LambdaConsumerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        findings = shape_problems(args, LambdaConsumerArgs)
        if isinstance(args, Mapping):
            queue_arn = args.get("queue_arn")
            fifo = isinstance(queue_arn, str) and queue_arn.endswith(FIFO_SUFFIX)
            findings += function_problems(args, fifo=fifo, wired=True)
        raise_for("LambdaConsumer", name, findings)
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
