"""The event flow of a recorded rabbitmq-backend stack as a Mermaid flowchart."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from eventinfra.check.diagram import Flowchart, mermaid_text
from eventinfra.graph import RecordedResource

GROUP = "kubernetes:rabbitmq.com/v1beta1:"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NOTHING = "^$"


def is_rabbitmq_stack(resources: Iterable[RecordedResource]) -> bool:
    """Whether the stack declares RabbitMQ topology objects (the rabbitmq backend)."""
    return any(r.type.startswith(GROUP) for r in resources)


def anchored_names(regex: str) -> list[str]:
    """The names an anchored regex like `^(a\\.b|c)$` matches (`^$` matches none)."""
    body = regex.removeprefix("^").removesuffix("$")
    if not body:
        return []
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    return [re.sub(r"\\(.)", r"\1", part) for part in body.split("|")]


def rabbitmq_event_flow(resources: Iterable[RecordedResource], title: str) -> str:
    """Producers → event exchanges → queues → consumers, with dead-letter and parking paths."""
    resources = list(resources)

    def of_kind(kind: str) -> list[Mapping[str, Any]]:
        return [r.spec for r in resources if r.type == GROUP + kind]

    exchanges = {e["name"]: e for e in of_kind("Exchange")}
    queues = {q["name"] for q in of_kind("Queue")}
    bindings = of_kind("Binding")
    targets: dict[str, list[Mapping[str, Any]]] = {}
    for binding in bindings:
        targets.setdefault(str(binding["source"]), []).append(binding)
    queue_dead_letters: dict[str, tuple[str, Any]] = {}
    alternates: dict[str, str] = {}
    for policy in of_kind("Policy"):
        definition = policy.get("definition", {})
        for name in anchored_names(str(policy.get("pattern", ""))):
            if "dead-letter-exchange" in definition:
                queue_dead_letters[name] = (
                    str(definition["dead-letter-exchange"]),
                    definition.get("delivery-limit"),
                )
            if "alternate-exchange" in definition:
                alternates[name] = str(definition["alternate-exchange"])
    secrets = {
        r.object_name: r.inputs.get("stringData", {})
        for r in resources
        if r.type == "kubernetes:core/v1:Secret"
    }
    usernames = {
        r.object_name: str(
            secrets.get(r.spec["importCredentialsSecret"]["name"], {}).get("username")
        )
        for r in resources
        if r.type == GROUP + "User"
    }
    containers = {
        str(env.get("value"))
        for r in resources
        if r.type == DEPLOYMENT
        for container in r.spec["template"]["spec"]["containers"]
        for env in container.get("env", [])
        if env.get("name") == "EVENTINFRA_RABBITMQ_QUEUE"
    }
    dead_letter_queues = {
        b["destination"]
        for exchange, _ in queue_dead_letters.values()
        for b in targets.get(exchange, [])
    }
    parking_queues = {
        b["destination"] for exchange in alternates.values() for b in targets.get(exchange, [])
    }
    chart = Flowchart()

    def event_node(name: str) -> str:
        return chart.node(f"exchange:{name}", f'(["{mermaid_text(name)}"]):::topic')

    def queue_node(name: str) -> str:
        if name in parking_queues:
            return chart.node(f"queue:{name}", f'[("{mermaid_text(name)}")]:::parking')
        if name in dead_letter_queues:
            return chart.node(f"queue:{name}", f'[("{mermaid_text(name)}")]:::deadletter')
        return chart.node(f"queue:{name}", f'[["{mermaid_text(name)}"]]:::queue')

    for permission in of_kind("Permission"):
        user = usernames.get(str(permission.get("userReference", {}).get("name")), "")
        rights = permission.get("permissions", {})
        for exchange in anchored_names(str(rights.get("write", NOTHING))):
            if exchange in exchanges:
                producer = chart.node(f"producer:{user}", f'["{mermaid_text(user)}"]:::producer')
                chart.edge(producer, event_node(exchange), label="publishes")
        for queue in anchored_names(str(rights.get("read", NOTHING))):
            if queue in queues:
                runtime = "container" if queue in containers else "external"
                consumer = chart.node(
                    f"consumer:{user}", f'("{mermaid_text(user)} ({runtime})"):::consumer'
                )
                chart.edge(queue_node(queue), consumer)

    for event, declared in exchanges.items():
        if declared.get("type") != "topic":
            continue
        for binding in targets.get(event, []):
            key = str(binding.get("routingKey", ""))
            label = None if key == event else f"key {key}"
            chart.edge(event_node(event), queue_node(str(binding["destination"])), label=label)
        if event in alternates:
            for binding in targets.get(alternates[event], []):
                chart.edge(
                    event_node(event), queue_node(str(binding["destination"])), "-.->", "unroutable"
                )
    for queue, (exchange, limit) in queue_dead_letters.items():
        for binding in targets.get(exchange, []):
            chart.edge(
                queue_node(queue),
                queue_node(str(binding["destination"])),
                "-.->",
                f"delivery-limit {limit}" if limit is not None else "dead letters",
            )
    return chart.render(title)
