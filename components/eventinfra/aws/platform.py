"""EventPlatform: every topic, queue, consumer and alarm of one environment's topology."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults, naming
from eventinfra.aws.alarms import AlarmTarget
from eventinfra.aws.consumer import EventConsumer, EventConsumerArgs, SubscriptionArgs
from eventinfra.aws.key import EventKey
from eventinfra.aws.parking import ParkingQueue
from eventinfra.aws.producer import EventProducer
from eventinfra.aws.topic import EventTopic
from eventinfra.config.loader import PlatformConfig


class EventPlatform(pulumi.ComponentResource):
    """The AWS (SNS/SQS) event platform for a validated configuration."""

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
        super().__init__("eventinfra:index:EventPlatform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
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
                naming.event_slug(event_name),
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
                opts=child,
            )
            for event_name, event in topology.events.items()
        }

        self.producer_policy_arns = {
            producer_name: EventProducer(
                producer_name,
                {
                    "topic_arns": [topics[e].topic_arn for e in producer.publishes],
                    "kms_key_arn": key.key_arn,
                    # A role of another account is granted by the topic policy; attaching here
                    # would reach a same-named role of this account.
                    "role_name": producer.role_arn.rsplit("/", 1)[-1]
                    if producer.role_arn and not producer.cross_account
                    else None,
                    "tags": tags,
                },
                opts=child,
            ).policy_arn
            for producer_name, producer in topology.producers.items()
        }

        self.consumers = {
            consumer_name: EventConsumer(
                consumer_name,
                consumer_args(
                    config,
                    consumer_name,
                    {event: topic.topic_arn for event, topic in topics.items()},
                    key.key_arn,
                    alarm_target,
                ),
                opts=child,
            )
            for consumer_name in topology.consumers
        }

        self.parking_queue_urls = {
            event_name: ParkingQueue(
                f"{naming.event_slug(event_name)}-parking",
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
                opts=child,
            ).queue_url
            for event_name in config.unconsumed_events()
        }

        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        consumer_names = list(topology.consumers)
        per_page = defaults.DASHBOARD_MAX_WIDGETS // WIDGETS_PER_CONSUMER
        for page, first in enumerate(range(0, max(len(consumer_names), 1), per_page)):
            suffix = f"-{page + 1}" if page else ""
            aws.cloudwatch.Dashboard(
                f"{name}-dashboard{suffix}",
                dashboard_name=f"{prefix}-eventinfra{suffix}",
                dashboard_body=dashboard_body(
                    config, consumer_names[first : first + per_page], region
                ).apply(json.dumps),
                opts=child,
            )

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


WIDGETS_PER_CONSUMER = 3


def dashboard_body(
    config: PlatformConfig, consumers: list[str], region: pulumi.Input[str]
) -> pulumi.Output[dict[str, object]]:
    """One row per consumer: queue depth and age, and its dead-letter queue's depth."""

    def body(region_name: str) -> dict[str, object]:
        widgets: list[dict[str, object]] = []
        for row, name in enumerate(consumers):
            fifo = config.consumer_fifo(name)
            queue = naming.queue_name(config.prefix, name, fifo)
            dead_letters = naming.dead_letter_queue_name(config.prefix, name, fifo)
            charts = [
                ("Messages waiting", "ApproximateNumberOfMessagesVisible", queue),
                ("Oldest message (s)", "ApproximateAgeOfOldestMessage", queue),
                ("Dead letters", "ApproximateNumberOfMessagesVisible", dead_letters),
            ]
            for column, (title, metric, queue_name) in enumerate(charts):
                widgets.append(
                    {
                        "type": "metric",
                        "x": column * 8,
                        "y": row * 6,
                        "width": 8,
                        "height": 6,
                        "properties": {
                            "title": f"{name}: {title}",
                            "region": region_name,
                            "stat": "Maximum",
                            "metrics": [["AWS/SQS", metric, "QueueName", queue_name]],
                        },
                    }
                )
        return {"widgets": widgets}

    return pulumi.Output.from_input(region).apply(body)
