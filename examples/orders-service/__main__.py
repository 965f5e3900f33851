"""orders-service: its own consumer of the platform's `order.placed` events, in its own stack."""

import pulumi
import pulumi_aws as aws

from eventinfra import AlarmTarget, ConsumerRuntime, EventConsumer, EventKey, EventTopic

config = pulumi.Config()
prefix = f"{pulumi.get_stack()}-orders"
tags = {"environment": pulumi.get_stack(), "team": "orders"}

# The platform stack owns the topics; this stack only subscribes to one of them.
platform = pulumi.StackReference(config.require("platformStack"))
order_placed_arn = platform.require_output("topic_arns")["order.placed"]

# The service's own key: SNS must be able to encrypt into the queues, CloudWatch into alerts.
key = EventKey(
    "orders-key",
    {
        "description": f"orders-service {pulumi.get_stack()}: queues, table and alerts",
        "service_principals": ["cloudwatch.amazonaws.com"],
        "tags": tags,
    },
)
alerts = EventTopic(
    "orders-alerts",
    {
        "topic_name": f"{prefix}-alerts",
        "kms_key_arn": key.key_arn,
        "publisher_services": ["cloudwatch.amazonaws.com"],
        "tags": tags,
    },
)
aws.sns.TopicSubscription(
    "orders-alerts-email",
    topic=alerts.topic_arn,
    protocol="email",
    endpoint=config.require("alertsEmail"),
)

confirmation = EventConsumer(
    "order-confirmation",
    {
        "queue_name": f"{prefix}-confirmation",
        "dead_letter_queue_name": f"{prefix}-confirmation-dlq",
        "subscriptions": [{"label": "order-placed", "topic_arn": order_placed_arn}],
        "kms_key_arn": key.key_arn,
        "max_receive_count": 5,
        # No visibility timeout: the component derives it from the function's timeout.
        "runtime": ConsumerRuntime.LAMBDA,
        "lambda_function": {
            "function_name": f"{prefix}-confirmation",
            "code_path": "handler",
            "handler": "app.handler",
            "timeout_seconds": 30,
            "batch_size": 10,
            "max_concurrency": 5,
        },
        "idempotency": {"table_name": f"{prefix}-confirmation-idempotency", "key": "orderId"},
        "alarm_target": AlarmTarget(topic_arn=alerts.topic_arn),
        "tags": tags,
    },
)

pulumi.export("queue_url", confirmation.queue_url)
pulumi.export("dead_letter_queue_url", confirmation.dead_letter_queue_url)
pulumi.export("function_arn", confirmation.function_arn)
pulumi.export("alerts_topic_arn", alerts.topic_arn)
