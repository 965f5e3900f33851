"""The eventinfra policy pack: the rules of the eventinfra_policies package, enforced."""

from pulumi_policy import PolicyPack

# No sys.path change is needed: the CLI's shim runs this folder with `runpy.run_path(".")`, which
# puts the folder itself first on sys.path, so the sibling package imports like an installed one.
from eventinfra_policies import all_policies

PolicyPack(
    name="eventinfra",
    description="Reliability and security policies for eventinfra's SNS/SQS/Lambda resources "
    "and its RabbitMQ-on-Kubernetes backend.",
    display_name="eventinfra",
    policies=all_policies(),
    tags=["eventinfra", "aws", "sns", "sqs", "lambda", "kubernetes", "rabbitmq"],
)
