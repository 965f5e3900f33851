"""CloudWatch alarms that always notify someone: every alarm here has actions."""

from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults, validation
from eventinfra.aws.checked import checked
from eventinfra.contract import Finding, shape_problems
from eventinfra.keypaths import KeyPath


class AlarmTargetArgs(TypedDict):
    """Where alarms go and how often they are evaluated."""

    topic_arn: pulumi.Input[str]
    """The SNS topic every alarm notifies, on ALARM and on OK."""
    period_seconds: NotRequired[int]
    """Alarm evaluation period: 10, 20, 30 or a multiple of 60 up to 86,400 seconds; default 60."""


AlarmTarget = AlarmTargetArgs
"""The public name: `AlarmTarget(topic_arn=..., period_seconds=...)`, or a plain dict."""


def alarm_target_problems(target: object, key: KeyPath = ("alarm_target",)) -> list[Finding]:
    """Every rule on an alarm target, keys relative to the Args that hold it."""
    findings = shape_problems(target, AlarmTargetArgs, key)
    period = target.get("period_seconds") if isinstance(target, Mapping) else None
    # Any plain value is checked, so a fraction from another language is refused, not planned.
    if period is not None and not isinstance(period, pulumi.Output):
        findings += validation.alarm_period_problems(period, (*key, "period_seconds"))
    if isinstance(target, Mapping) and isinstance(arn := target.get("topic_arn"), str):
        findings += _alarm_topic_arn_problems(arn, (*key, "topic_arn"))
    return findings


def _alarm_topic_arn_problems(arn: object, key: KeyPath) -> list[Finding]:
    return validation.topic_arn_problems(arn, key, validation.ALARM_USE)


def checked_alarm_target(
    target: AlarmTargetArgs, component: str, name: str, key: KeyPath = ("alarm_target",)
) -> AlarmTargetArgs:
    """`target` with its topic ARN checked once it resolves (an Output from outside)."""
    return {
        **target,
        "topic_arn": checked(
            target["topic_arn"], _alarm_topic_arn_problems, component, name, (*key, "topic_arn")
        ),
    }


def metric_alarm(
    name: str,
    *,
    target: AlarmTargetArgs,
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    statistic: str,
    threshold: float,
    comparison: str,
    description: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """An alarm that notifies on ALARM and on OK, and stays quiet when there is no data
    (an idle queue publishes no datapoints)."""
    return aws.cloudwatch.MetricAlarm(
        name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dict(dimensions),
        statistic=statistic,
        period=target.get("period_seconds", defaults.ALARM_PERIOD_SECONDS),
        evaluation_periods=1,
        threshold=threshold,
        comparison_operator=comparison,
        treat_missing_data="notBreaching",
        actions_enabled=True,
        alarm_actions=[target["topic_arn"]],
        ok_actions=[target["topic_arn"]],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
