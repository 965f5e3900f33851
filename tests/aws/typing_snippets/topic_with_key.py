"""Type-checked by test_contract.py, never run: the truthful Args of a correct stack."""

import pulumi

from eventinfra import (
    AlarmTarget,
    ConsumerRuntime,
    EventConsumer,
    EventKey,
    EventTopic,
    LambdaFunctionArgs,
)

key = EventKey("k", {})
topic = EventTopic("t", {"kms_key_arn": key.key_arn, "fifo": False})
function: LambdaFunctionArgs = {
    "function_name": "dev-orders",
    "code_path": "handler",
    "handler": "app.handler",
    "timeout_seconds": 30,
}
consumer = EventConsumer(
    "orders",
    {
        "queue_name": "dev-orders",
        "dead_letter_queue_name": "dev-orders-dlq",
        "subscriptions": [{"label": "orders", "topic_arn": topic.topic_arn}],
        "kms_key_arn": key.key_arn,
        "alarm_target": AlarmTarget(topic_arn=topic.topic_arn),
        "runtime": ConsumerRuntime.LAMBDA,
        "lambda_function": function,
    },
)
pulumi.export("queue_url", consumer.queue_url)
