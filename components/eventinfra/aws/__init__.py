"""The AWS backend: SNS topics, SQS queues, Lambda consumers, DynamoDB idempotency, alarms."""
