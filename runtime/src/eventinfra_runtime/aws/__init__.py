"""The SNS producer transport and the Lambda (SQS) consumer."""
