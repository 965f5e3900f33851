"""A queue policy lets SNS deliver from any topic of the account (an `aws:SourceArn` pattern)."""

import json

import pulumi_aws as aws

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
dlq = kit.dead_letter_queue("billing-dlq", key, "billing")
queue = aws.sqs.Queue(
    "billing",
    name="billing",
    kms_master_key_id=key.arn,
    message_retention_seconds=345_600,
    redrive_policy=kit.redrive_to(dlq),
)
kit.age_alarm("billing-age", queue)
# MISCONFIGURATION: aws:SourceArn is a pattern, so every topic of the account may send.
aws.sqs.QueuePolicy(
    "billing-policy",
    queue_url=queue.url,
    policy=queue.arn.apply(
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AnyTopicMaySend",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": arn,
                        "Condition": {
                            "ArnLike": {"aws:SourceArn": "arn:aws:sns:eu-west-1:123456789012:*"}
                        },
                    },
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": ["sqs:SendMessage"],
                        "Resource": arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ],
            }
        )
    ),
)
kit.consumer_policy("billing-consumer", queue, kit.idempotency_table("billing-idempotency"))
