"""An SNS -> SQS subscription without a redrive policy."""

import pulumi_aws as aws

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
orders = kit.topic("orders", key)
dlq = kit.dead_letter_queue("billing-dlq", key, "billing")
queue = kit.source_queue("billing", key, dlq, senders=[orders])
# MISCONFIGURATION: no redrive_policy; undeliverable messages are dropped by SNS.
aws.sns.TopicSubscription(
    "billing-orders",
    topic=orders.arn,
    protocol="sqs",
    endpoint=queue.arn,
    raw_message_delivery=True,
)
kit.consumer_policy("billing-consumer", queue, kit.idempotency_table("billing-idempotency"))
