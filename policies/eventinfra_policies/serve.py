"""Start the eventinfra policy pack: the entry point of every pack folder that runs these rules."""

from __future__ import annotations

from pulumi_policy import PolicyPack

from eventinfra_policies import all_policies


def serve() -> None:
    """Serve the Analyzer protocol until the engine stops the process (this never returns)."""
    PolicyPack(
        name="eventinfra",
        description="Reliability and security policies for eventinfra's SNS/SQS/Lambda resources "
        "and its RabbitMQ-on-Kubernetes backend.",
        display_name="eventinfra",
        policies=all_policies(),
        tags=["eventinfra", "aws", "sns", "sqs", "lambda", "kubernetes", "rabbitmq"],
    )
