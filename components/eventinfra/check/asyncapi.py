"""An AsyncAPI 3.0 document of a planned stack: events, producers, consumers and their bindings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from eventinfra.check.diagram import published_topics
from eventinfra.check.kafka_diagram import (
    KafkaClient,
    group_deployments,
    is_kafka_stack,
    kafka_clients,
    kafka_topics,
)
from eventinfra.check.rabbitmq_diagram import anchored_names, is_rabbitmq_stack
from eventinfra.errors import EventInfraError
from eventinfra.graph import RecordedResource, topology_name

__all__ = [
    "ASYNCAPI_VERSION",
    "DEFAULT_VERSION",
    "EventInfo",
    "asyncapi_document",
    "event_infos",
    "render",
]

ASYNCAPI_VERSION: Final = "3.0.0"
# EventCatalog and AsyncAPI both need a semantic version; a schema's own `version` wins.
DEFAULT_VERSION: Final = "1.0.0"
# The binding versions @asyncapi/specs knows for AsyncAPI 3.0.0 (its schemas/3.0.0.json).
SNS_BINDING_VERSION: Final = "0.1.0"
SQS_BINDING_VERSION: Final = "0.2.0"
AMQP_BINDING_VERSION: Final = "0.3.0"
# The newest Kafka binding there: its topicConfiguration allows every topic setting the plan has.
KAFKA_BINDING_VERSION: Final = "0.5.0"
EXTENSION: Final = "x-eventinfra"

TOPIC: Final = "aws:sns/topic:Topic"
QUEUE: Final = "aws:sqs/queue:Queue"
SUBSCRIPTION: Final = "aws:sns/topicSubscription:TopicSubscription"
EVENT_SOURCE: Final = "aws:lambda/eventSourceMapping:EventSourceMapping"
IAM_POLICY: Final = "aws:iam/policy:Policy"
RABBITMQ: Final = "kubernetes:rabbitmq.com/v1beta1:"
SECRET: Final = "kubernetes:core/v1:Secret"
DEPLOYMENT: Final = "kubernetes:apps/v1:Deployment"
KAFKA_CLUSTER: Final = "kubernetes:kafka.strimzi.io/v1:Kafka"
KAFKA_PLATFORM: Final = "eventinfra:index:KafkaPlatform"


@dataclass(frozen=True)
class EventInfo:
    """What the topology says about one event: its words and its payload schema."""

    name: str
    description: str | None = None
    schema: Mapping[str, Any] | None = None
    schema_file: Path | None = None

    @property
    def version(self) -> str:
        declared = self.schema.get("version") if self.schema else None
        return declared if isinstance(declared, str) else DEFAULT_VERSION


def event_infos(
    events: Mapping[str, tuple[str | None, Path | None]],
) -> dict[str, EventInfo]:
    """Each event's description and parsed JSON Schema, from (description, schema file) pairs."""
    infos: dict[str, EventInfo] = {}
    for name, (description, schema_file) in events.items():
        schema = None
        if schema_file is not None:
            try:
                schema = json.loads(schema_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise EventInfraError(
                    f"{schema_file}: the payload schema of event {name!r} cannot be read as "
                    f"JSON: {error}."
                ) from None
        infos[name] = EventInfo(name, description, schema, schema_file)
    return infos


def asyncapi_document(
    resources: Iterable[RecordedResource], events: Mapping[str, EventInfo], title: str
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of a plan; binding values are copied from recorded inputs."""
    resources = list(resources)
    builder = _Builder(title, events)
    if is_kafka_stack(resources):
        _describe_kafka(builder, resources)
    elif is_rabbitmq_stack(resources):
        _describe_rabbitmq(builder, resources)
    else:
        _describe_aws(builder, resources)
    return builder.document()


# --- shared -------------------------------------------------------------------------------------


@dataclass
class _Builder:
    title: str
    events: Mapping[str, EventInfo]
    servers: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)
    operations: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, Any] = field(default_factory=dict)
    security_schemes: dict[str, Any] = field(default_factory=dict)

    def message(self, event: str) -> dict[str, str]:
        if event not in self.messages:
            info = self.events.get(event, EventInfo(event))
            message: dict[str, Any] = {"name": event, "title": event}
            if info.description:
                message["summary"] = info.description
            if info.schema is not None:
                # Inlined as an AsyncAPI Schema Object; the parser knows no newer JSON Schema
                # dialect, and the keywords eventinfra's schemas use mean the same in both.
                message["payload"] = info.schema
            else:
                message["description"] = "The topology declares no payload schema."
            message[f"{EXTENSION}-version"] = info.version
            self.messages[event] = message
        return {"$ref": f"#/components/messages/{_pointer(event)}"}

    def channel_messages(self, events: Iterable[str]) -> dict[str, Any]:
        return {event: self.message(event) for event in events}

    def operation(
        self,
        service: str,
        action: str,
        channel: str,
        events: Iterable[str],
        bindings: Mapping[str, Any] | None,
        extension: Mapping[str, Any],
    ) -> None:
        verb = "sends" if action == "send" else "receives"
        for event in events:
            operation: dict[str, Any] = {
                "action": action,
                "title": f"{service} {verb} {event}",
                "channel": {"$ref": f"#/channels/{_pointer(channel)}"},
                "messages": [
                    {"$ref": f"#/channels/{_pointer(channel)}/messages/{_pointer(event)}"}
                ],
            }
            if bindings:
                operation["bindings"] = dict(bindings)
            operation[f"{EXTENSION}-service"] = service
            if extension:
                operation[EXTENSION] = dict(extension)
            self.operations[f"{service}.{verb}.{event}"] = operation

    def document(self) -> dict[str, Any]:
        return {
            "asyncapi": ASYNCAPI_VERSION,
            "info": {
                "title": self.title,
                "version": DEFAULT_VERSION,
                "description": "Generated by `eventinfra docs` from the resources the stack "
                "plans: every binding value is the value the plan gives the resource.",
            },
            "defaultContentType": "application/json",
            "servers": self.servers,
            "channels": self.channels,
            "operations": self.operations,
            "components": {
                "messages": self.messages,
                **({"securitySchemes": self.security_schemes} if self.security_schemes else {}),
            },
        }


def _pointer(key: str) -> str:
    """A key as a JSON Pointer token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _number(value: Any) -> Any:
    """Numbers cross protobuf as floats: show whole ones as integers, as the user wrote them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _unconsumed(stored_in: str, how: str) -> dict[str, Any]:
    return {"storedIn": stored_in, "how": how}


def _duration(seconds: Any) -> str:
    days = seconds / 86_400 if isinstance(seconds, int | float) else 0
    return f"{seconds} s ({days:g} days)" if days >= 1 else f"{seconds} s"


# --- sns-sqs ------------------------------------------------------------------------------------


def _describe_aws(builder: _Builder, resources: list[RecordedResource]) -> None:
    by_urn = {r.urn: r for r in resources}
    by_arn: dict[str, RecordedResource] = {}
    for resource in resources:
        # A policy's `arn` input names another resource: only a resource's own ARN counts.
        if (arn := resource.outputs.get("arn")) and "arn" not in resource.inputs:
            by_arn[str(arn)] = resource
    topic_arns = _event_topics(resources)
    region = next((arn.split(":")[3] for arn in topic_arns.values()), "")
    if region:
        builder.servers["sns"] = {
            "host": f"sns.{region}.amazonaws.com",
            "protocol": "sns",
            "description": f"Amazon SNS in {region}: one topic per event.",
        }
        builder.servers["sqs"] = {
            "host": f"sqs.{region}.amazonaws.com",
            "protocol": "sqs",
            "description": f"Amazon SQS in {region}: one queue per consumer, with its DLQ.",
        }

    def owner(resource: RecordedResource) -> RecordedResource | None:
        parent = by_urn.get(resource.parent or "")
        return parent if parent is not None and not parent.custom else None

    lambdas = {
        str(mapping.inputs.get("eventSourceArn")): mapping
        for mapping in resources
        if mapping.type == EVENT_SOURCE
    }
    publishers: dict[str, list[str]] = {}
    for policy in (r for r in resources if r.type == IAM_POLICY):
        component = owner(policy)
        for arn in published_topics(policy):
            if component is not None:
                publishers.setdefault(arn, []).append(topology_name(component, by_urn))

    for event in _ordered(builder.events, topic_arns):
        arn = topic_arns[event]
        topic = by_arn.get(arn)
        if topic is None:
            continue
        topic_name = str(topic.inputs.get("name", topic.name))
        info = builder.events.get(event, EventInfo(event))
        ordering: dict[str, Any] = {"type": "FIFO" if topic.inputs.get("fifoTopic") else "standard"}
        if "contentBasedDeduplication" in topic.inputs:
            ordering["contentBasedDeduplication"] = topic.inputs["contentBasedDeduplication"]
        channel: dict[str, Any] = {
            "address": topic_name,
            "title": event,
            "servers": [{"$ref": "#/servers/sns"}],
            "messages": builder.channel_messages([event]),
            "bindings": {
                "sns": {
                    "name": topic_name,
                    "ordering": ordering,
                    "bindingVersion": SNS_BINDING_VERSION,
                }
            },
        }
        if info.description:
            channel["description"] = info.description

        sns_consumers: list[dict[str, Any]] = []
        endpoint_queues: list[dict[str, Any]] = []
        consumers: list[tuple[str, RecordedResource, list[dict[str, Any]]]] = []
        parking: list[str] = []
        for subscription in (r for r in resources if r.type == SUBSCRIPTION):
            if subscription.inputs.get("topic") != arn:
                continue
            queue = by_arn.get(str(subscription.inputs.get("endpoint")))
            if queue is None or queue.type != QUEUE:
                continue
            queues = _queue_and_dead_letter(queue, by_arn)
            sns_consumers.append(_sns_consumer(subscription, queue, by_arn))
            endpoint_queues += [q for q in queues if q not in endpoint_queues]
            allow = _json(queue.inputs.get("redriveAllowPolicy"))
            component = owner(queue)
            if isinstance(allow, Mapping) and allow.get("redrivePermission") == "denyAll":
                parking.append(str(queue.inputs.get("name", queue.name)))
            elif component is not None:
                consumers.append((topology_name(component, by_urn), queue, queues))

        channel[f"{EXTENSION}-consumers"] = [name for name, _, _ in consumers]
        if not consumers:
            stored = ", ".join(parking) if parking else "nowhere"
            retention = ""
            if parking:
                parked = next(q for q in endpoint_queues if q["name"] == parking[0])
                if "messageRetentionPeriod" in parked:
                    retention = f" for {_duration(parked['messageRetentionPeriod'])}"
            channel["description"] = (
                (f"{info.description}\n\n" if info.description else "")
                + f"No consumer subscribes to {event}: "
                + (
                    f"every message is kept in the parking queue {stored}{retention}."
                    if parking
                    else "messages published to it are lost."
                )
            )
            channel[f"{EXTENSION}-unconsumed"] = _unconsumed(
                stored, "an SQS parking queue subscribed to the topic"
            )
        builder.channels[event] = channel

        send_bindings: dict[str, Any] = {}
        if sns_consumers:
            send_bindings["sns"] = {
                "topic": {"name": topic_name},
                "consumers": sns_consumers,
                "bindingVersion": SNS_BINDING_VERSION,
            }
            send_bindings["sqs"] = {
                "queues": endpoint_queues,
                "bindingVersion": SQS_BINDING_VERSION,
            }
        for producer in sorted(set(publishers.get(arn, []))):
            builder.operation(producer, "send", event, [event], send_bindings, {})
        for name, queue, queues in consumers:
            builder.operation(
                name,
                "receive",
                event,
                [event],
                {"sqs": {"queues": queues, "bindingVersion": SQS_BINDING_VERSION}},
                _aws_runtime(lambdas.get(str(queue.outputs.get("arn")))),
            )


def _event_topics(resources: list[RecordedResource]) -> dict[str, str]:
    """Event name → topic ARN, as the platform component registered it (`topic_arns`)."""
    for resource in resources:
        topics = resource.outputs.get("topic_arns") if not resource.custom else None
        if isinstance(topics, Mapping):
            return {str(event): str(arn) for event, arn in topics.items()}
    return {}


def _ordered(events: Mapping[str, EventInfo], planned: Iterable[str]) -> list[str]:
    """The planned events in topology order, then any the topology does not name, sorted."""
    planned = set(planned)
    return [e for e in events if e in planned] + sorted(planned - set(events))


def _queue_object(
    queue: RecordedResource, by_arn: Mapping[str, RecordedResource]
) -> dict[str, Any]:
    inputs = queue.inputs
    described: dict[str, Any] = {
        "name": str(inputs.get("name", queue.name)),
        # Unset on the resource means the SQS default: a standard queue.
        "fifoQueue": bool(inputs.get("fifoQueue", False)),
    }
    for binding_key, input_key in (
        ("deduplicationScope", "deduplicationScope"),
        ("fifoThroughputLimit", "fifoThroughputLimit"),
        ("deliveryDelay", "delaySeconds"),
        ("visibilityTimeout", "visibilityTimeoutSeconds"),
        ("receiveMessageWaitTime", "receiveWaitTimeSeconds"),
        ("messageRetentionPeriod", "messageRetentionSeconds"),
    ):
        if input_key in inputs:
            described[binding_key] = _number(inputs[input_key])
    redrive = _json(inputs.get("redrivePolicy"))
    if isinstance(redrive, Mapping) and "deadLetterTargetArn" in redrive:
        target = by_arn.get(str(redrive["deadLetterTargetArn"]))
        policy: dict[str, Any] = {
            "deadLetterQueue": {"name": str(target.inputs.get("name", target.name))}
            if target is not None
            else {"arn": str(redrive["deadLetterTargetArn"])}
        }
        if "maxReceiveCount" in redrive:
            policy["maxReceiveCount"] = _number(redrive["maxReceiveCount"])
        described["redrivePolicy"] = policy
    allow = _json(inputs.get("redriveAllowPolicy"))
    if isinstance(allow, Mapping):
        described[f"{EXTENSION}-redriveAllowPolicy"] = dict(allow)
    return described


def _queue_and_dead_letter(
    queue: RecordedResource, by_arn: Mapping[str, RecordedResource]
) -> list[dict[str, Any]]:
    """A queue and the queue its redrive policy names, as SQS binding Queue objects."""
    described = [_queue_object(queue, by_arn)]
    redrive = _json(queue.inputs.get("redrivePolicy"))
    if isinstance(redrive, Mapping):
        target = by_arn.get(str(redrive.get("deadLetterTargetArn")))
        if target is not None:
            described.append(_queue_object(target, by_arn))
    return described


def _sns_consumer(
    subscription: RecordedResource, queue: RecordedResource, by_arn: Mapping[str, RecordedResource]
) -> dict[str, Any]:
    inputs = subscription.inputs
    consumer: dict[str, Any] = {
        "protocol": str(inputs.get("protocol")),
        "endpoint": {"name": str(queue.inputs.get("name", queue.name))},
        "rawMessageDelivery": bool(inputs.get("rawMessageDelivery", False)),
    }
    filter_policy = _json(inputs.get("filterPolicy"))
    if isinstance(filter_policy, Mapping):
        consumer["filterPolicy"] = dict(filter_policy)
        if "filterPolicyScope" in inputs:
            consumer["filterPolicyScope"] = inputs["filterPolicyScope"]
    redrive = _json(inputs.get("redrivePolicy"))
    if isinstance(redrive, Mapping) and "deadLetterTargetArn" in redrive:
        target = by_arn.get(str(redrive["deadLetterTargetArn"]))
        consumer["redrivePolicy"] = {
            "deadLetterQueue": {"name": str(target.inputs.get("name", target.name))}
            if target is not None
            else {"arn": str(redrive["deadLetterTargetArn"])}
        }
    return consumer


def _aws_runtime(mapping: RecordedResource | None) -> dict[str, Any]:
    if mapping is None:
        return {"runtime": "external"}
    runtime: dict[str, Any] = {
        "runtime": "lambda",
        "function": str(mapping.inputs.get("functionName", "")).rsplit(":", 1)[-1],
    }
    for key in ("batchSize", "maximumBatchingWindowInSeconds", "functionResponseTypes"):
        if key in mapping.inputs:
            runtime[key] = _number(mapping.inputs[key])
    scaling = mapping.inputs.get("scalingConfig")
    if isinstance(scaling, Mapping) and "maximumConcurrency" in scaling:
        runtime["maximumConcurrency"] = _number(scaling["maximumConcurrency"])
    return runtime


# --- rabbitmq -----------------------------------------------------------------------------------


def _describe_rabbitmq(builder: _Builder, resources: list[RecordedResource]) -> None:
    def of_kind(kind: str) -> list[Mapping[str, Any]]:
        return [r.spec for r in resources if r.type == RABBITMQ + kind]

    exchanges = {str(e["name"]): e for e in of_kind("Exchange")}
    queues = {str(q["name"]): q for q in of_kind("Queue")}
    bindings_from: dict[str, list[Mapping[str, Any]]] = {}
    for declared_binding in of_kind("Binding"):
        bindings_from.setdefault(str(declared_binding["source"]), []).append(declared_binding)
    queue_policies: dict[str, Mapping[str, Any]] = {}
    exchange_policies: dict[str, Mapping[str, Any]] = {}
    for policy in of_kind("Policy"):
        applies = queue_policies if policy.get("applyTo") == "queues" else exchange_policies
        for name in anchored_names(str(policy.get("pattern", ""))):
            applies[name] = policy

    _rabbitmq_server(builder, resources)
    vhost = next((str(e.get("vhost")) for e in exchanges.values() if e.get("vhost")), "/")

    def queue_channel(name: str, events: list[str], role: str) -> str:
        key = f"queue.{name}"
        declared = queues.get(name, {})
        queue: dict[str, Any] = {"name": name}
        for item in ("durable", "autoDelete", "vhost"):
            if item in declared:
                queue[item] = declared[item]
        # x-queue-type is the one queue argument eventinfra declares (the rest live in policies).
        for argument, value in dict(declared.get("arguments") or {}).items():
            queue[str(argument)] = _number(value)
        binding: dict[str, Any] = {
            "is": "queue",
            "queue": queue,
            "bindingVersion": AMQP_BINDING_VERSION,
        }
        if name in queue_policies:
            policy = queue_policies[name]
            binding[f"{EXTENSION}-policy"] = {
                "name": policy.get("name"),
                "pattern": policy.get("pattern"),
                "definition": {k: _number(v) for k, v in dict(policy["definition"]).items()},
            }
        channel: dict[str, Any] = {
            "address": name,
            "title": f"{role} {name}",
            "servers": [{"$ref": "#/servers/rabbitmq"}],
            "messages": builder.channel_messages(events),
            "bindings": {"amqp": binding},
        }
        builder.channels[key] = channel
        return key

    users = _rabbitmq_usernames(resources)
    containers = {
        str(env.get("value"))
        for r in resources
        if r.type == DEPLOYMENT
        for container in r.spec["template"]["spec"]["containers"]
        for env in container.get("env", [])
        if env.get("name") == "EVENTINFRA_RABBITMQ_QUEUE"
    }
    writers: dict[str, list[str]] = {}
    readers: dict[str, list[str]] = {}
    for permission in of_kind("Permission"):
        user = users.get(str(permission.get("userReference", {}).get("name")), "")
        rights = permission.get("permissions", {})
        for writable in anchored_names(str(rights.get("write", "^$"))):
            writers.setdefault(writable, []).append(user)
        for queue in anchored_names(str(rights.get("read", "^$"))):
            readers.setdefault(queue, []).append(user)

    topic_exchanges = [n for n, e in exchanges.items() if e.get("type") == "topic"]
    queue_events: dict[str, list[str]] = {}
    for event in topic_exchanges:
        for queue_binding in bindings_from.get(event, []):
            queue_events.setdefault(str(queue_binding["destination"]), []).append(event)

    for event in _ordered(builder.events, topic_exchanges):
        declared = exchanges[event]
        info = builder.events.get(event, EventInfo(event))
        exchange: dict[str, Any] = {
            k: declared[k] for k in ("name", "type", "durable", "autoDelete") if k in declared
        }
        exchange["vhost"] = str(declared.get("vhost", vhost))
        exchange_binding: dict[str, Any] = {
            "is": "routingKey",
            "exchange": exchange,
            "bindingVersion": AMQP_BINDING_VERSION,
        }
        alternate = exchange_policies.get(event, {}).get("definition", {}).get("alternate-exchange")
        parking = (
            [str(b["destination"]) for b in bindings_from.get(str(alternate), [])]
            if alternate
            else []
        )
        if alternate:
            exchange_binding[f"{EXTENSION}-alternateExchange"] = {
                "name": alternate,
                "queues": parking,
            }
        consumer_queues = [
            (str(b["destination"]), str(b.get("routingKey", "")))
            for b in bindings_from.get(event, [])
        ]
        channel: dict[str, Any] = {
            "address": event,
            "title": event,
            "servers": [{"$ref": "#/servers/rabbitmq"}],
            "messages": builder.channel_messages([event]),
            "bindings": {"amqp": exchange_binding},
        }
        if info.description:
            channel["description"] = info.description
        consumers = sorted(
            {user for queue, _ in consumer_queues for user in readers.get(queue, [])}
        )
        channel[f"{EXTENSION}-consumers"] = consumers
        if not consumer_queues:
            stored = ", ".join(parking) or "nowhere"
            channel["description"] = (
                (f"{info.description}\n\n" if info.description else "")
                + f"No queue is bound to {event}: "
                + (
                    f"every message goes through the alternate exchange {alternate} to the "
                    f"parking queue {stored}."
                    if parking
                    else "messages published to it are dropped."
                )
            )
            channel[f"{EXTENSION}-unconsumed"] = _unconsumed(
                stored, "the exchange's alternate exchange, bound to a parking queue"
            )
        builder.channels[event] = channel
        for producer in sorted(set(writers.get(event, []))):
            builder.operation(producer, "send", event, [event], None, {})

    for queue_name in sorted(queue_events):
        key = queue_channel(queue_name, queue_events[queue_name], "queue")
        for user in sorted(set(readers.get(queue_name, []))):
            runtime = "container" if queue_name in containers else "external"
            builder.operation(
                user, "receive", key, queue_events[queue_name], None, {"runtime": runtime}
            )
    for queue_name, policy in sorted(queue_policies.items()):
        dead_letter = policy.get("definition", {}).get("dead-letter-exchange")
        for binding in bindings_from.get(str(dead_letter), []):
            queue_channel(str(binding["destination"]), queue_events.get(queue_name, []), "DLQ")
    for event in topic_exchanges:
        alternate = exchange_policies.get(event, {}).get("definition", {}).get("alternate-exchange")
        for binding in bindings_from.get(str(alternate), []):
            queue_channel(str(binding["destination"]), [event], "parking queue")


def _rabbitmq_server(builder: _Builder, resources: list[RecordedResource]) -> None:
    """The broker as clients reach it: host, port and vhost of a credentials Secret."""
    for secret in (r for r in resources if r.type == SECRET):
        data = secret.inputs.get("stringData")
        if not isinstance(data, Mapping) or not {"host", "port", "vhost", "uri"} <= set(data):
            continue
        # Only the scheme of the URI: the rest carries the password.
        scheme = str(data["uri"]).split(":", 1)[0]
        builder.servers["rabbitmq"] = {
            "host": f"{data['host']}:{data['port']}",
            "protocol": scheme,
            "pathname": f"/{data['vhost']}",
            "description": "The RabbitMQ cluster's AMQP listener, as the credential Secrets "
            "give it to applications.",
        }
        return


def _rabbitmq_usernames(resources: list[RecordedResource]) -> dict[str, str]:
    """User object name → the username its credentials Secret holds."""
    secrets = {r.object_name: r.inputs.get("stringData", {}) for r in resources if r.type == SECRET}
    names: dict[str, str] = {}
    for user in (r for r in resources if r.type == RABBITMQ + "User"):
        secret_name = user.spec.get("importCredentialsSecret", {}).get("name")
        username = secrets.get(str(secret_name), {}).get("username")
        if username:
            names[user.object_name] = str(username)
    return names


# --- kafka --------------------------------------------------------------------------------------


def _describe_kafka(builder: _Builder, resources: list[RecordedResource]) -> None:
    by_urn = {r.urn: r for r in resources}
    topics = kafka_topics(resources)
    clients = kafka_clients(resources)
    deployments = group_deployments(resources)
    dead_letters = {topic: c for c in clients for topic in c.dead_letter_topics if topic in topics}
    retries = {topic: c for c in clients for topic in c.retry_topics if topic in topics}
    events = _kafka_event_topics(resources, set(topics) - set(dead_letters) - set(retries))
    _kafka_server(builder, resources)

    def channel(key: str, topic: str, carried: list[str], title: str) -> dict[str, Any]:
        declared = topics[topic].spec
        binding: dict[str, Any] = {"topic": topic}
        for item in ("partitions", "replicas"):
            if item in declared:
                binding[item] = _number(declared[item])
        config = {str(k): _number(v) for k, v in dict(declared.get("config") or {}).items()}
        if isinstance(config.get("cleanup.policy"), str):
            # Kafka takes a comma-separated list ("compact,delete"); the binding, an array.
            config["cleanup.policy"] = config["cleanup.policy"].split(",")
        if config:
            binding["topicConfiguration"] = config
        binding["bindingVersion"] = KAFKA_BINDING_VERSION
        described: dict[str, Any] = {
            "address": topic,
            "title": title,
            "servers": [{"$ref": "#/servers/kafka"}],
            "messages": builder.channel_messages(carried),
            "bindings": {"kafka": binding},
        }
        builder.channels[key] = described
        return described

    consumed_by: dict[str, list[KafkaClient]] = {}
    for client in clients:
        for topic in client.event_reads if client.is_consumer else ():
            consumed_by.setdefault(topic, []).append(client)

    for event in _ordered(builder.events, events):
        topic = events[event]
        info = builder.events.get(event, EventInfo(event))
        described = channel(event, topic, [event], event)
        if info.description:
            described["description"] = info.description
        readers = consumed_by.get(topic, [])
        described[f"{EXTENSION}-consumers"] = [_kafka_service(c, by_urn) for c in readers]
        if not readers:
            retention = _topic_retention(described["bindings"]["kafka"])
            described["description"] = (
                (f"{info.description}\n\n" if info.description else "")
                + f"No consumer group reads {event}: every message is kept in the topic "
                + f"{topic}{retention}, and a consumer group added later reads it from the "
                "oldest message still kept (eventinfra's consumers start at the earliest offset)."
            )
            described[f"{EXTENSION}-unconsumed"] = _unconsumed(
                topic, "the topic itself, for its retention, for consumer groups added later"
            )
        for producer in clients:
            if producer.is_producer and topic in producer.writes:
                builder.operation(
                    _kafka_service(producer, by_urn), "send", event, [event], None, {}
                )
        for consumer in readers:
            runtime: dict[str, Any] = {
                "runtime": "container"
                if any(g in deployments for g in consumer.groups)
                else "external"
            }
            if consumer.dead_letter_topics:
                runtime["deadLetterTopics"] = list(consumer.dead_letter_topics)
            if consumer.retry_topics:
                runtime["retryTopics"] = list(consumer.retry_topics)
            builder.operation(
                _kafka_service(consumer, by_urn),
                "receive",
                event,
                [event],
                {
                    "kafka": {
                        # A Schema Object, as the binding defines groupId: the one group the
                        # consumer's ACL lets it join.
                        "groupId": {"type": "string", "enum": list(consumer.groups)},
                        "bindingVersion": KAFKA_BINDING_VERSION,
                    }
                },
                runtime,
            )

    for topic, consumer in sorted(dead_letters.items()):
        carried = [e for e in _ordered(builder.events, events) if events[e] in consumer.reads]
        service = _kafka_service(consumer, by_urn)
        described = channel(topic, topic, carried, f"dead-letter topic {topic}")
        described["description"] = (
            f"{service} writes here the messages it cannot process: its "
            f"KafkaUser {consumer.name} may write this topic and not read it."
        )
        described[f"{EXTENSION}-deadLetterOf"] = service

    for topic, consumer in sorted(retries.items()):
        carried = [e for e in _ordered(builder.events, events) if events[e] in consumer.reads]
        service = _kafka_service(consumer, by_urn)
        described = channel(topic, topic, carried, f"retry topic {topic}")
        described["description"] = (
            f"`eventinfra dlq redrive` writes here the dead letters of {service}, which reads "
            f"this topic besides its events' topics: a redriven message reaches {service} "
            "alone, not every consumer group of the event's topic."
        )
        described[f"{EXTENSION}-retryOf"] = service


def _kafka_event_topics(
    resources: list[RecordedResource], event_topics: set[str]
) -> dict[str, str]:
    """Event name → topic, as the platform registered it (`topics`); a topic declared without
    the platform carries the event of its own name."""
    for resource in resources:
        planned = resource.outputs.get("topics") if resource.type == KAFKA_PLATFORM else None
        if isinstance(planned, Mapping):
            return {str(e): str(t) for e, t in planned.items() if str(t) in event_topics}
    return {topic: topic for topic in event_topics}


def _kafka_service(client: KafkaClient, by_urn: Mapping[str, RecordedResource]) -> str:
    """The topology's name for the application behind a KafkaUser: the first component above
    it that a platform named (`events-consumer-mailer` is `mailer`), else the user's name."""
    parent = by_urn.get(client.user.parent or "")
    while parent is not None and not parent.custom:
        name = topology_name(parent, by_urn)
        if name != parent.name:
            return name
        parent = by_urn.get(parent.parent or "")
    return client.name


def _topic_retention(binding: Mapping[str, Any]) -> str:
    retention = binding.get("topicConfiguration", {}).get("retention.ms")
    if not isinstance(retention, int) or retention < 0:
        return " with no time limit" if retention == -1 else ""
    return f" for {_duration(retention // 1000)}"


def _kafka_server(builder: _Builder, resources: list[RecordedResource]) -> None:
    """The cluster's internal bootstrap listener, TLS preferred, and how clients authenticate."""
    for cluster in (r for r in resources if r.type == KAFKA_CLUSTER):
        listeners = [
            listener
            for listener in cluster.spec.get("kafka", {}).get("listeners") or []
            if listener.get("type") == "internal"
        ]
        if not listeners:
            continue
        listener = next((item for item in listeners if item.get("tls")), listeners[0])
        metadata = cluster.inputs.get("metadata") or {}
        # Strimzi's Service for internal listeners: <cluster>-kafka-bootstrap, one port each.
        host = (
            f"{cluster.object_name}-kafka-bootstrap.{metadata.get('namespace', 'default')}"
            f".svc:{_number(listener.get('port'))}"
        )
        server: dict[str, Any] = {
            "host": host,
            "protocol": "kafka-secure" if listener.get("tls") else "kafka",
            "description": f"The Kafka cluster {cluster.object_name}'s internal listener "
            f"{listener.get('name')!s}, through Strimzi's bootstrap Service.",
        }
        authentication = str((listener.get("authentication") or {}).get("type", ""))
        scheme = _KAFKA_SECURITY_SCHEMES.get(authentication)
        if scheme is not None:
            builder.security_schemes[scheme[0]] = scheme[1]
            server["security"] = [{"$ref": f"#/components/securitySchemes/{scheme[0]}"}]
        builder.servers["kafka"] = server
        return


# Strimzi listener authentication → an AsyncAPI Security Scheme; each KafkaUser's Secret holds
# the matching credentials.
_KAFKA_SECURITY_SCHEMES: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "tls": (
        "kafkaClientCertificate",
        {
            "type": "X509",
            "description": "Mutual TLS: each application presents the client certificate "
            "Strimzi issued to its KafkaUser (the Secret named after the user).",
        },
    ),
    "scram-sha-512": (
        "kafkaScramSha512",
        {
            "type": "scramSha512",
            "description": "SCRAM-SHA-512 with the password Strimzi generated for the "
            "application's KafkaUser (the Secret named after the user).",
        },
    ),
}


# --- output -------------------------------------------------------------------------------------


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a shared queue object out in full each time: anchors would hide it from readers."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(document: Mapping[str, Any], path: Path) -> str:
    """The document as JSON for a `.json` file, else as YAML."""
    if path.suffix == ".json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(
        document, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100
    )
