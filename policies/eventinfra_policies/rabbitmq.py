"""RabbitMQ on Kubernetes: operator clusters, quorum queues, dead-lettering, KEDA autoscaling."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import Res, Stack, Unknown, get, number, plain, resource_validator
from .kubernetes import DEPLOYMENT, containers, namespace_of, pod_spec, scaled_objects_by_target

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
CONSUMER_QUEUE_ENV: Final = "RABBITMQ_QUEUE"
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


# ---------------------------------------------------------------- rabbitmq-cluster-ha


@resource_validator([CLUSTER])
def _check_cluster_ha(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    minimum = number(args.get_config().get("minimumReplicas"), DEFAULT_MIN_CLUSTER_REPLICAS)
    replicas = number(get(args.props, "spec", "replicas"), DEFAULT_CLUSTER_REPLICAS)
    if replicas < minimum:
        report_violation(
            f"RabbitmqCluster '{args.name}' must run at least {minimum:g} replicas (found "
            f"{replicas:g}), because quorum queues need a majority of their replicas and a "
            "smaller cluster stops accepting messages when one node goes. Set spec.replicas: 3."
        )
    elif replicas % 2 == 0:
        report_violation(
            f"RabbitmqCluster '{args.name}' must run an odd number of replicas (found "
            f"{replicas:g}), because an even cluster survives no more node failures than the "
            "odd one below it and a network split can leave no majority. Set spec.replicas to "
            f"{replicas - 1:g} or {replicas + 1:g}."
        )


rabbitmq_cluster_ha = ResourceValidationPolicy(
    name="rabbitmq-cluster-ha",
    description="A RabbitmqCluster runs an odd number of replicas, at least minimumReplicas "
    "(default 3).",
    validate=_check_cluster_ha,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="RabbitMQ clusters are highly available",
    config_schema=PolicyConfigSchema(
        properties={
            "minimumReplicas": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MIN_CLUSTER_REPLICAS,
            }
        }
    ),
    remediation_steps="Set the RabbitmqCluster's spec.replicas to 3 (or 5).",
    url=OPERATOR_PRODUCTION_EXAMPLE,
    framework=RABBITMQ_CHECKLIST,
    tags=["rabbitmq", "kubernetes", "availability", "cluster-operator:production-ready"],
)


# ---------------------------------------------------------------- rabbitmq-cluster-persistence


def _is_zero_quantity(quantity: str) -> bool:
    return re.fullmatch(r"0+(\.0*)?([KMGTPE]i?|[mkMGTPE])?", quantity.strip()) is not None


@resource_validator([CLUSTER])
def _check_cluster_persistence(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    storage = get(args.props, "spec", "persistence", "storage")
    if storage in (None, ""):
        report_violation(
            f"RabbitmqCluster '{args.name}' must declare spec.persistence.storage, because the "
            "operator otherwise gives each node a 10Gi volume that a backlog fills, and a full "
            "disk blocks every publisher. Set spec.persistence.storage (for example 20Gi) sized "
            "for the longest backlog you must absorb."
        )
    elif _is_zero_quantity(str(storage)):
        report_violation(
            f"RabbitmqCluster '{args.name}' must keep messages on a persistent volume (found "
            f"storage {storage!r}), because without one a pod restart loses every message and "
            "the quorum queue replicas on it. Set spec.persistence.storage to a non-zero size."
        )
    elif args.get_config().get("requireStorageClass", False) and not get(
        args.props, "spec", "persistence", "storageClassName"
    ):
        report_violation(
            f"RabbitmqCluster '{args.name}' must name spec.persistence.storageClassName, because "
            "the policy config requires an explicit StorageClass (reclaim policy and disk type "
            "under your control). Set storageClassName to a class with reclaimPolicy Retain."
        )


rabbitmq_cluster_persistence = ResourceValidationPolicy(
    name="rabbitmq-cluster-persistence",
    description="A RabbitmqCluster declares a non-zero persistent volume size (and a "
    "StorageClass when requireStorageClass).",
    validate=_check_cluster_persistence,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="RabbitMQ clusters persist messages",
    config_schema=PolicyConfigSchema(
        properties={"requireStorageClass": {"type": "boolean", "default": False}}
    ),
    remediation_steps="Set spec.persistence.storage (and storageClassName) on the RabbitmqCluster.",
    url=OPERATOR_PRODUCTION_EXAMPLE,
    framework=RABBITMQ_CHECKLIST,
    tags=["rabbitmq", "kubernetes", "durability", "cluster-operator:production-ready"],
)


# ---------------------------------------------------------------- rabbitmq-queue-is-quorum


@resource_validator([QUEUE])
def _check_queue_quorum(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    queue_type = get(args.props, "spec", "type") or DEFAULT_QUEUE_TYPE
    if queue_type != "quorum":
        report_violation(
            f"RabbitMQ queue '{args.name}' must be a quorum queue (found type {queue_type!r}), "
            "because a classic queue lives on one node and its messages are unavailable or lost "
            "when that node fails. Set spec.type: quorum (the type is immutable: create a new "
            "queue and move the consumers)."
        )


rabbitmq_queue_is_quorum = ResourceValidationPolicy(
    name="rabbitmq-queue-is-quorum",
    description="Every RabbitMQ Queue resource is a quorum queue (spec.type: quorum).",
    validate=_check_queue_quorum,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="RabbitMQ queues are quorum queues",
    remediation_steps="Set spec.type: quorum on the Queue resource.",
    url=QUORUM_QUEUES,
    framework=RABBITMQ_CHECKLIST,
    tags=["rabbitmq", "durability", "quorum-queues"],
)


# ---------------------------------------------------------------- rabbitmq-queue-retained-on-delete


@resource_validator([QUEUE])
def _check_queue_retained(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    policy = get(args.props, "spec", "deletionPolicy") or DEFAULT_DELETION_POLICY
    if policy != "retain":
        report_violation(
            f"RabbitMQ queue '{args.name}' must set spec.deletionPolicy: retain (found "
            f"{policy!r}), because the topology operator otherwise deletes the queue and every "
            "message in it when the resource is removed or renamed. Set spec.deletionPolicy: "
            "retain and delete drained queues by hand."
        )


rabbitmq_queue_retained_on_delete = ResourceValidationPolicy(
    name="rabbitmq-queue-retained-on-delete",
    description="Every RabbitMQ Queue resource keeps the queue in the broker when the resource "
    "is deleted (spec.deletionPolicy: retain).",
    validate=_check_queue_retained,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="RabbitMQ queues survive resource deletion",
    remediation_steps="Set spec.deletionPolicy: retain on the Queue resource.",
    url=TOPOLOGY_OPERATOR,
    tags=["rabbitmq", "durability", "messaging-topology-operator"],
)


# ---------------------------------------------------------------- the broker topology


def _cluster_key(resource: Res) -> tuple[str, str, str]:
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


def _queues_reached(
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


def _definition(policy: Res) -> Mapping[str, Any]:
    definition = policy.get("spec", "definition")
    return plain(definition) if isinstance(definition, Mapping) else {}


def topology(stack: Stack) -> Topology:
    policies: dict[tuple[str, str, str], list[Res]] = {}
    for policy in stack.of(POLICY):
        policies.setdefault(_cluster_key(policy), []).append(policy)
    routes: dict[tuple[str, str, str, str], set[tuple[str, str]]] = {}
    for binding in stack.of(BINDING):
        source, destination = binding.known("spec", "source"), binding.known("spec", "destination")
        if isinstance(source, str) and isinstance(destination, str):
            kind = str(binding.known("spec", "destinationType") or "queue")
            routes.setdefault((*_cluster_key(binding), source), set()).add((kind, destination))
    exchanges = {
        (*_cluster_key(exchange), str(exchange.known("spec", "name")))
        for exchange in stack.of(EXCHANGE)
    }
    dead_letter: set[tuple[str, str, str, str]] = set()
    parking: set[tuple[str, str, str, str]] = set()
    sources = [(_cluster_key(p), _definition_or_empty(p)) for p in stack.of(POLICY)]
    sources += [(_cluster_key(q), _arguments(q)) for q in stack.of(QUEUE)]
    for scope, definition in sources:
        dlx = definition.get("dead-letter-exchange")
        if isinstance(dlx, str) and dlx:
            dead_letter |= _queues_reached(routes, scope, dlx)
        elif dlx == "" and definition.get("dead-letter-routing-key"):
            dead_letter.add((*scope, str(definition["dead-letter-routing-key"])))
        alternate = definition.get("alternate-exchange")
        if isinstance(alternate, str) and alternate:
            parking |= _queues_reached(routes, scope, alternate)
    return Topology(policies, routes, exchanges, dead_letter, parking)


def _definition_or_empty(policy: Res) -> Mapping[str, Any]:
    try:
        return _definition(policy)
    except Unknown:  # the queues this policy governs report it
        return {}


def _arguments(queue: Res) -> dict[str, Any]:
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
        for policy in topology_.policies.get(_cluster_key(queue), [])
        if _applies_to(policy, queue_type) and _matches(policy, queue_name)
    ]
    if not matching:
        return []
    top = max(number(p.get("spec", "priority"), 0) for p in matching)
    return [p for p in matching if number(p.get("spec", "priority"), 0) == top]


# ---------------------------------------------------------------- rabbitmq-queue-has-dead-letter


def _found(value: Any) -> str:
    return "none" if value is None or value == "" else repr(value)


def _dead_letter_problems(
    topology_: Topology, queue: Res, policy: Res | None, definition: Mapping[str, Any]
) -> list[str]:
    """Problems with the dead-lettering `definition` (policy, or None, plus x-arguments) gives."""
    source = f"policy '{policy.name}'" if policy is not None else "its queue arguments"
    dlx = definition.get("dead-letter-exchange")
    if not isinstance(dlx, str) or (not dlx and not definition.get("dead-letter-routing-key")):
        found = (
            f"policy '{policy.name}', the one that applies to it, sets none"
            if policy is not None
            else "no policy applies to it"
        )
        return [
            f"RabbitMQ queue '{queue.name}' must dead-letter to an exchange ({found}), because "
            "a message its consumer keeps rejecting is otherwise requeued forever or dropped. "
            "Add a rabbitmq.com/v1beta1 Policy (applyTo queues, same vhost, pattern matching "
            "the queue) with definition {dead-letter-exchange: <dlx>, delivery-limit: 5, "
            "dead-letter-strategy: at-least-once, overflow: reject-publish}."
        ]
    problems = []
    scope = _cluster_key(queue)
    if (*scope, dlx) in topology_.exchanges and not _queues_reached(topology_.routes, scope, dlx):
        problems.append(
            f"RabbitMQ queue '{queue.name}' must dead-letter to an exchange bound to a queue, "
            f"because its dead-letter exchange {dlx!r} routes nowhere and dead letters are "
            "dropped. Bind a dead-letter queue to that exchange."
        )
    limit = definition.get("delivery-limit")
    if number(limit, 0) < 1:
        problems.append(
            f"RabbitMQ queue '{queue.name}' must set a positive delivery-limit (found "
            f"{_found(limit)} in {source}), because a poison message is otherwise redelivered "
            "without end and never reaches the dead-letter exchange. Set delivery-limit (for "
            f"example 5) in {source}."
        )
    strategy = definition.get("dead-letter-strategy")
    if strategy != AT_LEAST_ONCE:
        problems.append(
            f"RabbitMQ queue '{queue.name}' must set dead-letter-strategy: at-least-once (found "
            f"{_found(strategy)} in {source}), because the default at-most-once strategy drops "
            "a dead letter the target queue does not confirm. Set dead-letter-strategy: "
            "at-least-once with overflow: reject-publish."
        )
    elif definition.get("overflow") != REJECT_PUBLISH:
        problems.append(
            f"RabbitMQ queue '{queue.name}' must set overflow: reject-publish (found "
            f"{_found(definition.get('overflow'))} in {source}), because at-least-once "
            "dead-lettering is silently switched back to at-most-once under any other overflow "
            "behaviour. Set overflow: reject-publish."
        )
    return problems


def _check_queue_dead_letter(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stack = Stack(args)
    topology_ = topology(stack)
    for queue in stack.of(QUEUE):
        with stack.checking(queue):
            key = (*_cluster_key(queue), str(queue.get("spec", "name")))
            if key in topology_.dead_letter_queues or key in topology_.parking_queues:
                continue
            arguments = _arguments(queue)
            chosen: list[Res | None] = [*effective_policies(topology_, queue)] or [None]
            # Several policies of the same priority: RabbitMQ picks one, so each must do.
            for policy in chosen:
                definition = {**(_definition(policy) if policy else {}), **arguments}
                problems = _dead_letter_problems(topology_, queue, policy, definition)
                for problem in problems:
                    report_violation(problem, queue.urn)
                if problems:
                    break
    stack.finish()


rabbitmq_queue_has_dead_letter = StackValidationPolicy(
    name="rabbitmq-queue-has-dead-letter",
    description="Every RabbitMQ queue is matched by a Policy (pattern, applyTo queues/all, same "
    "vhost) that sets a dead-letter exchange routing to a queue, a delivery-limit and "
    "at-least-once dead-lettering with overflow reject-publish; dead-letter and parking queues "
    "(recognised by their bindings) are exempt.",
    validate=_check_queue_dead_letter,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="RabbitMQ queues dead-letter safely",
    remediation_steps="Add a Policy for the queue with dead-letter-exchange, delivery-limit, "
    "dead-letter-strategy at-least-once and overflow reject-publish; bind a DLQ to the DLX.",
    url=DEAD_LETTERING,
    framework=RABBITMQ_CHECKLIST,
    tags=["rabbitmq", "dlq", "quorum-queues", "at-least-once"],
)


# ---------------------------------------------------------------- rabbitmq-consumer-autoscaled


def consumer_queue(deployment: Res) -> tuple[bool, str | None]:
    """(is a RabbitMQ consumer, the queue it reads when given literally) by its env contract."""
    for container in containers(pod_spec(DEPLOYMENT, deployment.props), init=False):
        env = get(container, "env")
        if not isinstance(env, Sequence) or isinstance(env, str):
            continue
        for index in range(len(env)):
            variable = get(env, index)
            if isinstance(variable, Mapping) and get(variable, "name") == CONSUMER_QUEUE_ENV:
                value = get(variable, "value")
                return True, str(value) if value else None
    return False, None


def _rabbitmq_triggers(scaled: Res) -> list[Mapping[str, Any]]:
    triggers = plain(scaled.get("spec", "triggers") or [])
    return [t for t in triggers if isinstance(t, Mapping) and t.get("type") == "rabbitmq"]


def _check_consumer_autoscaled(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    stack = Stack(args)
    scalers = scaled_objects_by_target(stack)
    for deployment in stack.of(DEPLOYMENT):
        with stack.checking(deployment):
            is_consumer, queue = consumer_queue(deployment)
            if not is_consumer:
                continue
            target = (namespace_of(deployment.props), str(deployment.get("metadata", "name")))
            scaled = scalers.get(target)
            if scaled is None:
                report_violation(
                    f"Deployment '{deployment.name}' must be the scaleTargetRef of a KEDA "
                    "ScaledObject with a rabbitmq trigger, because a fixed replica count cannot "
                    "catch up with a backlog and the queue grows until messages expire. Add a "
                    f"keda.sh/v1alpha1 ScaledObject targeting '{target[1]}' with trigger type "
                    "rabbitmq, mode QueueLength.",
                    deployment.urn,
                )
                continue
            triggers = _rabbitmq_triggers(scaled)
            if not triggers:
                report_violation(
                    f"Deployment '{deployment.name}' must be scaled on its queue by a rabbitmq "
                    f"trigger, because ScaledObject '{scaled.name}' scales it on something else "
                    "and the backlog goes unseen. Add a trigger of type rabbitmq with mode "
                    "QueueLength.",
                    deployment.urn,
                )
                continue
            metadata = [t.get("metadata") or {} for t in triggers]
            if not any(m.get("mode") == KEDA_QUEUE_LENGTH for m in metadata):
                report_violation(
                    f"Deployment '{deployment.name}' must be scaled on queue length, because "
                    f"ScaledObject '{scaled.name}' uses mode "
                    f"{metadata[0].get('mode') or 'none'!r} and a consumer that falls behind "
                    "keeps a low message rate while the backlog grows. Set the rabbitmq "
                    "trigger's metadata.mode: QueueLength.",
                    deployment.urn,
                )
            elif queue and not any(m.get("queueName") == queue for m in metadata):
                report_violation(
                    f"Deployment '{deployment.name}' must be scaled on the queue it consumes "
                    f"({queue!r}), because ScaledObject '{scaled.name}' watches "
                    f"{metadata[0].get('queueName')!r} and never sees this backlog. Set the "
                    f"rabbitmq trigger's metadata.queueName: {queue}.",
                    deployment.urn,
                )
    stack.finish()


rabbitmq_consumer_autoscaled = StackValidationPolicy(
    name="rabbitmq-consumer-autoscaled",
    description="Every RabbitMQ consumer Deployment (env RABBITMQ_QUEUE) is the scaleTargetRef "
    "of a KEDA ScaledObject with a rabbitmq trigger on its queue in mode QueueLength.",
    validate=_check_consumer_autoscaled,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="RabbitMQ consumers autoscale on queue length",
    remediation_steps="Add a KEDA ScaledObject targeting the Deployment with a rabbitmq trigger "
    "(mode QueueLength, queueName = the consumer's queue).",
    url=KEDA_RABBITMQ,
    tags=["rabbitmq", "kubernetes", "keda", "scaling"],
)


POLICIES: Final = [
    rabbitmq_cluster_ha,
    rabbitmq_cluster_persistence,
    rabbitmq_queue_is_quorum,
    rabbitmq_queue_has_dead_letter,
    rabbitmq_consumer_autoscaled,
    rabbitmq_queue_retained_on_delete,
]
