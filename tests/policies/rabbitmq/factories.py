"""A compliant RabbitMQ topology as the operators' resources record it, and changed copies."""

from __future__ import annotations

import copy
from typing import Any

from tests.policies.factories import Res
from tests.policies.kubernetes.factories import deployment, scaled_object

GROUP = "kubernetes:rabbitmq.com/v1beta1"
CLUSTER_REFERENCE = {"name": "k8s-rabbitmq", "namespace": "events"}
QUEUE_URN = f"urn:pulumi:dev::shop::{GROUP}:Queue::mailer-queue"


def cluster(**spec: Any) -> Res:
    return Res(
        f"{GROUP}:RabbitmqCluster",
        "broker-cluster",
        {
            "metadata": {"name": "k8s-rabbitmq", "namespace": "events"},
            "spec": {
                "replicas": 3,
                "persistence": {"storage": "20Gi"},
                "resources": {"requests": {"cpu": "2", "memory": "4Gi"}},
                **spec,
            },
        },
    )


def _topology(kind: str, logical_name: str, /, **spec: Any) -> Res:
    return Res(
        f"{GROUP}:{kind}",
        logical_name,
        {
            "metadata": {"name": f"k8s-{logical_name}", "namespace": "events"},
            "spec": {"vhost": "k8s", "rabbitmqClusterReference": dict(CLUSTER_REFERENCE), **spec},
        },
    )


def queue(name: str, rabbitmq_name: str, **spec: Any) -> Res:
    return _topology(
        "Queue",
        name,
        name=rabbitmq_name,
        type="quorum",
        durable=True,
        deletionPolicy="retain",
        **spec,
    )


def exchange(name: str, rabbitmq_name: str, kind: str = "fanout") -> Res:
    return _topology("Exchange", name, name=rabbitmq_name, type=kind, durable=True)


def binding(name: str, source: str, destination: str, kind: str = "queue") -> Res:
    return _topology("Binding", name, source=source, destination=destination, destinationType=kind)


def policy(name: str, pattern: str, definition: dict[str, Any], **spec: Any) -> Res:
    spec = {"applyTo": "queues", "priority": 10, **spec}
    return _topology("Policy", name, name=name, pattern=pattern, definition=definition, **spec)


SAFE_DEAD_LETTERING = {
    "dead-letter-exchange": "mailer.dead-letter",
    "delivery-limit": 5,
    "dead-letter-strategy": "at-least-once",
    "overflow": "reject-publish",
}


def happy_topology() -> dict[str, Res]:
    """The mailer consumer's queue, DLX and DLQ, plus an event's unroutable parking queue."""
    resources = [
        cluster(),
        queue("mailer-queue", "mailer"),
        queue("mailer-dead-letter-queue", "mailer.dead-letter"),
        exchange("mailer-dead-letter-exchange", "mailer.dead-letter"),
        binding("mailer-dead-letter-binding", "mailer.dead-letter", "mailer.dead-letter"),
        policy("mailer-policy", "^mailer$", dict(SAFE_DEAD_LETTERING)),
        exchange("signup-exchange", "user.signup", "topic"),
        exchange("signup-unroutable", "user.signup.unroutable"),
        queue("signup-parking", "user.signup.parking"),
        binding("signup-parking-binding", "user.signup.unroutable", "user.signup.parking"),
        _topology(
            "Policy",
            "signup-policy",
            name="user.signup.unroutable",
            pattern="^user\\.signup$",
            applyTo="exchanges",
            definition={"alternate-exchange": "user.signup.unroutable"},
        ),
        binding("mailer-binding", "user.signup", "mailer"),
        deployment(),
        scaled_object(),
    ]
    return {r.name: r for r in resources}


def changed(stack: dict[str, Res], name: str, /, **spec: Any) -> dict[str, Res]:
    """A copy of `stack` with `spec` keys of resource `name` replaced (None removes a key)."""
    copied = copy.deepcopy(stack)
    target = copied[name].props["spec"]
    for key, value in spec.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return copied
