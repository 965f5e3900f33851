"""A topic without a customer-managed KMS key."""

import json

import pulumi_aws as aws

# MISCONFIGURATION: no kms_master_key_id.
alerts = aws.sns.Topic("alerts", name="alerts")
aws.sns.TopicPolicy(
    "alerts-policy",
    arn=alerts.arn,
    policy=alerts.arn.apply(
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": ["sns:Publish"],
                        "Resource": arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        )
    ),
)
aws.sns.TopicSubscription(
    "alerts-email", topic=alerts.arn, protocol="email", endpoint="oncall@example.com"
)
