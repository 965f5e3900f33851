"""A publisher's IAM policy grants sns:* instead of sns:Publish."""

import json

import pulumi_aws as aws

# MISCONFIGURATION: every SNS action, including DeleteTopic and SetTopicAttributes.
aws.iam.Policy(
    "checkout-publish",
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublishEvents",
                    "Effect": "Allow",
                    "Action": ["sns:*"],
                    "Resource": ["arn:aws:sns:eu-west-1:123456789012:orders"],
                }
            ],
        }
    ),
)
