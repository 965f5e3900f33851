"""The eventinfra platform program: one platform per stack, on the broker its settings name."""

import pulumi

from eventinfra import KafkaPlatform, RabbitMQPlatform, SnsSqsPlatform, load_stack_config

config = load_stack_config()


def export_rabbitmq(platform: RabbitMQPlatform) -> None:
    pulumi.export("namespace", platform.namespace)
    pulumi.export("vhost", platform.vhost)
    pulumi.export("rabbitmq_cluster", platform.cluster_name)
    pulumi.export("exchanges", {e: event.exchange_name for e, event in platform.events.items()})
    pulumi.export("queues", {name: c.queue_name for name, c in platform.consumers.items()})
    pulumi.export(
        "dead_letter_queues",
        {name: c.dead_letter_queue_name for name, c in platform.consumers.items()},
    )
    pulumi.export(
        "credential_secrets",
        {
            **{name: p.secret_name for name, p in platform.producers.items()},
            **{name: c.credentials.secret_name for name, c in platform.consumers.items()},
        },
    )


def export_kafka(platform: KafkaPlatform) -> None:
    pulumi.export("namespace", platform.namespace)
    pulumi.export("kafka_cluster", platform.cluster_name)
    pulumi.export("bootstrap", platform.bootstrap)
    pulumi.export("topics", platform.topics)
    pulumi.export("producer_events", platform.producer_events)
    pulumi.export("consumer_groups", {name: c.group for name, c in platform.consumers.items()})
    pulumi.export("dead_letter_topics", platform.dead_letter_topics)
    # What `eventinfra dlq` reads (docs/operations.md): redrive writes to the retry topics, as
    # the ops user, and commits its progress in the ops group.
    pulumi.export("retry_topics", platform.retry_topics)
    pulumi.export("ops_group", platform.ops_group)
    pulumi.export("ops_secret", platform.ops_secret)
    pulumi.export(
        "credential_secrets",
        {
            **{name: p.secret_name for name, p in platform.producers.items()},
            **{name: c.credentials.secret_name for name, c in platform.consumers.items()},
        },
    )


def export_aws(platform: SnsSqsPlatform) -> None:
    pulumi.export("topic_arns", platform.topic_arns)
    pulumi.export("queue_urls", platform.consumer_queue_urls)
    pulumi.export("queue_arns", platform.consumer_queue_arns)
    pulumi.export("dead_letter_queue_arns", platform.consumer_dead_letter_queue_arns)
    pulumi.export("consumer_policy_arns", platform.consumer_policy_arns)
    pulumi.export("producer_policy_arns", platform.producer_policy_arns)
    pulumi.export("producer_events", platform.producer_events)
    pulumi.export("parking_queue_urls", platform.parking_queue_urls)
    pulumi.export("alerts_topic_arn", platform.alerts_topic_arn)


if config.settings.broker == "rabbitmq":
    export_rabbitmq(RabbitMQPlatform.from_config("events", config))
elif config.settings.broker == "kafka":
    export_kafka(KafkaPlatform.from_config("events", config))
else:
    export_aws(SnsSqsPlatform.from_config("events", config))
