"""The eventinfra platform program: one EventPlatform per stack, from its settings."""

import pulumi

from eventinfra import EventPlatform, load_stack_config

config = load_stack_config()
platform = EventPlatform("events", config)

pulumi.export("topic_arns", platform.topic_arns)
pulumi.export("queue_urls", {name: c.queue_url for name, c in platform.consumers.items()})
pulumi.export("queue_arns", {name: c.queue_arn for name, c in platform.consumers.items()})
pulumi.export(
    "dead_letter_queue_arns",
    {name: c.dead_letter_queue_arn for name, c in platform.consumers.items()},
)
pulumi.export(
    "consumer_policy_arns",
    {
        name: c.consumer_policy_arn
        for name, c in platform.consumers.items()
        if c.consumer_policy_arn is not None
    },
)
pulumi.export("producer_policy_arns", platform.producer_policy_arns)
pulumi.export("parking_queue_urls", platform.parking_queue_urls)
pulumi.export("alerts_topic_arn", platform.alerts_topic_arn)
