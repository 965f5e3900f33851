"""RabbitMQ delivery: every queue dead-letters safely instead of requeueing or dropping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationPolicy,
)

from ..common import Res, Stack, number, stack_validator
from .topology import (
    AT_LEAST_ONCE,
    DEAD_LETTERING,
    QUEUE,
    RABBITMQ_CHECKLIST,
    REJECT_PUBLISH,
    Topology,
    cluster_key,
    effective_policies,
    policy_definition,
    queue_arguments,
    queues_reached,
    topology,
)

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
    scope = cluster_key(queue)
    if (*scope, dlx) in topology_.exchanges and not queues_reached(topology_.routes, scope, dlx):
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


@stack_validator([QUEUE])
def _check_queue_dead_letter(stack: Stack, queue: Res, report_violation: ReportViolation) -> None:
    topology_ = stack.joined(topology)
    key = (*cluster_key(queue), str(queue.get("spec", "name")))
    if key in topology_.dead_letter_queues or key in topology_.parking_queues:
        return
    arguments = queue_arguments(queue)
    chosen: list[Res | None] = [*effective_policies(topology_, queue)] or [None]
    # Several policies of the same priority: RabbitMQ picks one, so each must do.
    for policy in chosen:
        definition = {**(policy_definition(policy) if policy else {}), **arguments}
        problems = _dead_letter_problems(topology_, queue, policy, definition)
        for problem in problems:
            report_violation(problem, queue.urn)
        if problems:
            break


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


POLICIES: Final = [
    rabbitmq_queue_has_dead_letter,
]
