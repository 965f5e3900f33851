"""RabbitMQEvent: an event's durable topic exchange, with unroutable messages parked, never lost."""

from typing import Any, NotRequired, TypedDict

import pulumi

from eventinfra.ordering import after_caller
from eventinfra.rabbitmq import defaults, naming
from eventinfra.rabbitmq.resources import topology_object


class RabbitMQEventArgs(TypedDict):
    """One event on one broker's vhost."""

    event: str
    """The event name: the exchange's name and the routing key of every message on it."""
    object_name: str
    """Base of the Kubernetes object names (a DNS-safe form of the event name)."""
    namespace: pulumi.Input[str]
    """The broker's namespace, where the topology objects go."""
    cluster_name: pulumi.Input[str]
    """The RabbitmqCluster the objects belong to."""
    vhost: pulumi.Input[str]
    """The vhost of the exchanges and the parking queue."""
    labels: NotRequired[dict[str, str]]
    """Labels of every object."""


class RabbitMQEvent(pulumi.ComponentResource):
    """A topic exchange per event, whose alternate exchange parks what no queue is bound for.

    Without a consumer bound (or with none matching) a message would be dropped even after a
    publisher confirm; the alternate exchange (set by policy, as exchange arguments are
    immutable) routes it to a durable quorum parking queue instead.
    """

    exchange_name: str
    """The event's topic exchange: publishers send here, with the event name as routing key."""
    parking_queue_name: str
    """The quorum queue that keeps what no consumer's binding matched."""

    def __init__(
        self, name: str, args: RabbitMQEventArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eventinfra:index:RabbitMQEvent", name, None, opts)
        event, base = args["event"], args["object_name"]
        namespace, vhost, labels = args["namespace"], args["vhost"], args.get("labels", {})
        self.exchange_name = naming.event_exchange(event)
        unroutable = naming.unroutable_exchange(event)
        self.parking_queue_name = naming.parking_queue(event)

        def resource(role: str, kind: str, spec: dict[str, Any], **extra: Any) -> None:
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

        resource(
            "exchange",
            "Exchange",
            {
                "name": self.exchange_name,
                "vhost": vhost,
                "type": "topic",
                "durable": True,
                "autoDelete": False,
            },
        )
        resource(
            "unroutable",
            "Exchange",
            {
                "name": unroutable,
                "vhost": vhost,
                "type": "fanout",
                "durable": True,
                "autoDelete": False,
            },
        )
        resource(
            "parking",
            "Queue",
            {
                "name": self.parking_queue_name,
                "vhost": vhost,
                "type": defaults.QUEUE_TYPE,
                "durable": True,
                "autoDelete": False,
                "arguments": {"x-queue-type": defaults.QUEUE_TYPE},
                "deletionPolicy": defaults.QUEUE_DELETION_POLICY,
            },
            # Removing the event from the topology must not delete what is parked.
            retain_on_delete=True,
        )
        resource(
            "parking-binding",
            "Binding",
            {
                "vhost": vhost,
                "source": unroutable,
                "destination": self.parking_queue_name,
                "destinationType": "queue",
                "routingKey": "",
            },
        )
        resource(
            "policy",
            "Policy",
            {
                "name": f"{self.exchange_name}{naming.UNROUTABLE_SUFFIX}",
                "vhost": vhost,
                "pattern": naming.anchored(self.exchange_name),
                "applyTo": "exchanges",
                "priority": defaults.POLICY_PRIORITY,
                "definition": {"alternate-exchange": unroutable},
            },
        )
        self.register_outputs(
            {"exchange_name": self.exchange_name, "parking_queue_name": self.parking_queue_name}
        )
