"""A work queue with no redrive policy: poison messages retry until they expire."""

import sys
from pathlib import Path

import pulumi_aws as aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import corpus_kit as kit

key = kit.key("events-key")
# MISCONFIGURATION: no redrive_policy.
queue = aws.sqs.Queue(
    "billing", name="billing", kms_master_key_id=key.arn, message_retention_seconds=345_600
)
kit.queue_policy("billing-policy", queue)
kit.age_alarm("billing-age", queue)
