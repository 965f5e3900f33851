"""Monitoring policies: DLQ depth, queue age, consumer errors, alarm actions, log retention."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ..common import (
    EVENT_SOURCE_MAPPING,
    FUNCTION,
    LOG_GROUP,
    QUEUE,
    SQS_DEFAULT_RETENTION_SECONDS,
    ReportResourceViolation,
    Res,
    Stack,
    alarms_on,
    as_list,
    get,
    is_dlq,
    number,
    plain,
    queue_graph,
    resource_validator,
    short_name_from_arn,
    stack_validator,
)

DEPTH_METRIC: Final = "ApproximateNumberOfMessagesVisible"
AGE_METRIC: Final = "ApproximateAgeOfOldestMessage"
DEFAULT_LOG_RETENTION_DAYS: Final = 7
DLQ_ALARM_GUIDE: Final = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
    "dead-letter-queues-alarms-cloudwatch.html"
)


def _fires_above_zero(alarm: Res) -> bool:
    """Fires as soon as one message is visible: > 0, or ≥ t with 0 < t ≤ 1."""
    operator = alarm.get("comparisonOperator")
    threshold = number(alarm.get("threshold"), float("inf"))
    if operator == "GreaterThanThreshold":
        return threshold < 1
    if operator == "GreaterThanOrEqualToThreshold":
        return 0 < threshold <= 1
    return False


# ---------------------------------------------------------------- sqs-dlq-has-depth-alarm


@stack_validator([QUEUE])
def _check_dlq_alarm(stack: Stack, queue: Res, report_violation: ReportViolation) -> None:
    graph = stack.joined(queue_graph)
    if not is_dlq(queue, graph):
        return
    name = queue.get("name") or short_name_from_arn(str(queue.get("arn") or ""))
    alarms = alarms_on(stack, "AWS/SQS", "QueueName", str(name))
    if any(a.get("metricName") == DEPTH_METRIC and _fires_above_zero(a) for a in alarms):
        return
    wrong = [str(a.get("metricName")) for a in alarms if a.get("metricName") != DEPTH_METRIC]
    hint = (
        f" The alarm on {', '.join(sorted(set(wrong)))} does not count: redriven and "
        "SNS-dead-lettered messages are never 'sent', so it can stay silent."
        if wrong
        else ""
    )
    report_violation(
        f"SQS queue '{queue.name}' must have a CloudWatch alarm on AWS/SQS {DEPTH_METRIC} "
        f"> 0 for QueueName {name}, because dead letters otherwise wait unnoticed until "
        f"they expire.{hint} Add an aws.cloudwatch.MetricAlarm with that metric, "
        "comparisonOperator GreaterThanThreshold, threshold 0 and an alarm action.",
        queue.urn,
    )


sqs_dlq_has_depth_alarm = StackValidationPolicy(
    name="sqs-dlq-has-depth-alarm",
    description="Every DLQ has an alarm on ApproximateNumberOfMessagesVisible > 0 for its "
    "QueueName.",
    validate=_check_dlq_alarm,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="DLQs have a depth alarm",
    remediation_steps="Alarm on AWS/SQS ApproximateNumberOfMessagesVisible > 0 (not "
    "NumberOfMessagesSent) with dimension QueueName = the DLQ's name.",
    url=DLQ_ALARM_GUIDE,
    tags=["monitoring", "dlq", "sqs"],
)


# ---------------------------------------------------------------- sqs-queue-has-age-alarm


@stack_validator([QUEUE])
def _check_age_alarm(stack: Stack, queue: Res, report_violation: ReportViolation) -> None:
    graph = stack.joined(queue_graph)
    if is_dlq(queue, graph):
        return
    name = str(queue.get("name") or short_name_from_arn(str(queue.get("arn") or "")))
    retention = number(queue.get("messageRetentionSeconds"), SQS_DEFAULT_RETENTION_SECONDS)
    alarms = [
        a
        for a in alarms_on(stack, "AWS/SQS", "QueueName", name)
        if a.get("metricName") == AGE_METRIC
    ]
    if any(number(a.get("threshold"), float("inf")) < retention for a in alarms):
        return
    report_violation(
        f"SQS queue '{queue.name}' must have a CloudWatch alarm on AWS/SQS {AGE_METRIC} "
        f"with a threshold below its retention ({retention:g} s), because a stalled "
        "consumer otherwise goes unnoticed until messages expire. Add an "
        "aws.cloudwatch.MetricAlarm on that metric for QueueName "
        f"{name} with an alarm action.",
        queue.urn,
    )


sqs_queue_has_age_alarm = StackValidationPolicy(
    name="sqs-queue-has-age-alarm",
    description="Every source queue has an ApproximateAgeOfOldestMessage alarm below its "
    "retention.",
    validate=_check_age_alarm,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Queues have an age alarm",
    remediation_steps="Alarm on AWS/SQS ApproximateAgeOfOldestMessage with a threshold well below "
    "messageRetentionSeconds.",
    url="https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
    "sqs-available-cloudwatch-metrics.html",
    tags=["monitoring", "sqs"],
)


# ---------------------------------------------------------------- lambda-consumer-has-error-alarm


def _consumer_functions(stack: Stack) -> list[Res]:
    functions = stack.index(FUNCTION, "name", "arn", "qualifiedArn")
    found: dict[str, Res] = {}
    for mapping in stack.of(EVENT_SOURCE_MAPPING):
        reference = str(mapping.known("functionName") or "")
        function = functions.get(reference) or functions.get(short_name_from_arn(reference))
        if function is not None:
            found[function.urn] = function
    return list(found.values())


def _check_error_alarm(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stack = Stack(args)
    for function in _consumer_functions(stack):
        with stack.checking(function):
            name = str(function.get("name"))
            alarms = alarms_on(stack, "AWS/Lambda", "FunctionName", name)
            if any(a.get("metricName") == "Errors" for a in alarms):
                continue
            report_violation(
                f"Lambda function '{function.name}' must have a CloudWatch alarm on AWS/Lambda "
                f"Errors for FunctionName {name}, because a failing consumer otherwise only shows "
                "up later as dead letters. Add an aws.cloudwatch.MetricAlarm on Errors (Sum ≥ 1) "
                "with an alarm action.",
                function.urn,
            )
    stack.finish()


lambda_consumer_has_error_alarm = StackValidationPolicy(
    name="lambda-consumer-has-error-alarm",
    description="Every Lambda consumer (on an event source mapping) has an AWS/Lambda Errors "
    "alarm.",
    validate=_check_error_alarm,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Lambda consumers have an error alarm",
    remediation_steps="Alarm on AWS/Lambda Errors with dimension FunctionName.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
    tags=["monitoring", "lambda"],
)


# ---------------------------------------------------------------- alarm-has-actions


@resource_validator(["aws:cloudwatch/metricAlarm:MetricAlarm"])
def _check_alarm_actions(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    actions = as_list(plain(get(args.props, "alarmActions")))
    enabled = get(args.props, "actionsEnabled")
    if enabled is False or (isinstance(enabled, str) and enabled.lower() == "false"):
        report_violation(
            f"CloudWatch alarm '{args.name}' must have its actions enabled, because a disabled "
            "alarm notifies nobody. Remove actionsEnabled=False."
        )
    elif not actions:
        report_violation(
            f"CloudWatch alarm '{args.name}' must have at least one alarm action, because an "
            "alarm nobody is told about changes nothing. Set alarmActions = [alerts_topic.arn]."
        )


alarm_has_actions = ResourceValidationPolicy(
    name="alarm-has-actions",
    description="Every CloudWatch alarm has an enabled ALARM action.",
    validate=_check_alarm_actions,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Alarms notify someone",
    remediation_steps="Set alarmActions to an SNS topic (and keep actionsEnabled true).",
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html"
    "#cloudwatch-15",
    framework=PolicyComplianceFramework(
        name="Checkov",
        version="3",
        reference="CKV_AWS_319",
        specification="cdk-nag CloudWatchAlarmAction",
    ),
    tags=["monitoring", "CKV_AWS_319", "CloudWatch.15", "cdk-nag:CloudWatchAlarmAction"],
)


# ---------------------------------------------------------------- lambda-log-retention


@stack_validator([FUNCTION])
def _check_log_retention(stack: Stack, function: Res, report_violation: ReportViolation) -> None:
    minimum = number(stack.args.get_config().get("minimumDays"), DEFAULT_LOG_RETENTION_DAYS)
    groups = stack.index(LOG_GROUP, "name", "id")
    logging = function.get("loggingConfig")
    group_name = get(logging, "logGroup") if isinstance(logging, Mapping) else None
    group_name = str(group_name or f"/aws/lambda/{function.get('name')}")
    group = groups.get(group_name)
    days = number(group.get("retentionInDays"), 0) if group is not None else 0
    if group is not None and days >= minimum:
        return
    if group is None:
        found = "is not declared"
    elif days == 0:
        found = "sets no retentionInDays (logs kept forever)"
    else:
        found = f"keeps logs {days:g} days"
    report_violation(
        f"Lambda function '{function.name}' must log to a declared log group {group_name} "
        f"with retention of at least {minimum:g} days, because logs kept forever cost "
        "money "
        f"and hold personal data longer than needed; the group {found}. Declare an "
        f"aws.cloudwatch.LogGroup named {group_name} with retentionInDays.",
        function.urn,
    )


lambda_log_retention = StackValidationPolicy(
    name="lambda-log-retention",
    description="Every Lambda function's log group is declared with a retention "
    "(config minimumDays).",
    validate=_check_log_retention,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    display_name="Lambda logs have a retention",
    config_schema=PolicyConfigSchema(
        properties={
            "minimumDays": {"type": "integer", "minimum": 1, "default": DEFAULT_LOG_RETENTION_DAYS},
        }
    ),
    remediation_steps="Declare the function's log group with retentionInDays.",
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html"
    "#cloudwatch-16",
    tags=["monitoring", "lambda", "CKV_AWS_338", "Serverless-CloudWatchLogGroupRetentionPeriod"],
)


POLICIES: Final = [
    sqs_dlq_has_depth_alarm,
    sqs_queue_has_age_alarm,
    lambda_consumer_has_error_alarm,
    alarm_has_actions,
    lambda_log_retention,
]
