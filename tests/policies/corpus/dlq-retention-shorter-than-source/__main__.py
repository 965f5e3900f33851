"""The DLQ keeps messages 4 days, the source queue 7: dead letters expire early."""

import json

import pulumi_aws as aws

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
# MISCONFIGURATION: the DLQ's retention is shorter than the source queue's.
dlq = aws.sqs.Queue(
    "billing-dlq",
    name="billing-dlq",
    kms_master_key_id=key.arn,
    message_retention_seconds=345_600,
    redrive_allow_policy=json.dumps(
        {
            "redrivePermission": "byQueue",
            "sourceQueueArns": ["arn:aws:sqs:eu-west-1:123456789012:billing"],
        }
    ),
)
kit.queue_policy("billing-dlq-policy", dlq)
kit.dlq_depth_alarm("billing-dlq-depth", dlq)
queue = aws.sqs.Queue(
    "billing",
    name="billing",
    kms_master_key_id=key.arn,
    message_retention_seconds=604_800,
    redrive_policy=kit.redrive_to(dlq),
)
kit.queue_policy("billing-policy", queue)
kit.age_alarm("billing-age", queue)
