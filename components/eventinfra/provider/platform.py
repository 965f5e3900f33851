"""SnsSqsPlatform: the SNS/SQS platform from language-neutral args, for the package provider."""

# No `from __future__ import annotations`: the component analyzer reads these at run time.

import pulumi

from eventinfra.aws.platform import EventPlatform
from eventinfra.aws.platform_args import SnsSqsPlatformArgs, platform_config_from_args


class SnsSqsPlatform(pulumi.ComponentResource):
    """Every topic, queue, consumer and alarm of one environment's SNS/SQS event platform.

    Topics are encrypted with a rotating customer-managed key and TLS-only; every consumer
    gets a queue with a dead-letter queue, an idempotency table and alarms.
    """

    topic_arns: dict[str, pulumi.Output[str]]
    """Topic ARN by event name."""
    producer_policy_arns: dict[str, pulumi.Output[str]]
    """Publish-policy ARN by producer name; attach it to the producer's role."""
    consumer_queue_urls: dict[str, pulumi.Output[str]]
    """Queue URL by consumer name."""
    consumer_queue_arns: dict[str, pulumi.Output[str]]
    """Queue ARN by consumer name."""
    consumer_dead_letter_queue_urls: dict[str, pulumi.Output[str]]
    """Dead-letter queue URL by consumer name, for inspection and redrive."""
    parking_queue_urls: dict[str, pulumi.Output[str]]
    """Parking-queue URL by name of an event no consumer subscribes to."""
    alerts_topic_arn: pulumi.Output[str]
    """The topic every alarm notifies."""

    def __init__(
        self, name: str, args: SnsSqsPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Validated before the component registers: a mistake in the args declares nothing.
        config = platform_config_from_args(args, stack=pulumi.get_stack())
        super().__init__("eventinfra:index:SnsSqsPlatform", name, None, opts)
        # Until the platform class itself takes these args, it is this component's one child,
        # under the same name, so its resources are named as in a Python program.
        platform = EventPlatform(name, config, pulumi.ResourceOptions(parent=self))
        consumers = platform.consumers
        self.topic_arns = platform.topic_arns
        self.producer_policy_arns = platform.producer_policy_arns
        self.consumer_queue_urls = {n: c.queue_url for n, c in consumers.items()}
        self.consumer_queue_arns = {n: c.queue_arn for n, c in consumers.items()}
        self.consumer_dead_letter_queue_urls = {
            n: c.dead_letter_queue_url for n, c in consumers.items()
        }
        self.parking_queue_urls = platform.parking_queue_urls
        self.alerts_topic_arn = platform.alerts_topic_arn
        self.register_outputs(
            {
                "topic_arns": self.topic_arns,
                "producer_policy_arns": self.producer_policy_arns,
                "consumer_queue_urls": self.consumer_queue_urls,
                "consumer_queue_arns": self.consumer_queue_arns,
                "consumer_dead_letter_queue_urls": self.consumer_dead_letter_queue_urls,
                "parking_queue_urls": self.parking_queue_urls,
                "alerts_topic_arn": self.alerts_topic_arn,
            }
        )
