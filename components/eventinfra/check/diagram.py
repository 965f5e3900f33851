"""The event flow of a recorded stack as a Mermaid flowchart: producers → events → consumers."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from eventinfra.graph import RecordedResource, topology_name

TOPIC = "aws:sns/topic:Topic"
QUEUE = "aws:sqs/queue:Queue"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
EVENT_SOURCE = "aws:lambda/eventSourceMapping:EventSourceMapping"
FUNCTION = "aws:lambda/function:Function"
IAM_POLICY = "aws:iam/policy:Policy"
CONSUMER_COMPONENT = "eventinfra:index:EventConsumer"


@dataclass
class Flowchart:
    nodes: dict[str, str] = field(default_factory=dict)
    edges: list[str] = field(default_factory=list)

    def node(self, resource_or_key: RecordedResource | str, text: str) -> str:
        key = (
            resource_or_key.urn
            if isinstance(resource_or_key, RecordedResource)
            else resource_or_key
        )
        node_id = "n" + hashlib.sha1(key.encode()).hexdigest()[:8]
        self.nodes.setdefault(node_id, text)
        return node_id

    def edge(self, source: str, target: str, arrow: str = "-->", label: str | None = None) -> None:
        text = (
            f'{source} {arrow}|"{mermaid_text(label)}"| {target}'
            if label
            else f"{source} {arrow} {target}"
        )
        if text not in self.edges:
            self.edges.append(text)

    def render(self, title: str) -> str:
        # Front matter is YAML: quoted, a title like "shop / dev: event flow" stays one string.
        lines = ["```mermaid", "---", f"title: {mermaid_title(title)}", "---", "flowchart LR"]
        lines += [f"  {node_id}{text}" for node_id, text in self.nodes.items()]
        lines += [f"  {edge}" for edge in self.edges]
        lines += [
            "  classDef producer fill:#e8f1ff,stroke:#3b6fd4",
            "  classDef topic fill:#fff4d6,stroke:#c99a06",
            "  classDef queue fill:#e9f7ef,stroke:#2f8f4e",
            "  classDef deadletter fill:#fde8e8,stroke:#c0392b",
            "  classDef parking fill:#f2f2f2,stroke:#7f8c8d,stroke-dasharray: 4 2",
            "  classDef consumer fill:#f3e8ff,stroke:#7d3cc8",
            "```",
        ]
        return "\n".join(lines) + "\n"


# What a label may show as written. Everything else - quotes, `<`, `>`, `&`, backticks, `#`,
# brackets, pipes, control characters, line breaks - becomes a Mermaid entity code (`#60;`),
# so no value (a filter value, a name read from another stack) can end the label, the code fence
# or the diagram, or reach the page as HTML or Markdown.
_SAFE_LABEL: Final = re.compile(r"[A-Za-z0-9 .,:;_/=+@()*'!?%-]")
_SAFE_TITLE: Final = re.compile(r"[A-Za-z0-9 .,:_/=+@()-]")


def mermaid_text(text: str) -> str:
    """`text` for a quoted Mermaid label: safe characters as they are, the rest as `#<code>;`."""
    return "".join(c if _SAFE_LABEL.fullmatch(c) else f"#{ord(c)};" for c in text)


def mermaid_title(text: str) -> str:
    """The front matter's title: Mermaid does not decode entity codes there, so every character
    outside the safe set becomes `_`; the YAML is one double-quoted line."""
    return json.dumps("".join(c if _SAFE_TITLE.fullmatch(c) else "_" for c in text))


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _short(resource: RecordedResource) -> str:
    return str(resource.outputs.get("name") or resource.name)


def event_flow(resources: Iterable[RecordedResource], title: str) -> str:
    """Mermaid Markdown for the topics, queues, DLQs and consumers among `resources`."""
    resources = list(resources)
    by_urn = {r.urn: r for r in resources}
    by_arn: dict[str, RecordedResource] = {}
    for resource in resources:
        # A topic policy's `arn` input names its topic: only a resource's own ARN counts.
        if (arn := resource.outputs.get("arn")) and "arn" not in resource.inputs:
            by_arn[str(arn)] = resource
    chart = Flowchart()

    def parent_name(resource: RecordedResource) -> str:
        parent = by_urn.get(resource.parent or "")
        return topology_name(parent, by_urn) if parent and not parent.custom else resource.name

    topics = {r.urn: r for r in resources if r.type == TOPIC}

    def topic_node(topic: RecordedResource) -> str:
        return chart.node(topic, f'(["{mermaid_text(_short(topic))}"]):::topic')

    def external_topic_node(arn: str) -> str:
        # A topic another stack owns (read through a StackReference): known by its ARN only.
        return chart.node(
            f"topic:{arn}", f'(["{mermaid_text(arn.rsplit(":", 1)[-1])} (other stack)"]):::topic'
        )

    dead_letter_targets = {
        str(policy.get("deadLetterTargetArn"))
        for r in resources
        if r.type == QUEUE and isinstance(policy := _json(r.inputs.get("redrivePolicy")), Mapping)
    }

    def queue_node(queue: RecordedResource) -> str:
        allow = _json(queue.inputs.get("redriveAllowPolicy"))
        parked = isinstance(allow, Mapping) and allow.get("redrivePermission") == "denyAll"
        if parked:
            return chart.node(queue, f'[("{mermaid_text(_short(queue))}")]:::parking')
        if str(queue.outputs.get("arn")) in dead_letter_targets:
            return chart.node(queue, f'[("{mermaid_text(_short(queue))}")]:::deadletter')
        return chart.node(queue, f'[["{mermaid_text(_short(queue))}"]]:::queue')

    for policy in (r for r in resources if r.type == IAM_POLICY):
        for topic_arn in published_topics(policy):
            if (topic := by_arn.get(topic_arn)) is not None and topic.urn in topics:
                producer = chart.node(
                    f"producer:{parent_name(policy)}",
                    f'["{mermaid_text(parent_name(policy))}"]:::producer',
                )
                chart.edge(producer, topic_node(topic), label="publishes")

    consumed_queues: set[str] = set()
    for subscription in (r for r in resources if r.type == SUBSCRIPTION):
        topic_arn = str(subscription.inputs.get("topic"))
        topic = by_arn.get(topic_arn)
        endpoint = by_arn.get(str(subscription.inputs.get("endpoint")))
        if endpoint is None:
            continue
        if topic is not None and topic.urn in topics:
            source = topic_node(topic)
        elif topic is None and topic_arn.startswith("arn:") and ":sns:" in topic_arn:
            source = external_topic_node(topic_arn)
        else:
            continue
        filter_policy = _json(subscription.inputs.get("filterPolicy"))
        label = (
            "filter "
            + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in filter_policy.items())
            if isinstance(filter_policy, Mapping)
            else None
        )
        chart.edge(source, queue_node(endpoint), label=label)

    for queue in (r for r in resources if r.type == QUEUE):
        policy = _json(queue.inputs.get("redrivePolicy"))
        if isinstance(policy, Mapping) and (
            dlq := by_arn.get(str(policy.get("deadLetterTargetArn")))
        ):
            receives = policy.get("maxReceiveCount")
            chart.edge(
                queue_node(queue),
                queue_node(dlq),
                "-.->",
                f"after {receives:g} receives"
                if isinstance(receives, int | float)
                else "dead letters",
            )

    for mapping in (r for r in resources if r.type == EVENT_SOURCE):
        source_queue = by_arn.get(str(mapping.inputs.get("eventSourceArn")))
        function = by_arn.get(str(mapping.inputs.get("functionName"))) or next(
            (
                r
                for r in resources
                if r.type == FUNCTION
                and r.outputs.get("name") == mapping.inputs.get("functionName")
            ),
            None,
        )
        if source_queue is None or function is None:
            continue
        consumed_queues.add(source_queue.urn)
        consumer = chart.node(function, f'("{mermaid_text(_short(function))} (Lambda)"):::consumer')
        chart.edge(queue_node(source_queue), consumer)

    for queue in (r for r in resources if r.type == QUEUE and r.urn not in consumed_queues):
        parent = by_urn.get(queue.parent or "")
        if (
            parent is None
            or parent.type != CONSUMER_COMPONENT
            or queue.name != f"{parent.name}-queue"
        ):
            continue
        consumer = chart.node(
            f"external:{parent.urn}",
            f'("{mermaid_text(topology_name(parent, by_urn))} (external)"):::consumer',
        )
        chart.edge(queue_node(queue), consumer)

    return chart.render(title)


def published_topics(policy: RecordedResource) -> list[str]:
    """The topic ARNs an IAM policy allows `sns:Publish` on."""
    document = _json(policy.inputs.get("policy"))
    if not isinstance(document, Mapping):
        return []
    arns: list[str] = []
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") == "Allow" and "sns:Publish" in actions:
            targets = statement.get("Resource", [])
            arns += [targets] if isinstance(targets, str) else list(targets)
    return arns
