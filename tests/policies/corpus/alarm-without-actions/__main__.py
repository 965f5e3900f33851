"""A queue-age alarm that notifies nobody."""

import pulumi_aws as aws

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
