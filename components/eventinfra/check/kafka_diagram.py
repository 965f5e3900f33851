"""The event flow of a recorded kafka-backend stack as a Mermaid flowchart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eventinfra.check.diagram import Flowchart, mermaid_text
from eventinfra.graph import RecordedResource

GROUP = "kubernetes:kafka.strimzi.io/"
TOPIC = "KafkaTopic"
USER = "KafkaUser"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
GROUP_ENV = "EVENTINFRA_KAFKA_GROUP"


def is_kafka_stack(resources: Iterable[RecordedResource]) -> bool:
    """Whether the stack declares Strimzi objects (the kafka backend)."""
    return any(r.type.startswith(GROUP) for r in resources)


def _kind(resource: RecordedResource) -> str:
    return resource.type.rsplit(":", 1)[-1] if resource.type.startswith(GROUP) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _name(resource: RecordedResource) -> str:
    name = _mapping(resource.inputs.get("metadata")).get("name")
    return str(name) if name is not None else resource.name


def _topic_name(resource: RecordedResource) -> str:
    """The Kafka topic: spec.topicName, else the KafkaTopic's metadata.name (Strimzi's rule)."""
    name = _mapping(resource.inputs.get("spec")).get("topicName")
    return str(name) if name else _name(resource)


def _acls(resource: RecordedResource) -> list[tuple[str, str, set[str]]]:
    """(resource type, name, operations) of each ACL of a KafkaUser."""
    authorization = _mapping(_mapping(resource.inputs.get("spec")).get("authorization"))
    found = []
    for acl in authorization.get("acls") or []:
        target = _mapping(_mapping(acl).get("resource"))
        operations = {str(op) for op in _mapping(acl).get("operations") or []}
        found.append((str(target.get("type", "")), str(target.get("name", "")), operations))
    return found


def _group_deployments(resources: list[RecordedResource]) -> dict[str, str]:
    """Consumer group → the Deployment whose container carries it in EVENTINFRA_KAFKA_GROUP."""
    found: dict[str, str] = {}
    for resource in resources:
        if resource.type != DEPLOYMENT:
            continue
        template = _mapping(_mapping(resource.inputs.get("spec")).get("template"))
        for container in _mapping(template.get("spec")).get("containers") or []:
            for env in _mapping(container).get("env") or []:
                if _mapping(env).get("name") == GROUP_ENV and env.get("value") is not None:
                    found.setdefault(str(env["value"]), _name(resource))
    return found


def kafka_event_flow(resources: Iterable[RecordedResource], title: str) -> str:
    """Producers → topics → consumer groups, and each consumer's dead-letter topic (dashed).

    A KafkaUser with Read on a group is a consumer: it reads the topics it has Read on, and a
    topic it may write but not read is its dead-letter topic. Any other KafkaUser writing a
    topic is a producer.
    """
    resources = list(resources)
    topics = {_topic_name(r) for r in resources if _kind(r) == TOPIC}
    deployments = _group_deployments(resources)
    users = [(_name(r), _acls(r)) for r in resources if _kind(r) == USER]

    def reads(acls: list[tuple[str, str, set[str]]], kind: str) -> list[str]:
        return [name for type_, name, ops in acls if type_ == kind and "Read" in ops]

    def writes(acls: list[tuple[str, str, set[str]]]) -> list[str]:
        return [name for type_, name, ops in acls if type_ == "topic" and "Write" in ops]

    dead_letters = {
        topic
        for _, acls in users
        if reads(acls, "group")
        for topic in writes(acls)
        if topic not in reads(acls, "topic")
    }
    chart = Flowchart()

    def topic_node(name: str) -> str:
        style = "deadletter" if name in dead_letters else "topic"
        shape = (
            f'[("{mermaid_text(name)}")]' if name in dead_letters else f'(["{mermaid_text(name)}"])'
        )
        return chart.node(f"topic:{name}", f"{shape}:::{style}")

    for name in sorted(topics - dead_letters):
        topic_node(name)
    for user, acls in users:
        groups = reads(acls, "group")
        if not groups:
            for topic in writes(acls):
                if topic in topics:
                    producer = chart.node(
                        f"producer:{user}", f'["{mermaid_text(user)}"]:::producer'
                    )
                    chart.edge(producer, topic_node(topic), label="publishes")
            continue
        runtime = ", ".join(
            f"deployment {deployments[group]}" if group in deployments else "external"
            for group in groups
        )
        text = f"group {', '.join(groups)} ({runtime})"
        consumer = chart.node(f"consumer:{user}", f'("{mermaid_text(text)}"):::consumer')
        read = reads(acls, "topic")
        for topic in read:
            if topic in topics:
                chart.edge(topic_node(topic), consumer)
        for topic in writes(acls):
            if topic in topics and topic not in read:
                chart.edge(consumer, topic_node(topic), "-.->", "dead letters")
    return chart.render(title)
