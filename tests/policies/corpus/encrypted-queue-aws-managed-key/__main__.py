"""An encrypted queue behind SNS uses the AWS-managed key alias/aws/sqs."""

import pulumi_aws as aws

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
orders = kit.topic("orders", key)
dlq = kit.dead_letter_queue("billing-dlq", key, "billing", senders=[orders])
# MISCONFIGURATION: SNS cannot use the AWS-managed SQS key; every delivery fails.
queue = aws.sqs.Queue(
    "billing",
    name="billing",
    kms_master_key_id="alias/aws/sqs",
    message_retention_seconds=345_600,
    redrive_policy=kit.redrive_to(dlq),
)
kit.queue_policy("billing-policy", queue, senders=[orders])
kit.age_alarm("billing-age", queue)
kit.subscribe("billing-orders", orders, queue, dlq)
kit.consumer_policy("billing-consumer", queue, kit.idempotency_table("billing-idempotency"))
