"""CloudWatch alarms that always notify someone: every alarm here has actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults


@dataclass(frozen=True)
class AlarmTarget:
    """Where alarms go and how often they are evaluated."""

    topic_arn: pulumi.Input[str]
    period_seconds: int = defaults.ALARM_PERIOD_SECONDS


def metric_alarm(
    name: str,
    *,
    target: AlarmTarget,
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
        period=target.period_seconds,
        evaluation_periods=1,
        threshold=threshold,
        comparison_operator=comparison,
        treat_missing_data="notBreaching",
        actions_enabled=True,
        alarm_actions=[target.topic_arn],
        ok_actions=[target.topic_arn],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
