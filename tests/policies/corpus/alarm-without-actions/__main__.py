"""A queue-age alarm that notifies nobody."""

import sys
from pathlib import Path

import pulumi_aws as aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# MISCONFIGURATION: no alarm_actions.
aws.cloudwatch.MetricAlarm(
    "billing-age",
    namespace="AWS/SQS",
    metric_name="ApproximateAgeOfOldestMessage",
    dimensions={"QueueName": "billing"},
    statistic="Maximum",
    period=60,
    evaluation_periods=1,
    threshold=1800,
    comparison_operator="GreaterThanThreshold",
)
