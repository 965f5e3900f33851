"""SnsSqsPlatform: every topic, queue, consumer and alarm of one environment's topology."""

import functools
import json
from collections.abc import Callable
from typing import Final, Self

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults, naming, validation
from eventinfra.aws.alarms import AlarmTargetArgs
from eventinfra.aws.consumer import (
    ConsumerRuntime,
    EventConsumer,
    EventConsumerArgs,
    SubscriptionArgs,
)
from eventinfra.aws.dashboard import dashboards
from eventinfra.aws.key import EventKey
from eventinfra.aws.parking import ParkingQueue
from eventinfra.aws.platform_args import (
    SnsSqsPlatformArgs,
    args_problem,
    platform_config_from_args,
)
from eventinfra.aws.producer import EventProducer
from eventinfra.aws.topic import EventTopic
from eventinfra.config.loader import PlatformConfig, topology_problem
from eventinfra.errors import ConfigError, Problem
from eventinfra.keypaths import KeyPath

PlaceProblem = Callable[[KeyPath, str], Problem]

TYPE_TOKEN: Final = "eventinfra:index:SnsSqsPlatform"
"""The token of a platform built from args, as the package schema names it."""
FIRST_TYPE_TOKEN: Final = "eventinfra:index:EventPlatform"
"""The class's first token, kept for platforms built from a `PlatformConfig`: the token is part
of every URN below the platform, so a new one would make existing stacks replace everything."""


class SnsSqsPlatform(pulumi.ComponentResource):
    """One environment's SNS/SQS event platform: a topic per event, a queue with a dead-letter
    queue, an idempotency table and alarms per consumer, a publish policy per producer.

    Topics and queues are encrypted with a rotating customer-managed key and TLS-only. Every
    child is named after the platform (`<name>-event-<event>`, `<name>-producer-<producer>`,
    `<name>-consumer-<consumer>`, `<name>-parking-<event>`), so two platforms can share a stack.
    """

    topic_arns: dict[str, pulumi.Output[str]]
    """Topic ARN by event name."""
    producer_policy_arns: dict[str, pulumi.Output[str]]
    """Publish-policy ARN by producer name; attach it to the producer's role."""
    producer_events: dict[str, pulumi.Output[str]]
    """The runtime's EVENTINFRA_EVENTS (JSON) by producer name: topics and filtered fields."""
    consumer_queue_urls: dict[str, pulumi.Output[str]]
    """Queue URL by consumer name."""
    consumer_queue_arns: dict[str, pulumi.Output[str]]
    """Queue ARN by consumer name."""
    consumer_dead_letter_queue_urls: dict[str, pulumi.Output[str]]
    """Dead-letter queue URL by consumer name, for inspection and redrive."""
    consumer_dead_letter_queue_arns: dict[str, pulumi.Output[str]]
    """Dead-letter queue ARN by consumer name."""
    consumer_policy_arns: dict[str, pulumi.Output[str]]
    """Managed-policy ARN by external consumer name; attach it to the consumer's identity."""
    parking_queue_urls: dict[str, pulumi.Output[str]]
    """Parking-queue URL by name of an event no consumer subscribes to."""
    alerts_topic_arn: pulumi.Output[str]
    """The topic every alarm notifies."""

    def __init__(
        self, name: str, args: SnsSqsPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Validated before the component registers: a mistake in the args declares nothing.
        config = platform_config_from_args(args, stack=pulumi.get_stack())
        # A Python program that moves from `from_config` to args keeps its resources.
        formerly = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=FIRST_TYPE_TOKEN)])
        self._build(
            TYPE_TOKEN, name, config, pulumi.ResourceOptions.merge(opts, formerly), args_problem
        )

    @classmethod
    def from_config(
        cls, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ) -> Self:
        """The platform of a validated configuration, like `load_stack_config()` gives."""
        # `__init__` takes language-neutral args; this route skips it, not the validation
        # (a PlatformConfig is validated when it is loaded).
        platform = cls.__new__(cls)
        place = functools.partial(topology_problem, config)
        platform._build(FIRST_TYPE_TOKEN, name, config, opts, place)
        return platform

    def _build(
        self,
        type_token: str,
        name: str,
        config: PlatformConfig,
        opts: pulumi.ResourceOptions | None,
        place: PlaceProblem,
    ) -> None:
        super().__init__(type_token, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def formerly(old_name: str) -> pulumi.ResourceOptions:
            # Children used to be named after the topology alone, so two platforms collided. The
            # alias lets a stack deployed that way keep its resources; the engine carries it down
            # to grandchildren named `<child name>-<role>`. Old URNs hold no platform name, so a
            # second platform would claim them too: upgrade first, add it in a later update.
            return pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=old_name)])

        settings, topology, prefix = config.settings, config.topology, config.prefix
        tags = {"environment": config.stack, **settings.tags}
        verified_roles = verified_producer_roles(config, place, self)

        key = EventKey(
            f"{name}-key",
            {
                "description": f"eventinfra {config.stack}: topics, queues and tables",
                "service_principals": ["cloudwatch.amazonaws.com"],
                "publisher_role_arns": [
                    verified_roles[producer_name]
                    for producer_name, producer in topology.producers.items()
                    if producer_name in verified_roles and producer.cross_account
                ],
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
        alarm_target: AlarmTargetArgs = {
            "topic_arn": alerts.topic_arn,
            "period_seconds": settings.alarms.period_seconds,
        }

        producer_roles: dict[str, list[pulumi.Output[str]]] = {}
        producers_without_role: set[str] = set()
        for producer_name, producer in topology.producers.items():
            for event in producer.publishes:
                if producer_name in verified_roles:
                    producer_roles.setdefault(event, []).append(verified_roles[producer_name])
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
                    "tracing": settings.tracing,
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
                    "role_name": verified_roles[producer_name].apply(_role_name)
                    if producer_name in verified_roles and not producer.cross_account
                    else None,
                    "tags": tags,
                },
                opts=formerly(producer_name),
            ).policy_arn
            for producer_name, producer in topology.producers.items()
        }

        self.producer_events = {
            producer_name: producer_events(
                config, producer.publishes, {e: t.topic_arn for e, t in topics.items()}
            )
            for producer_name, producer in topology.producers.items()
        }

        # Python only (not in the schema): the consumer components themselves.
        self.consumers: dict[str, EventConsumer] = {
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

        consumers = self.consumers
        self.topic_arns = {event: topic.topic_arn for event, topic in topics.items()}
        self.consumer_queue_urls = {n: c.queue_url for n, c in consumers.items()}
        self.consumer_queue_arns = {n: c.queue_arn for n, c in consumers.items()}
        self.consumer_dead_letter_queue_urls = {
            n: c.dead_letter_queue_url for n, c in consumers.items()
        }
        self.consumer_dead_letter_queue_arns = {
            n: c.dead_letter_queue_arn for n, c in consumers.items()
        }
        self.consumer_policy_arns = {
            n: c.consumer_policy_arn
            for n, c in consumers.items()
            if c.consumer_policy_arn is not None
        }
        self.alerts_topic_arn = alerts.topic_arn
        self.register_outputs(
            {
                "topic_arns": self.topic_arns,
                "producer_policy_arns": self.producer_policy_arns,
                "producer_events": self.producer_events,
                "consumer_queue_urls": self.consumer_queue_urls,
                "consumer_queue_arns": self.consumer_queue_arns,
                "consumer_dead_letter_queue_urls": self.consumer_dead_letter_queue_urls,
                "consumer_dead_letter_queue_arns": self.consumer_dead_letter_queue_arns,
                "consumer_policy_arns": self.consumer_policy_arns,
                "parking_queue_urls": self.parking_queue_urls,
                "alerts_topic_arn": self.alerts_topic_arn,
            }
        )


def _role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


def verified_producer_roles(
    config: PlatformConfig, place: PlaceProblem, parent: pulumi.Resource
) -> dict[str, pulumi.Output[str]]:
    """Each producer's role ARN by producer name, known once its partition and account are
    checked against the deploying ones (from the provider's credentials, at plan time).

    Every mismatch is raised together as one ConfigError placed by `place`, before any ARN
    reaches a topic policy or a role name reaches a policy attachment.
    """
    roles = {
        name: (producer.role_arn, producer.cross_account)
        for name, producer in config.topology.producers.items()
        if producer.role_arn
    }
    if not roles:
        return {}
    invoke = pulumi.InvokeOptions(parent=parent)

    def verify(deploying: list[str]) -> dict[str, str]:
        account_id, partition = deploying
        problems = [
            place(finding.key_path, finding.message)
            for name, (arn, cross_account) in roles.items()
            for finding in validation.role_account_problems(
                arn,
                account_id=account_id,
                partition=partition,
                cross_account=cross_account,
                key=("producers", name, "role_arn"),
            )
        ]
        if problems:
            raise ConfigError(problems)
        return {name: arn for name, (arn, _) in roles.items()}

    verified = pulumi.Output.all(
        aws.get_caller_identity_output(opts=invoke).account_id,
        aws.get_partition_output(opts=invoke).partition,
    ).apply(verify)

    def role_of(name: str) -> pulumi.Output[str]:
        return verified.apply(lambda arns: arns[name])

    return {name: role_of(name) for name in roles}


def filter_attributes(config: PlatformConfig, event: str) -> list[str]:
    """The payload fields any subscription to `event` filters on, sorted: the runtime's SNS
    publisher copies them into message attributes, where SNS's attribute filters look."""
    return sorted(
        {
            key
            for consumer in config.topology.consumers.values()
            for subscription in consumer.subscribes
            if subscription.event == event and subscription.filter
            for key in subscription.filter
        }
    )


def producer_events(
    config: PlatformConfig,
    publishes: list[str],
    topic_arns: dict[str, pulumi.Output[str]],
) -> pulumi.Output[str]:
    """A producer's `EVENTINFRA_EVENTS` (runtime/CONTRACT.md, role `sns-producer`)."""
    events = config.topology.events

    def render(arns: list[str]) -> str:
        entries = {
            event: {
                "destination": arn,
                "schema_version": defaults.EVENT_SCHEMA_VERSION,
                "fifo": events[event].fifo,
                "group_key": events[event].group_key,
                "attributes": filter_attributes(config, event),
            }
            for event, arn in zip(publishes, arns, strict=True)
        }
        return json.dumps(entries, sort_keys=True, separators=(",", ":"))

    return pulumi.Output.all(*(topic_arns[e] for e in publishes)).apply(render)


def consumer_args(
    config: PlatformConfig,
    name: str,
    topic_arns: dict[str, pulumi.Output[str]],
    kms_key_arn: pulumi.Input[str],
    alarm_target: AlarmTargetArgs,
) -> EventConsumerArgs:
    """The one mapping from a validated consumer config to its component's Args."""
    consumer = config.topology.consumers[name]
    settings, prefix = config.settings, config.prefix
    fifo = config.consumer_fifo(name)
    events = config.topology.events
    subscriptions: list[SubscriptionArgs] = [
        {
            "label": naming.event_slug(s.event),
            "topic_arn": topic_arns[s.event],
            "filter_policy": s.filter,
            "event": s.event,
            "schema_file": str(config.topology_dir / schema)
            if (schema := events[s.event].payload_schema)
            else None,
            "group_key": events[s.event].group_key,
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
        "runtime": ConsumerRuntime.LAMBDA
        if consumer.runtime == "lambda"
        else ConsumerRuntime.EXTERNAL,
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
            "tracing": settings.tracing if function.tracing is None else function.tracing,
        }
    return args


class EventPlatform(SnsSqsPlatform):
    """The platform's first name and signature, `EventPlatform(name, config)`, kept so existing
    Python programs run unchanged; new code calls `SnsSqsPlatform.from_config(name, config)`."""

    def __init__(
        self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self._build(
            FIRST_TYPE_TOKEN, name, config, opts, functools.partial(topology_problem, config)
        )
