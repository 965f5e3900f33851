"""RabbitMQConsumer: a consumer's quorum queue, dead-letter path, credentials and alerts."""

from typing import Any, NotRequired, TypedDict
from urllib.parse import quote

import pulumi

from eventinfra.contract import raise_for
from eventinfra.kubernetes.alerts import alert_rule, promql_series
from eventinfra.kubernetes.naming import k8s_slug
from eventinfra.ordering import after_caller
from eventinfra.rabbitmq import defaults, naming
from eventinfra.rabbitmq import validation as rules
from eventinfra.rabbitmq.container_consumer import ContainerConsumer, ContainerConsumerArgs
from eventinfra.rabbitmq.resources import PROMETHEUS_API_VERSION, custom_resource, topology_object
from eventinfra.rabbitmq.user import RabbitMQUser


class RabbitMQConsumerArgs(TypedDict):
    """One consumer: its events, its delivery limit, where its broker is, and its workload."""

    consumer: str
    """The consumer's name: its queue's name and its RabbitMQ user's."""
    object_name: str
    """Base of the Kubernetes object names (`<prefix>-<consumer>`)."""
    events: list[str]
    """Subscribed events: one binding each, with the event name as the routing key."""
    max_receive_count: int
    """Deliveries before a message is dead-lettered (the queue's delivery-limit)."""
    namespace: pulumi.Input[str]
    """The broker's namespace, where the consumer's objects go."""
    cluster_name: pulumi.Input[str]
    """The RabbitmqCluster the queues belong to."""
    vhost: str
    """The vhost of the consumer's queues."""
    host: str
    """The broker's in-cluster host name, for the consumer's `uri`."""
    amqp_port: int
    """The broker's AMQP port (`RabbitMQBroker.amqp_port`)."""
    tls: bool
    """Whether the broker speaks TLS only (`RabbitMQBroker.tls`): `amqps` in the `uri`."""
    queue_age_alert_seconds: int
    """Alert when ready messages have waited continuously this long."""
    scale_to_zero: bool
    """No consumer is expected while the queue is empty (KEDA minimum 0 replicas)."""
    labels: dict[str, str]
    """Labels of every object."""
    container: NotRequired[ContainerConsumerArgs | None]
    """The container workload; without it the consumer is external (queue and credentials)."""


class RabbitMQConsumer(pulumi.ComponentResource):
    """A durable quorum queue bound to the consumer's events, with a dead-letter path by policy.

    Queue arguments are immutable, so only `x-queue-type` is one; the dead-letter exchange,
    `delivery-limit`, at-least-once dead-lettering and `overflow: reject-publish` come from a
    Policy and can change later. Both queues are retained when removed from the program.
    """

    queue_name: str
    """The consumer's quorum queue."""
    dead_letter_queue_name: str
    """Where messages go after `max_receive_count` deliveries."""
    secret_name: str
    """The Secret with the consumer's RabbitMQ credentials and `uri`."""

    # `credentials` and `workload` are set in __init__, not declared here: a declared attribute
    # is a schema output, and the schema cannot hold a component (the analyzer only references
    # resources of packages with a `pulumi_type`). Other languages get `secret_name`.

    def __init__(
        self, name: str, args: RabbitMQConsumerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        raise_for(
            "RabbitMQConsumer",
            name,
            [
                *rules.consumer_name_problems(args["consumer"]),
                *rules.event_name_problems(args["events"]),
            ],
        )
        super().__init__("eventinfra:index:RabbitMQConsumer", name, None, opts)
        consumer, base = args["consumer"], args["object_name"]
        namespace, vhost, labels = args["namespace"], args["vhost"], args["labels"]
        self.queue_name = naming.consumer_queue(consumer)
        self.dead_letter_queue_name = naming.dead_letter_queue(consumer)
        dead_letter_exchange = naming.dead_letter_exchange(consumer)

        def topology(role: str, kind: str, spec: dict[str, Any], **extra: Any) -> None:
            topology_object(
                f"{name}-{role}",
                kind,
                spec,
                object_name=f"{base}-{role}",
                namespace=namespace,
                cluster_name=args["cluster_name"],
                labels=labels,
                opts=after_caller(opts, self, **extra),
            )

        quorum = {
            "vhost": vhost,
            "type": defaults.QUEUE_TYPE,
            "durable": True,
            "autoDelete": False,
            "arguments": {"x-queue-type": defaults.QUEUE_TYPE},
            "deletionPolicy": defaults.QUEUE_DELETION_POLICY,
        }
        # Removing a consumer never deletes its messages: the operator keeps the queue when its
        # resource goes (deletionPolicy), and Pulumi keeps the resource (retain_on_delete), for
        # operators older than deletionPolicy (see k8s_schemas/SOURCES.md).
        topology("queue", "Queue", {"name": self.queue_name, **quorum}, retain_on_delete=True)
        topology(
            "dead-letter-queue",
            "Queue",
            {"name": self.dead_letter_queue_name, **quorum},
            retain_on_delete=True,
        )
        # Fanout: dead-lettered messages keep their event routing key, and all of them belong
        # in the one dead-letter queue.
        topology(
            "dead-letter-exchange",
            "Exchange",
            {
                "name": dead_letter_exchange,
                "vhost": vhost,
                "type": "fanout",
                "durable": True,
                "autoDelete": False,
            },
        )
        topology(
            "dead-letter-binding",
            "Binding",
            {
                "vhost": vhost,
                "source": dead_letter_exchange,
                "destination": self.dead_letter_queue_name,
                "destinationType": "queue",
                "routingKey": "",
            },
        )
        for event in args["events"]:
            topology(
                f"binding-{k8s_slug(event)}",
                "Binding",
                {
                    "vhost": vhost,
                    "source": naming.event_exchange(event),
                    "destination": self.queue_name,
                    "destinationType": "queue",
                    "routingKey": event,
                },
            )
        topology(
            "policy",
            "Policy",
            {
                "name": self.queue_name,
                "vhost": vhost,
                "pattern": naming.anchored(self.queue_name),
                "applyTo": "queues",
                "priority": defaults.POLICY_PRIORITY,
                "definition": {
                    "dead-letter-exchange": dead_letter_exchange,
                    "delivery-limit": args["max_receive_count"],
                    "dead-letter-strategy": defaults.DEAD_LETTER_STRATEGY,
                    "overflow": defaults.OVERFLOW,
                },
            },
        )

        scheme = "amqps" if args["tls"] else "amqp"
        # The consumer's user: read on its own queue, nothing else.
        self.credentials: RabbitMQUser = RabbitMQUser(
            f"{name}-rabbitmq",
            {
                "namespace": namespace,
                "cluster_name": args["cluster_name"],
                "username": consumer,
                "secret_name": f"{base}-rabbitmq",
                "object_name": base,
                "vhost": vhost,
                "permissions": {
                    "configure": defaults.NOTHING,
                    "write": defaults.NOTHING,
                    "read": naming.anchored(self.queue_name),
                },
                "uri_template": (
                    f"{scheme}://{{username}}:{{password}}@{args['host']}:{args['amqp_port']}/"
                    + quote(vhost, safe="")
                ),
                "extra_data": {
                    "host": args["host"],
                    "port": str(args["amqp_port"]),
                    "vhost": vhost,
                    "queue": self.queue_name,
                },
                "labels": labels,
            },
            opts=after_caller(opts, self),
        )
        self.secret_name = self.credentials.secret_name

        custom_resource(
            f"{name}-alerts",
            PROMETHEUS_API_VERSION,
            "PrometheusRule",
            {"groups": [alert_group(consumer, vhost, args)]},
            object_name=f"{base}-alerts",
            namespace=namespace,
            labels=labels,
            opts=after_caller(opts, self),
        )

        # The Deployment and KEDA objects; None for an external consumer.
        container = args.get("container")
        self.workload: ContainerConsumer | None = (
            ContainerConsumer(f"{name}-workload", container, opts=after_caller(opts, self))
            if container is not None
            else None
        )
        self.register_outputs(
            {
                "queue_name": self.queue_name,
                "dead_letter_queue_name": self.dead_letter_queue_name,
                "secret_name": self.secret_name,
            }
        )


def alert_group(consumer: str, vhost_name: str, args: RabbitMQConsumerArgs) -> dict[str, Any]:
    """DLQ not empty, no consumer, ready messages growing or waiting too long."""

    def series(metric: str, queue: str) -> str:
        return promql_series(metric, vhost=vhost_name, queue=queue)

    queue = naming.consumer_queue(consumer)
    dead_letters = naming.dead_letter_queue(consumer)
    ready = series("rabbitmq_detailed_queue_messages_ready", queue)
    no_consumer = f"{series('rabbitmq_detailed_queue_consumers', queue)} == 0"
    if args["scale_to_zero"]:
        no_consumer += f" and {ready} > 0"
    age = args["queue_age_alert_seconds"]
    window = defaults.READY_GROWING_WINDOW
    labels = {"consumer": consumer, "queue": queue}

    return {
        "name": f"eventinfra-{consumer}",
        "rules": [
            alert_rule(
                "EventConsumerDeadLetters",
                f"{series('rabbitmq_detailed_queue_messages', dead_letters)} > 0",
                defaults.DEAD_LETTER_ALERT_FOR,
                "critical",
                f"{dead_letters} holds messages {consumer} failed to process.",
                labels=labels,
            ),
            alert_rule(
                "EventConsumerNoConsumers",
                no_consumer,
                defaults.NO_CONSUMER_ALERT,
                "critical",
                f"Nothing has consumed from {queue} for 10 minutes.",
                labels=labels,
            ),
            alert_rule(
                "EventConsumerBacklogGrowing",
                f"deriv({ready}[{window}]) > 0 and {ready} > 0",
                window,
                "warning",
                f"Ready messages in {queue} have grown for {window}.",
                labels=labels,
            ),
            # RabbitMQ exports no age of the oldest message; a queue that has not once been
            # empty for the whole window holds a message at least that old.
            alert_rule(
                "EventConsumerMessagesTooOld",
                f"min_over_time({ready}[{age}s]) > 0",
                defaults.DEAD_LETTER_ALERT_FOR,
                "warning",
                f"{queue} has not been empty for {age} seconds.",
                labels=labels,
            ),
        ],
    }
