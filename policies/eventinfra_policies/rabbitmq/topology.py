"""Reading RabbitMQ on Kubernetes: type tokens, defaults and the topology the operators declare."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    PolicyComplianceFramework,
)

from ..common import Res, Stack, Unknown, number, plain
from ..kubernetes.workloads import (
    container_env,
    namespace_of,
)

CLUSTER: Final = "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster"
QUEUE: Final = "kubernetes:rabbitmq.com/v1beta1:Queue"
POLICY: Final = "kubernetes:rabbitmq.com/v1beta1:Policy"
EXCHANGE: Final = "kubernetes:rabbitmq.com/v1beta1:Exchange"
BINDING: Final = "kubernetes:rabbitmq.com/v1beta1:Binding"

# Operator and broker defaults for fields a program leaves unset.
DEFAULT_CLUSTER_REPLICAS: Final = 1  # RabbitmqCluster spec.replicas
DEFAULT_MIN_CLUSTER_REPLICAS: Final = 3  # the smallest cluster that survives losing a node
DEFAULT_VHOST: Final = "/"
DEFAULT_QUEUE_TYPE: Final = "classic"  # Queue spec.type
DEFAULT_DELETION_POLICY: Final = "delete"  # Queue spec.deletionPolicy
DEFAULT_APPLY_TO: Final = "all"  # Policy spec.applyTo
AT_LEAST_ONCE: Final = "at-least-once"
REJECT_PUBLISH: Final = "reject-publish"
# The ContainerConsumer contract: the queue a consumer Deployment reads from.
CONSUMER_QUEUE_ENV: Final = "EVENTINFRA_RABBITMQ_QUEUE"
KEDA_QUEUE_LENGTH: Final = "QueueLength"

PRODUCTION_CHECKLIST: Final = "https://www.rabbitmq.com/docs/production-checklist"
QUORUM_QUEUES: Final = "https://www.rabbitmq.com/docs/quorum-queues"
DEAD_LETTERING: Final = "https://www.rabbitmq.com/docs/quorum-queues#dead-lettering"
OPERATOR_PRODUCTION_EXAMPLE: Final = (
    "https://github.com/rabbitmq/cluster-operator/tree/main/docs/examples/production-ready"
)
TOPOLOGY_OPERATOR: Final = "https://www.rabbitmq.com/kubernetes/operator/using-topology-operator"
KEDA_RABBITMQ: Final = "https://keda.sh/docs/latest/scalers/rabbitmq-queue/"
RABBITMQ_CHECKLIST: Final = PolicyComplianceFramework(
    name="RabbitMQ production checklist", version="4", reference=PRODUCTION_CHECKLIST
)


# ---------------------------------------------------------------- the broker topology


def cluster_key(resource: Res) -> tuple[str, str, str]:
    """(cluster, vhost) scope of a topology resource: names are unique only within it."""
    reference = resource.known("spec", "rabbitmqClusterReference")
    namespace = namespace_of(resource.props)
    cluster = ""
    if isinstance(reference, Mapping):
        namespace = str(reference.get("namespace") or namespace)
        secret = reference.get("connectionSecret")
        cluster = str(
            reference.get("name") or (secret.get("name") if isinstance(secret, Mapping) else "")
        )
    vhost = str(resource.known("spec", "vhost") or DEFAULT_VHOST)
    return namespace, cluster, vhost


@dataclass(frozen=True)
class Topology:
    """Queues, policies and what each exchange routes to, per (cluster, vhost)."""

    policies: dict[tuple[str, str, str], list[Res]]
    routes: dict[tuple[str, str, str, str], set[tuple[str, str]]]  # scope+exchange → (type, name)
    exchanges: set[tuple[str, str, str, str]]  # scope + exchange declared in the stack
    dead_letter_queues: set[tuple[str, str, str, str]]  # scope + queue
    parking_queues: set[tuple[str, str, str, str]]


def queues_reached(
    routes: Mapping[tuple[str, str, str, str], set[tuple[str, str]]],
    scope: tuple[str, str, str],
    exchange: str,
) -> set[tuple[str, str, str, str]]:
    """Queues an exchange delivers to, following exchange-to-exchange bindings."""
    reached: set[tuple[str, str, str, str]] = set()
    seen: set[str] = set()
    pending = [exchange]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for kind, name in routes.get((*scope, current), set()):
            if kind == "exchange":
                pending.append(name)
            else:
                reached.add((*scope, name))
    return reached


def policy_definition(policy: Res) -> Mapping[str, Any]:
    definition = policy.get("spec", "definition")
    return plain(definition) if isinstance(definition, Mapping) else {}


def topology(stack: Stack) -> Topology:
    policies: dict[tuple[str, str, str], list[Res]] = {}
    for policy in stack.of(POLICY):
        policies.setdefault(cluster_key(policy), []).append(policy)
    routes: dict[tuple[str, str, str, str], set[tuple[str, str]]] = {}
    for binding in stack.of(BINDING):
        source, destination = binding.known("spec", "source"), binding.known("spec", "destination")
        if isinstance(source, str) and isinstance(destination, str):
            kind = str(binding.known("spec", "destinationType") or "queue")
            routes.setdefault((*cluster_key(binding), source), set()).add((kind, destination))
    exchanges = {
        (*cluster_key(exchange), str(exchange.known("spec", "name")))
        for exchange in stack.of(EXCHANGE)
    }
    dead_letter: set[tuple[str, str, str, str]] = set()
    parking: set[tuple[str, str, str, str]] = set()
    sources = [(cluster_key(p), _definition_or_empty(p)) for p in stack.of(POLICY)]
    sources += [(cluster_key(q), queue_arguments(q)) for q in stack.of(QUEUE)]
    for scope, definition in sources:
        dlx = definition.get("dead-letter-exchange")
        if isinstance(dlx, str) and dlx:
            dead_letter |= queues_reached(routes, scope, dlx)
        elif dlx == "" and definition.get("dead-letter-routing-key"):
            dead_letter.add((*scope, str(definition["dead-letter-routing-key"])))
        alternate = definition.get("alternate-exchange")
        if isinstance(alternate, str) and alternate:
            parking |= queues_reached(routes, scope, alternate)
    return Topology(policies, routes, exchanges, dead_letter, parking)


def _definition_or_empty(policy: Res) -> Mapping[str, Any]:
    try:
        return policy_definition(policy)
    except Unknown:  # the queues this policy governs report it
        return {}


def queue_arguments(queue: Res) -> dict[str, Any]:
    """A queue's optional x-arguments as policy keys (x-dead-letter-exchange → dead-letter-…)."""
    arguments = queue.known("spec", "arguments")
    if not isinstance(arguments, Mapping):
        return {}
    return {
        str(key)[2:]: value for key, value in plain(arguments).items() if str(key).startswith("x-")
    }


def _applies_to(policy: Res, queue_type: str) -> bool:
    apply_to = policy.get("spec", "applyTo") or DEFAULT_APPLY_TO
    return apply_to in ("all", "queues") or apply_to == {
        "classic": "classic_queues",
        "quorum": "quorum_queues",
        "stream": "streams",
    }.get(queue_type)


def _matches(policy: Res, queue_name: str) -> bool:
    try:
        return re.search(str(policy.get("spec", "pattern")), queue_name) is not None
    except re.error:
        return False  # the operator rejects an invalid pattern; it governs nothing


def effective_policies(topology_: Topology, queue: Res) -> list[Res]:
    """The matching policies of the highest priority (RabbitMQ applies one of them)."""
    queue_name = str(queue.get("spec", "name"))
    queue_type = str(queue.get("spec", "type") or DEFAULT_QUEUE_TYPE)
    matching = [
        policy
        for policy in topology_.policies.get(cluster_key(queue), [])
        if _applies_to(policy, queue_type) and _matches(policy, queue_name)
    ]
    if not matching:
        return []
    top = max(number(p.get("spec", "priority"), 0) for p in matching)
    return [p for p in matching if number(p.get("spec", "priority"), 0) == top]


def consumer_queue(deployment: Res) -> tuple[bool, str | None]:
    """(is a RabbitMQ consumer, the queue it reads when given literally) by its env contract."""
    return container_env(deployment, CONSUMER_QUEUE_ENV)
