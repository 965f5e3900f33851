"""LambdaConsumer: a function fed by a queue, with only the permissions it needs."""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults, iam, validation
from eventinfra.aws.alarms import (
    AlarmTargetArgs,
    alarm_target_problems,
    checked_alarm_target,
    metric_alarm,
)
from eventinfra.aws.checked import checked
from eventinfra.aws.lambda_package import build_package
from eventinfra.aws.naming import FIFO_SUFFIX
from eventinfra.aws.tags import component_tags
from eventinfra.contract import Finding, raise_for, shape_problems
from eventinfra.keypaths import KeyPath


class LambdaFunctionArgs(TypedDict):
    """The function a queue feeds, as its owner describes it (the queue, key, alarms and
    idempotency table are wired in by EventConsumer)."""

    function_name: pulumi.Input[str]
    """Physical name; the log group `/aws/lambda/<function_name>` is created before it."""
    code_path: str
    """Folder with the function's code. The deployment package is built from it: its files,
    the pinned dependencies of its `requirements.txt` (Python runtimes) and `schema_files`."""
    handler: str
    """`<module>.<function>`, like `app.handler`."""
    runtime: NotRequired[str]
    """Lambda runtime identifier, like `python3.12`."""
    timeout_seconds: NotRequired[int]
    """Function timeout, 1 to 900 seconds. Plain, not an Input: the queue's visibility timeout
    is derived from it."""
    memory_mb: NotRequired[int]
    """Function memory, 128 to 10,240 MB."""
    environment: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Environment variables of the function."""
    batch_size: NotRequired[int]
    """Messages per invocation, 1 to 10,000 (at most 10 on a FIFO queue)."""
    batch_window_seconds: NotRequired[int]
    """Seconds to gather a batch, 0 to 300; at least 1 when `batch_size` is above 10."""
    max_concurrency: NotRequired[int | None]
    """The event source's maximum concurrency (2 to 1,000); None leaves it unlimited."""
    log_retention_days: NotRequired[int]
    """Log retention, one of the periods CloudWatch Logs accepts (like 14 or 30)."""
    errors_threshold: NotRequired[int]
    """Alarm when the function has this many errors in one alarm period."""
    tracing: NotRequired[bool]
    """Active X-Ray tracing of the function; default false."""
    schema_files: NotRequired[Mapping[str, str]]
    """JSON Schema file by event type, bundled as `eventinfra_schemas/<event>.json` (the
    runtime's EVENTINFRA_SCHEMAS_DIR); an empty path bundles a schema that accepts anything."""


class LambdaConsumerArgs(LambdaFunctionArgs):
    """A LambdaFunctionArgs plus what the function is wired to."""

    queue_arn: pulumi.Input[str]
    """ARN of the queue that feeds the function."""
    kms_key_arn: pulumi.Input[str]
    """The key the queue is encrypted with: the function decrypts with it."""
    alarm_target: AlarmTargetArgs
    """Where the function's error and throttle alarms go."""
    idempotency_table_arn: NotRequired[pulumi.Input[str] | None]
    """ARN of the consumer's idempotency table, which the function may read and write."""
    dead_letter_queue_arn: NotRequired[pulumi.Input[str] | None]
    """ARN of the queue's dead-letter queue: the function may send schema-invalid records
    there itself (`sqs:SendMessage` on exactly that queue)."""
    tags: NotRequired[Mapping[str, str]]
    """Tags for every resource that takes them."""


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
    if "errors_threshold" in function:
        findings += validation.errors_threshold_problems(function["errors_threshold"])
    findings += validation.runtime_problems(function.get("runtime", defaults.LAMBDA_RUNTIME))
    environment = function.get("environment", {})
    if isinstance(environment, Mapping):
        findings += validation.environment_problems(
            environment, owned=frozenset() if wired else defaults.EVENTINFRA_LAMBDA_ENV
        )
    return findings


def _grant_rule(kind: str, grant: str) -> Callable[[object, KeyPath], list[Finding]]:
    def rule(arn: object, key: KeyPath) -> list[Finding]:
        return validation.resource_arn_problems(arn, kind, grant, key)

    return rule


# The ARNs a LambdaConsumer is wired to, each the Resource of one grant of the function's role.
_WIRED_ARNS = {
    "queue_arn": _grant_rule("SQS queue", "the function's sqs:ReceiveMessage grant"),
    "dead_letter_queue_arn": _grant_rule("SQS queue", "the function's sqs:SendMessage grant"),
    "kms_key_arn": _grant_rule("KMS key", "the function's kms:Decrypt grant"),
    "idempotency_table_arn": _grant_rule("DynamoDB table", "the function's dynamodb:PutItem grant"),
}


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
            if "alarm_target" in args:
                findings += alarm_target_problems(args["alarm_target"])
            queue_arn = args.get("queue_arn")
            fifo = isinstance(queue_arn, str) and queue_arn.endswith(FIFO_SUFFIX)
            findings += function_problems(args, fifo=fifo, wired=True)
            for key, rule in _WIRED_ARNS.items():
                if isinstance(arn := args.get(key), str):
                    findings += rule(arn, (key,))
        raise_for("LambdaConsumer", name, findings)
        # Built (or found in the cache) before anything registers: a package that cannot be
        # built declares nothing.
        runtime = args.get("runtime", defaults.LAMBDA_RUNTIME)
        schema_files = args.get("schema_files", {})
        package = build_package(
            Path(args["code_path"]),
            runtime=runtime,
            architecture=defaults.LAMBDA_ARCHITECTURE,
            schemas={event: Path(file) if file else None for event, file in schema_files.items()},
        )
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

        def wired(arn: pulumi.Input[str], key: str) -> pulumi.Input[str]:
            return checked(arn, _WIRED_ARNS[key], "LambdaConsumer", name, (key,))

        queue_arn = wired(args["queue_arn"], "queue_arn")
        dead_letter_queue_arn = args.get("dead_letter_queue_arn")
        if dead_letter_queue_arn is not None:
            dead_letter_queue_arn = wired(dead_letter_queue_arn, "dead_letter_queue_arn")
        statements = [
            iam.allow(iam.QUEUE_CONSUMER_ACTIONS, [queue_arn], "ConsumeQueue"),
            # Sending into the encrypted DLQ needs a data key too.
            iam.allow(
                iam.KMS_PUBLISH_ACTIONS if dead_letter_queue_arn else iam.KMS_DECRYPT_ACTIONS,
                [wired(args["kms_key_arn"], "kms_key_arn")],
                "DecryptMessages",
            ),
            iam.allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [pulumi.Output.concat(log_group.arn, ":log-stream:*")],
                "WriteLogs",
            ),
        ]
        table_arn = args.get("idempotency_table_arn")
        if table_arn is not None:
            statements.append(
                iam.allow(
                    iam.IDEMPOTENCY_TABLE_ACTIONS,
                    [wired(table_arn, "idempotency_table_arn")],
                    "IdempotencyRecords",
                )
            )
        if dead_letter_queue_arn is not None:
            statements.append(
                iam.allow(iam.DEAD_LETTER_ACTIONS, [dead_letter_queue_arn], "DeadLetterPoison")
            )
        tracing = args.get("tracing", False)
        if tracing:
            statements.append(iam.allow(iam.XRAY_ACTIONS, ["*"], "WriteTraces"))
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
            runtime=runtime,
            handler=args["handler"],
            code=pulumi.FileArchive(str(package)),
            timeout=args.get("timeout_seconds", defaults.LAMBDA_TIMEOUT_SECONDS),
            memory_size=args.get("memory_mb", defaults.LAMBDA_MEMORY_MB),
            environment={"variables": dict(args.get("environment", {}))},
            logging_config={"log_format": "JSON", "log_group": log_group.name},
            tracing_config={"mode": "Active"} if tracing else None,
            tags=tags,
            # The role must be able to write logs and read the queue before the first event.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, log_group]),
        )
        max_concurrency = args.get("max_concurrency")
        aws.lambda_.EventSourceMapping(
            f"{name}-event-source",
            event_source_arn=queue_arn,
            function_name=function.arn,
            batch_size=args.get("batch_size", defaults.LAMBDA_BATCH_SIZE),
            maximum_batching_window_in_seconds=args.get("batch_window_seconds", 0),
            # Only failed messages return to the queue; without it one failure retries the batch.
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": max_concurrency} if max_concurrency else None,
            tags=tags,
            opts=child,
        )
        target = checked_alarm_target(args["alarm_target"], "LambdaConsumer", name)
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
