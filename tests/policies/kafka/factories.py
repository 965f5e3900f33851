"""A compliant Kafka platform as the Strimzi resources record it, and changed copies."""

from __future__ import annotations

import copy
from typing import Any

from tests.policies.factories import Res
from tests.policies.kubernetes.factories import consumer_container, deployment, pod, scaled_object

GROUP = "kubernetes:kafka.strimzi.io/v1"
LABELS = {"strimzi.io/cluster": "events-kafka"}


def kafka(**config: Any) -> Res:
    return Res(
        f"{GROUP}:Kafka",
        "events-kafka",
        {
            "metadata": {"name": "events-kafka", "namespace": "events"},
            "spec": {
                "kafka": {
                    "authorization": {"type": "simple"},
                    "config": {
                        "default.replication.factor": 3,
                        "min.insync.replicas": 2,
                        **config,
                    },
                }
            },
        },
    )


def topic(name: str, topic_name: str, *, partitions: int = 6, **config: Any) -> Res:
    return Res(
        f"{GROUP}:KafkaTopic",
        name,
        {
            "metadata": {"name": name, "namespace": "events", "labels": dict(LABELS)},
            "spec": {
                "topicName": topic_name,
                "partitions": partitions,
                "replicas": 3,
                "config": {"min.insync.replicas": 2, "cleanup.policy": "delete", **config},
            },
        },
    )


def acl(kind: str, name: str, *operations: str, pattern: str = "literal") -> dict[str, Any]:
    return {
        "type": "allow",
        "resource": {"type": kind, "name": name, "patternType": pattern},
        "operations": list(operations),
    }


def user(name: str, *acls: dict[str, Any]) -> Res:
    return Res(
        f"{GROUP}:KafkaUser",
        name,
        {
            "metadata": {"name": name, "namespace": "events", "labels": dict(LABELS)},
            "spec": {
                "authentication": {"type": "tls"},
                "authorization": {"type": "simple", "acls": list(acls)},
            },
        },
    )


def consumer_env(group: str = "mailer") -> list[dict[str, str]]:
    return [
        {"name": "EVENTINFRA_BROKER", "value": "kafka"},
        {"name": "EVENTINFRA_KAFKA_TOPICS", "value": "user.signup"},
        {"name": "EVENTINFRA_KAFKA_GROUP", "value": group},
    ]


def kafka_trigger(**metadata: str) -> dict[str, Any]:
    return {
        "type": "kafka",
        "authenticationRef": {"name": "k8s-mailer-kafka"},
        "metadata": {
            "bootstrapServers": "events-kafka-kafka-bootstrap.events.svc:9093",
            "consumerGroup": "mailer",
            "topic": "user.signup",
            "lagThreshold": "50",
            "excludePersistentLag": "true",
            **metadata,
        },
    }


def happy_platform() -> dict[str, Res]:
    """user.signup read by the mailer (dead-letter and retry topic, autoscaled) and written by
    accounts; the ops user reads the dead-letter topic and writes the retry topic."""
    resources = [
        kafka(),
        topic("user-signup-topic", "user.signup"),
        topic("mailer-dead-letter-topic", "mailer.dead-letter", partitions=1),
        topic("mailer-retry-topic", "mailer.retry", partitions=1),
        user("accounts-user", acl("topic", "user.signup", "Write", "Describe")),
        user(
            "mailer-user",
            acl("topic", "user.signup", "Read", "Describe"),
            acl("topic", "mailer.retry", "Read", "Describe"),
            acl("group", "mailer", "Read"),
            acl("topic", "mailer.dead-letter", "Write", "Describe"),
        ),
        user(
            "ops-user",
            acl("group", "eventinfra-ops", "Read"),
            acl("topic", "mailer.dead-letter", "Read", "Describe"),
            acl("topic", "mailer.retry", "Write", "Describe"),
        ),
        deployment(spec=pod(consumer_container(env=consumer_env()))),
        scaled_object(
            maxReplicaCount=6, triggers=[kafka_trigger(), kafka_trigger(topic="mailer.retry")]
        ),
    ]
    return {r.name: r for r in resources}


def changed(
    stack: dict[str, Res], name: str, path: tuple[str | int, ...], value: Any
) -> dict[str, Res]:
    """A copy of `stack` with props[path] of `name` set to `value` (None deletes it)."""
    copied = copy.deepcopy(stack)
    props: Any = copied[name].props
    for key in path[:-1]:
        props = props[key]
    if value is None:
        del props[path[-1]]
    else:
        props[path[-1]] = value
    return copied
