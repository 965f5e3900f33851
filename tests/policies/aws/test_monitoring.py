"""Monitoring policies: DLQ depth alarms, age alarms, error alarms, alarm actions, log retention."""

from __future__ import annotations

import pytest
from pulumi_policy import Policy

from eventinfra_policies.aws import monitoring
from tests.policies.factories import (
    DELETE,
    UNKNOWN,
    check_resource,
    check_stack,
    happy_stack,
    mutate,
)

DEPTH = (
    "SQS queue 'audit-dlq' must have a CloudWatch alarm on AWS/SQS "
    "ApproximateNumberOfMessagesVisible > 0 for QueueName dev-audit-dlq, because dead letters "
    "otherwise wait unnoticed until they expire.{hint} Add an aws.cloudwatch.MetricAlarm with "
    "that metric, comparisonOperator GreaterThanThreshold, threshold 0 and an alarm action."
)


def test_policy_names() -> None:
    assert [p.name for p in monitoring.POLICIES] == [
        "sqs-dlq-has-depth-alarm",
        "sqs-queue-has-age-alarm",
        "lambda-consumer-has-error-alarm",
        "alarm-has-actions",
        "lambda-log-retention",
    ]


@pytest.mark.parametrize(
    "policy", [p for p in monitoring.POLICIES if p.name != "alarm-has-actions"]
)
def test_happy_stack_passes(policy: Policy) -> None:
    outcome = check_stack(policy, happy_stack())
    assert (outcome.violations, outcome.not_applicable) == ([], None)


def test_dlq_alarm_on_messages_sent_fails() -> None:
    stack = mutate(happy_stack(), "dev-audit-dlq-alarm", metricName="NumberOfMessagesSent")
    outcome = check_stack(monitoring.sqs_dlq_has_depth_alarm, stack)
    assert outcome.messages == [
        DEPTH.format(
            hint=(
                " The alarm on NumberOfMessagesSent does not count: redriven and SNS-dead-lettered "
                "messages are never 'sent', so it can stay silent."
            )
        )
    ]
    assert outcome.urns[0].endswith("::audit-dlq")


def test_dlq_without_alarm_fails() -> None:
    stack = happy_stack()
    del stack["dev-audit-dlq-alarm"]
    assert check_stack(monitoring.sqs_dlq_has_depth_alarm, stack).messages == [
        DEPTH.format(hint="")
    ]


@pytest.mark.parametrize(
    "operator,threshold,fires",
    [
        ("GreaterThanThreshold", 0, True),
        ("GreaterThanOrEqualToThreshold", 1, True),
        ("GreaterThanThreshold", 10, False),
        ("LessThanThreshold", 0, False),
    ],
)
def test_dlq_alarm_must_fire_on_the_first_message(
    operator: str, threshold: float, fires: bool
) -> None:
    stack = mutate(
        happy_stack(), "dev-audit-dlq-alarm", comparisonOperator=operator, threshold=threshold
    )
    violations = check_stack(monitoring.sqs_dlq_has_depth_alarm, stack).violations
    assert (violations == []) is fires


def test_dlq_alarm_on_another_queue_fails() -> None:
    stack = mutate(happy_stack(), "dev-audit-dlq-alarm", dimensions={"QueueName": "dev-audit"})
    assert check_stack(monitoring.sqs_dlq_has_depth_alarm, stack).messages == [
        DEPTH.format(hint="")
    ]


def test_dlq_alarm_unknown_name_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-dlq", name=UNKNOWN)
    outcome = check_stack(monitoring.sqs_dlq_has_depth_alarm, stack)
    assert outcome.violations == [] and "'audit-dlq': string value at .name" in (
        outcome.not_applicable or ""
    )


def test_age_alarm_at_or_above_retention_fails() -> None:
    stack = mutate(happy_stack(), "dev-audit-age-alarm", threshold=345600)
    assert check_stack(monitoring.sqs_queue_has_age_alarm, stack).messages == [
        "SQS queue 'audit-queue' must have a CloudWatch alarm on AWS/SQS "
        "ApproximateAgeOfOldestMessage with a threshold below its retention (345600 s), because a "
        "stalled consumer otherwise goes unnoticed until messages expire. Add an "
        "aws.cloudwatch.MetricAlarm on that metric for QueueName dev-audit with an alarm action."
    ]


def test_age_alarm_missing_fails_and_dlqs_are_exempt() -> None:
    stack = happy_stack()
    del stack["dev-audit-age-alarm"]
    outcome = check_stack(monitoring.sqs_queue_has_age_alarm, stack)
    assert [urn.rsplit("::", 1)[-1] for urn in outcome.urns] == ["audit-queue"]


def test_age_alarm_unknown_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-queue", messageRetentionSeconds=UNKNOWN)
    outcome = check_stack(monitoring.sqs_queue_has_age_alarm, stack)
    assert outcome.violations == [] and "messageRetentionSeconds" in (outcome.not_applicable or "")


def test_consumer_without_error_alarm_fails() -> None:
    stack = mutate(happy_stack(), "billing-errors-alarm", metricName="Throttles")
    assert check_stack(monitoring.lambda_consumer_has_error_alarm, stack).messages == [
        "Lambda function 'billing-function' must have a CloudWatch alarm on AWS/Lambda Errors for "
        "FunctionName dev-billing, because a failing consumer otherwise only shows up later as "
        "dead letters. Add an aws.cloudwatch.MetricAlarm on Errors (Sum ≥ 1) with an alarm action."
    ]


def test_error_alarm_unknown_name_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "billing-function", name=UNKNOWN)
    outcome = check_stack(monitoring.lambda_consumer_has_error_alarm, stack)
    assert outcome.violations == [] and outcome.not_applicable


def test_alarm_actions_happy() -> None:
    for name, resource in happy_stack().items():
        if resource.type == "aws:cloudwatch/metricAlarm:MetricAlarm":
            assert check_resource(monitoring.alarm_has_actions, resource).violations == [], name


def test_alarm_without_actions_fails() -> None:
    alarm = mutate(happy_stack(), "billing-errors-alarm", alarmActions=DELETE)[
        "billing-errors-alarm"
    ]
    assert check_resource(monitoring.alarm_has_actions, alarm).messages == [
        "CloudWatch alarm 'billing-errors-alarm' must have at least one alarm action, because an "
        "alarm nobody is told about changes nothing. Set alarmActions = [alerts_topic.arn]."
    ]


def test_alarm_with_actions_disabled_fails() -> None:
    alarm = mutate(happy_stack(), "billing-errors-alarm", actionsEnabled=False)[
        "billing-errors-alarm"
    ]
    assert check_resource(monitoring.alarm_has_actions, alarm).messages == [
        "CloudWatch alarm 'billing-errors-alarm' must have its actions enabled, because a disabled "
        "alarm notifies nobody. Remove actionsEnabled=False."
    ]


def test_alarm_unknown_actions_is_not_applicable() -> None:
    alarm = mutate(happy_stack(), "billing-errors-alarm", alarmActions=[UNKNOWN])[
        "billing-errors-alarm"
    ]
    outcome = check_resource(monitoring.alarm_has_actions, alarm)
    assert outcome.violations == [] and "alarmActions.0 can't be known" in (
        outcome.not_applicable or ""
    )


LOGS = (
    "Lambda function 'billing-function' must log to a declared log group /aws/lambda/dev-billing "
    "with retention of at least {minimum} days, because logs kept forever cost money and hold "
    "personal data longer than needed; the group {found}. Declare an aws.cloudwatch.LogGroup "
    "named /aws/lambda/dev-billing with retentionInDays."
)


def test_log_group_missing_fails() -> None:
    stack = happy_stack()
    del stack["billing-logs"]
    assert check_stack(monitoring.lambda_log_retention, stack).messages == [
        LOGS.format(minimum=7, found="is not declared")
    ]


def test_log_group_without_retention_fails() -> None:
    stack = mutate(happy_stack(), "billing-logs", retentionInDays=DELETE)
    assert check_stack(monitoring.lambda_log_retention, stack).messages == [
        LOGS.format(minimum=7, found="sets no retentionInDays (logs kept forever)")
    ]


def test_log_retention_minimum_configurable() -> None:
    outcome = check_stack(monitoring.lambda_log_retention, happy_stack(), {"minimumDays": 30})
    assert outcome.messages == [LOGS.format(minimum=30, found="keeps logs 14 days")]


def test_log_group_unknown_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "billing-function", loggingConfig=UNKNOWN)
    outcome = check_stack(monitoring.lambda_log_retention, stack)
    assert outcome.violations == [] and "loggingConfig" in (outcome.not_applicable or "")
