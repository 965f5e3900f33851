"""A work queue with no redrive policy: poison messages retry until they expire."""

import pulumi_aws as aws

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
# MISCONFIGURATION: no redrive_policy.
queue = aws.sqs.Queue(
    "billing", name="billing", kms_master_key_id=key.arn, message_retention_seconds=345_600
)
kit.queue_policy("billing-policy", queue)
kit.age_alarm("billing-age", queue)
