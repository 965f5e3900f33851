"""A FIFO queue dead-letters to a standard queue, which SQS rejects."""

import pulumi_aws as aws

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
# MISCONFIGURATION: a standard DLQ for a FIFO source.
dlq = kit.dead_letter_queue("payments-dlq", key, "payments.fifo")
queue = aws.sqs.Queue(
    "payments",
    name="payments.fifo",
    fifo_queue=True,
    content_based_deduplication=True,
    kms_master_key_id=key.arn,
    message_retention_seconds=345_600,
    redrive_policy=kit.redrive_to(dlq),
)
kit.queue_policy("payments-policy", queue)
kit.age_alarm("payments-age", queue)
