"""Reading Kafka on Kubernetes: Strimzi type tokens, defaults, topics, users' ACLs, consumers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..common import Res, Stack, get, plain
from ..kubernetes.workloads import container_env, namespace_of

GROUP: Final = "kubernetes:kafka.strimzi.io/v1"
KAFKA: Final = f"{GROUP}:Kafka"
TOPIC: Final = f"{GROUP}:KafkaTopic"
USER: Final = f"{GROUP}:KafkaUser"
CLUSTER_LABEL: Final = "strimzi.io/cluster"

# Apache Kafka's broker defaults for a setting neither the topic nor the Kafka resource sets.
KAFKA_DEFAULT_REPLICATION: Final = 1  # default.replication.factor
KAFKA_DEFAULT_MIN_INSYNC: Final = 1  # min.insync.replicas
DEFAULT_MIN_REPLICATION: Final = 3
DEFAULT_MIN_INSYNC: Final = 2
DEFAULT_PATTERN_TYPE: Final = "literal"  # Strimzi KafkaUser acls[].resource.patternType
# The runtime's contract (components/eventinfra/kafka/consumer.py): a consumer's group.
CONSUMER_GROUP_ENV: Final = "EVENTINFRA_KAFKA_GROUP"

KAFKA_REPLICATION: Final = "https://kafka.apache.org/documentation/#replication"
STRIMZI_ACLS: Final = (
    "https://strimzi.io/docs/operators/latest/deploying#con-securing-client-authorization-str"
)
KEDA_KAFKA: Final = "https://keda.sh/docs/latest/scalers/apache-kafka/"


def cluster_of(resource: Res) -> tuple[str, str]:
    """(namespace, Strimzi cluster) a KafkaTopic or KafkaUser belongs to, by its label."""
    labels = resource.known("metadata", "labels")
    cluster = labels.get(CLUSTER_LABEL) if isinstance(labels, Mapping) else None
    return namespace_of(resource.props), str(cluster or "")


def topic_name(topic: Res) -> str:
    """The Kafka topic: spec.topicName, else the object's name (Strimzi's rule)."""
    return str(topic.get("spec", "topicName") or topic.get("metadata", "name") or "")


def topics_by_name(stack: Stack) -> dict[tuple[str, str, str], Res]:
    """KafkaTopics by (namespace, cluster, topic); unreadable names are left out."""
    found: dict[tuple[str, str, str], Res] = {}
    for topic in stack.of(TOPIC):
        name = topic.known("spec", "topicName") or topic.known("metadata", "name")
        if isinstance(name, str) and name:
            found.setdefault((*cluster_of(topic), name), topic)
    return found


def broker_config(stack: Stack) -> dict[tuple[str, str], Mapping[str, Any]]:
    """Each Kafka resource's spec.kafka.config by (namespace, cluster name)."""
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    for kafka in stack.of(KAFKA):
        config = kafka.known("spec", "kafka", "config")
        name = kafka.known("metadata", "name")
        if isinstance(name, str):
            found[namespace_of(kafka.props), name] = (
                plain(config) if isinstance(config, Mapping) else {}
            )
    return found


@dataclass(frozen=True)
class Acl:
    resource_type: str
    name: str
    pattern_type: str
    operations: frozenset[str]

    def allows(self, operation: str) -> bool:
        return operation in self.operations or "All" in self.operations


def acls(user: Mapping[str, Any]) -> list[Acl]:
    """The allow ACLs of a KafkaUser's simple authorization (its props)."""
    listed = get(user, "spec", "authorization", "acls")
    if not isinstance(listed, Sequence) or isinstance(listed, str):
        return []
    found = []
    for index in range(len(listed)):
        acl = get(listed, index)
        if not isinstance(acl, Mapping) or (get(acl, "type") or "allow") != "allow":
            continue
        resource = get(acl, "resource")
        if not isinstance(resource, Mapping):
            continue
        operations = plain(get(acl, "operations") or [])
        if get(acl, "operation"):
            operations = [*operations, get(acl, "operation")]
        found.append(
            Acl(
                str(get(resource, "type") or ""),
                str(get(resource, "name") or ""),
                str(get(resource, "patternType") or DEFAULT_PATTERN_TYPE),
                frozenset(str(o) for o in operations),
            )
        )
    return found


def set_aside_topics(stack: Stack) -> set[tuple[str, str, str]]:
    """Topics a principal with a consumer group writes but does not read, by (namespace,
    cluster, topic): a consumer's dead-letter topic, or a retry topic the ops user (`eventinfra
    dlq redrive`) writes. They carry a few set-aside events, never an event's whole stream."""
    found: set[tuple[str, str, str]] = set()
    for user in stack.of(USER):
        granted = acls(user.props)
        if not any(a.resource_type == "group" and a.allows("Read") for a in granted):
            continue
        topics = [a for a in granted if a.resource_type == "topic"]
        read = {a.name for a in topics if a.allows("Read")}
        found |= {
            (*cluster_of(user), a.name) for a in topics if a.allows("Write") and a.name not in read
        }
    return found


def consumer_group(deployment: Res) -> tuple[bool, str | None]:
    """(is a Kafka consumer, its group when given literally) by the runtime's env contract."""
    return container_env(deployment, CONSUMER_GROUP_ENV)


def kafka_triggers(scaled: Res) -> list[Mapping[str, Any]]:
    triggers = plain(scaled.get("spec", "triggers") or [])
    return [t for t in triggers if isinstance(t, Mapping) and t.get("type") == "kafka"]
