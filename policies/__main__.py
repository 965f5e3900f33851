"""The eventinfra policy pack: assembles the policies; the rules live in eventinfra_policies/."""

import os
import sys

# The CLI runs this file by path (runpy); make the sibling rules package importable.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from eventinfra_policies import ALL_POLICIES
from pulumi_policy import PolicyPack

PolicyPack(
    name="eventinfra",
    description="Reliability and security policies for eventinfra's SNS/SQS/Lambda resources "
    "and its RabbitMQ-on-Kubernetes backend.",
    display_name="eventinfra",
    policies=ALL_POLICIES,
    tags=["eventinfra", "aws", "sns", "sqs", "lambda", "kubernetes", "rabbitmq"],
)
