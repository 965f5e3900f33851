"""The event flow of a recorded kafka-backend stack as a Mermaid flowchart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
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


def topic_name(resource: RecordedResource) -> str:
    """The Kafka topic: spec.topicName, else the KafkaTopic's metadata.name (Strimzi's rule)."""
    name = resource.spec.get("topicName")
    return str(name) if name else resource.object_name


def _acls(resource: RecordedResource) -> list[tuple[str, str, set[str]]]:
    """(resource type, name, operations) of each ACL of a KafkaUser."""
    authorization = _mapping(resource.spec.get("authorization"))
    found = []
    for acl in authorization.get("acls") or []:
        target = _mapping(_mapping(acl).get("resource"))
        operations = {str(op) for op in _mapping(acl).get("operations") or []}
        found.append((str(target.get("type", "")), str(target.get("name", "")), operations))
    return found


@dataclass(frozen=True)
class KafkaClient:
    """What one KafkaUser's ACLs let its application do.

    A KafkaUser with Read on a group reads the topics it has Read on. It is the ops commands'
    user (`eventinfra dlq`) when every topic it reads is written by another user with a group
    (a consumer's dead-letter topic); else it is a consumer, and a topic it may write but not
    read is its dead-letter topic, a topic it reads that the ops user writes its retry topic.
    Any other KafkaUser writing a topic is a producer.
    """

    user: RecordedResource
    groups: tuple[str, ...]
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    operates: bool = False
    """The ops commands' user: reads dead-letter topics, writes retry topics."""
    retry_topics: tuple[str, ...] = ()
    """A consumer's topics that only the ops user writes (`eventinfra dlq redrive`)."""

    @property
    def name(self) -> str:
        """The KafkaUser's name: its principal and the Secret holding its credentials."""
        return self.user.object_name

    @property
    def is_consumer(self) -> bool:
        return bool(self.groups) and not self.operates

    @property
    def is_producer(self) -> bool:
        return not self.groups

    @property
    def event_reads(self) -> tuple[str, ...]:
        """The topics a consumer reads for its events: its retry topic left out."""
        return tuple(t for t in self.reads if t not in self.retry_topics)

    @property
    def dead_letter_topics(self) -> tuple[str, ...]:
        if not self.is_consumer:
            return ()
        return tuple(topic for topic in self.writes if topic not in self.reads)


def kafka_clients(resources: Iterable[RecordedResource]) -> list[KafkaClient]:
    """Every KafkaUser, in plan order, with the groups and topics its ACLs grant."""
    clients = []
    for user in (r for r in resources if _kind(r) == USER):
        acls = _acls(user)
        clients.append(
            KafkaClient(
                user,
                groups=tuple(n for kind, n, ops in acls if kind == "group" and "Read" in ops),
                reads=tuple(n for kind, n, ops in acls if kind == "topic" and "Read" in ops),
                writes=tuple(n for kind, n, ops in acls if kind == "topic" and "Write" in ops),
            )
        )
    operators = {
        client.name
        for client in clients
        if client.groups
        and client.reads
        and all(
            any(other is not client and other.groups and t in other.writes for other in clients)
            for t in client.reads
        )
    }
    retry = {t for c in clients if c.name in operators for t in c.writes}
    return [
        replace(
            client,
            operates=client.name in operators,
            retry_topics=()
            if client.name in operators
            else tuple(t for t in client.reads if t in retry),
        )
        for client in clients
    ]


def kafka_topics(resources: Iterable[RecordedResource]) -> dict[str, RecordedResource]:
    """Kafka topic name → the KafkaTopic that declares it."""
    return {topic_name(r): r for r in resources if _kind(r) == TOPIC}


def group_deployments(resources: Iterable[RecordedResource]) -> dict[str, str]:
    """Consumer group → the Deployment whose container carries it in EVENTINFRA_KAFKA_GROUP."""
    found: dict[str, str] = {}
    for resource in resources:
        if resource.type != DEPLOYMENT:
            continue
        template = _mapping(resource.spec.get("template"))
        for container in _mapping(template.get("spec")).get("containers") or []:
            for env in _mapping(container).get("env") or []:
                if _mapping(env).get("name") == GROUP_ENV and env.get("value") is not None:
                    found.setdefault(str(env["value"]), resource.object_name)
    return found


def kafka_event_flow(resources: Iterable[RecordedResource], title: str) -> str:
    """Producers → topics → consumer groups, each consumer's dead-letter topic (dashed), and
    its retry topic, which `eventinfra dlq redrive` fills from the dead-letter topic."""
    resources = list(resources)
    topics = set(kafka_topics(resources))
    deployments = group_deployments(resources)
    clients = kafka_clients(resources)
    dead_letters = {topic for client in clients for topic in client.dead_letter_topics}
    chart = Flowchart()

    def topic_node(name: str) -> str:
        style = "deadletter" if name in dead_letters else "topic"
        shape = (
            f'[("{mermaid_text(name)}")]' if name in dead_letters else f'(["{mermaid_text(name)}"])'
        )
        return chart.node(f"topic:{name}", f"{shape}:::{style}")

    for name in sorted(topics - dead_letters):
        topic_node(name)
    for client in clients:
        if client.operates:
            continue  # drawn as the redrive edges of each consumer below
        if not client.is_consumer:
            for topic in client.writes:
                if topic in topics:
                    producer = chart.node(
                        f"producer:{client.name}", f'["{mermaid_text(client.name)}"]:::producer'
                    )
                    chart.edge(producer, topic_node(topic), label="publishes")
            continue
        runtime = ", ".join(
            f"deployment {deployments[group]}" if group in deployments else "external"
            for group in client.groups
        )
        text = f"group {', '.join(client.groups)} ({runtime})"
        consumer = chart.node(f"consumer:{client.name}", f'("{mermaid_text(text)}"):::consumer')
        for topic in client.event_reads:
            if topic in topics:
                chart.edge(topic_node(topic), consumer)
        for topic in client.dead_letter_topics:
            if topic in topics:
                chart.edge(consumer, topic_node(topic), "-.->", "dead letters")
        for retry in client.retry_topics:
            if retry not in topics:
                continue
            for topic in client.dead_letter_topics:
                if topic in topics:
                    redrive = "eventinfra dlq redrive"
                    chart.edge(topic_node(topic), topic_node(retry), "-.->", redrive)
            chart.edge(topic_node(retry), consumer, label="redriven")
    return chart.render(title)
