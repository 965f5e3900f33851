"""SNS -> SQS, but the queue policy only enforces TLS: SNS may not deliver."""

import pulumi_aws as aws

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
orders = kit.topic("orders", key)
dlq = kit.dead_letter_queue("billing-dlq", key, "billing", senders=[orders])
queue = aws.sqs.Queue(
    "billing",
    name="billing",
    kms_master_key_id=key.arn,
    message_retention_seconds=345_600,
    redrive_policy=kit.redrive_to(dlq),
)
# MISCONFIGURATION: the queue policy forgets the statement that lets the topic send.
kit.queue_policy("billing-policy", queue, senders=[])
kit.age_alarm("billing-age", queue)
kit.subscribe("billing-orders", orders, queue, dlq)
kit.consumer_policy("billing-consumer", queue, kit.idempotency_table("billing-idempotency"))
