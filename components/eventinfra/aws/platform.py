"""SnsSqsPlatform: every topic, queue, consumer and alarm of one environment's topology."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from eventinfra.aws import naming
from eventinfra.aws.alarms import AlarmTarget
from eventinfra.aws.consumer import EventConsumer, EventConsumerArgs, SubscriptionArgs
from eventinfra.aws.dashboard import dashboards
from eventinfra.aws.key import EventKey
from eventinfra.aws.parking import ParkingQueue
from eventinfra.aws.producer import EventProducer
from eventinfra.aws.topic import EventTopic
from eventinfra.config.loader import PlatformConfig


class SnsSqsPlatform(pulumi.ComponentResource):
    """The AWS (SNS/SQS) event platform for a validated configuration.

    Every child is named after the platform (`<name>-event-<event>`, `<name>-producer-<producer>`,
    `<name>-consumer-<consumer>`, `<name>-parking-<event>`, as `RabbitMQPlatform` names its own),
    so two platforms can share a stack.
    """

    topic_arns: dict[str, pulumi.Output[str]]
    """Topic ARN by event name."""
    consumers: dict[str, EventConsumer]
    """Consumer components by name (queue URL/ARN, DLQ ARN, policies)."""
    producer_policy_arns: dict[str, pulumi.Output[str]]
    """Publish-policy ARN by producer name."""
    parking_queue_urls: dict[str, pulumi.Output[str]]
    """Parking-queue URL by unconsumed event name."""
    alerts_topic_arn: pulumi.Output[str]
    """The topic every alarm notifies."""

    def __init__(
        self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The type token is part of every URN below the platform: it keeps the class's first name,
        # `EventPlatform`, because a new token would make every existing stack replace everything.
        super().__init__("eventinfra:index:EventPlatform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def formerly(old_name: str) -> pulumi.ResourceOptions:
            # Children used to be named after the topology alone, so two platforms collided. The
            # alias lets a stack deployed that way keep its resources; the engine carries it down
            # to grandchildren named `<child name>-<role>`. Old URNs hold no platform name, so a
            # second platform would claim them too: upgrade first, add it in a later update.
            return pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=old_name)])

        settings, topology, prefix = config.settings, config.topology, config.prefix
        tags = {"environment": config.stack, **settings.tags}

        key = EventKey(
            f"{name}-key",
            {
                "description": f"eventinfra {config.stack}: topics, queues and tables",
                "service_principals": ["cloudwatch.amazonaws.com"],
                "tags": tags,
            },
            opts=child,
        )
        alerts = EventTopic(
            f"{name}-alerts",
            {
                "topic_name": f"{prefix}-eventinfra-alerts",
                "kms_key_arn": key.key_arn,
                "publisher_services": ["cloudwatch.amazonaws.com"],
                "tags": tags,
            },
            opts=child,
        )
        if settings.alarms.email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email",
                topic=alerts.topic_arn,
                protocol="email",
                endpoint=settings.alarms.email,
                opts=child,
            )
        alarm_target = AlarmTarget(alerts.topic_arn, settings.alarms.period_seconds)

        producer_roles: dict[str, list[str]] = {}
        producers_without_role: set[str] = set()
        for producer in topology.producers.values():
            for event in producer.publishes:
                if producer.role_arn:
                    producer_roles.setdefault(event, []).append(producer.role_arn)
                else:
                    producers_without_role.add(event)
        topics = {
            event_name: EventTopic(
                f"{name}-event-{naming.event_slug(event_name)}",
                {
                    "topic_name": naming.topic_name(prefix, event_name, event.fifo),
                    "fifo": event.fifo,
                    "kms_key_arn": key.key_arn,
                    "publisher_role_arns": producer_roles.get(event_name, []),
                    # Every producer is a known role: nobody else may publish.
                    "only_publisher_roles": event_name not in producers_without_role,
                    "tags": tags,
                    "protect": settings.protect,
                },
                opts=formerly(naming.event_slug(event_name)),
            )
            for event_name, event in topology.events.items()
        }

        self.producer_policy_arns = {
            producer_name: EventProducer(
                f"{name}-producer-{producer_name}",
                {
                    "producer": producer_name,
                    "topic_arns": [topics[e].topic_arn for e in producer.publishes],
                    "kms_key_arn": key.key_arn,
                    # A role of another account is granted by the topic policy; attaching here
                    # would reach a same-named role of this account.
                    "role_name": producer.role_arn.rsplit("/", 1)[-1]
                    if producer.role_arn and not producer.cross_account
                    else None,
                    "tags": tags,
                },
                opts=formerly(producer_name),
            ).policy_arn
            for producer_name, producer in topology.producers.items()
        }

        self.consumers = {
            consumer_name: EventConsumer(
                f"{name}-consumer-{consumer_name}",
                consumer_args(
                    config,
                    consumer_name,
                    {event: topic.topic_arn for event, topic in topics.items()},
                    key.key_arn,
                    alarm_target,
                ),
                opts=formerly(consumer_name),
            )
            for consumer_name in topology.consumers
        }

        self.parking_queue_urls = {
            event_name: ParkingQueue(
                f"{name}-parking-{naming.event_slug(event_name)}",
                {
                    "queue_name": naming.parking_queue_name(
                        prefix, event_name, topology.events[event_name].fifo
                    ),
                    "topic_arn": topics[event_name].topic_arn,
                    "fifo": topology.events[event_name].fifo,
                    "kms_key_arn": key.key_arn,
                    "alarm_target": alarm_target,
                    "tags": tags,
                    "protect": settings.protect,
                },
                opts=formerly(f"{naming.event_slug(event_name)}-parking"),
            ).queue_url
            for event_name in config.unconsumed_events()
        }

        dashboards(name, config, parent=self)

        self.topic_arns = {event: topic.topic_arn for event, topic in topics.items()}
        self.alerts_topic_arn = alerts.topic_arn
        self.register_outputs(
            {
                "topic_arns": self.topic_arns,
                "producer_policy_arns": self.producer_policy_arns,
                "parking_queue_urls": self.parking_queue_urls,
                "alerts_topic_arn": self.alerts_topic_arn,
            }
        )


def consumer_args(
    config: PlatformConfig,
    name: str,
    topic_arns: dict[str, pulumi.Output[str]],
    kms_key_arn: pulumi.Input[str],
    alarm_target: AlarmTarget,
) -> EventConsumerArgs:
    """The one mapping from a validated consumer config to its component's Args."""
    consumer = config.topology.consumers[name]
    settings, prefix = config.settings, config.prefix
    fifo = config.consumer_fifo(name)
    subscriptions: list[SubscriptionArgs] = [
        {
            "label": naming.event_slug(s.event),
            "topic_arn": topic_arns[s.event],
            "filter_policy": s.filter,
        }
        for s in consumer.subscribes
    ]
    args: EventConsumerArgs = {
        "consumer": name,
        "queue_name": naming.queue_name(prefix, name, fifo),
        "dead_letter_queue_name": naming.dead_letter_queue_name(prefix, name, fifo),
        "fifo": fifo,
        "subscriptions": subscriptions,
        "kms_key_arn": kms_key_arn,
        "max_receive_count": config.max_receive_count(name),
        "message_retention_seconds": config.retention_seconds(name),
        "visibility_timeout_seconds": config.visibility_timeout_seconds(name),
        "runtime": "lambda" if consumer.runtime == "lambda" else "external",
        "idempotency": (
            {
                "table_name": f"{prefix}-{name}-idempotency",
                "key": consumer.idempotency.key,
                "ttl_seconds": consumer.idempotency.ttl_seconds,
            }
            if consumer.idempotency.enabled
            else None
        ),
        "alarm_target": alarm_target,
        "queue_age_alarm_seconds": settings.alarms.queue_age_seconds,
        "tags": {"environment": config.stack, **settings.tags},
        "protect": settings.protect,
    }
    if consumer.lambda_ is not None:
        function = consumer.lambda_
        args["lambda_function"] = {
            "function_name": naming.function_name(prefix, name),
            "code_path": str(config.topology_dir / function.code),
            "handler": function.handler,
            "runtime": function.runtime,
            "timeout_seconds": function.timeout_seconds,
            "memory_mb": function.memory_mb,
            "environment": dict(function.environment),
            "batch_size": function.batch_size,
            "batch_window_seconds": function.batch_window_seconds,
            "max_concurrency": function.max_concurrency,
            "log_retention_days": settings.log_retention_days,
            "errors_threshold": settings.alarms.lambda_errors,
        }
    return args


EventPlatform = SnsSqsPlatform
"""The platform's first name, kept so existing programs run unchanged."""
