"""Compliant Kubernetes building blocks for the policy corpus: each case changes ONE thing."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s

NAMESPACE = "events"
CLUSTER_REFERENCE = {"name": "events-rabbitmq", "namespace": NAMESPACE}
VHOST = "events"
KAFKA_CLUSTER = "events-kafka"
RESTRICTED_CONTAINER: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}
NON_ROOT_POD: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def worker(
    name: str,
    *,
    image: str = "ghcr.io/acme/report-worker:2.3.1",
    container_security: dict[str, Any] | None = None,
    pod_security: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> k8s.apps.v1.Deployment:
    """A single-replica background worker with probes, resources and a restricted context."""
    labels = {"app.kubernetes.io/name": name}
    return k8s.apps.v1.Deployment(
        name,
        metadata={"name": name, "namespace": NAMESPACE, "labels": labels},
        spec={
            "replicas": 1,
            "selector": {"match_labels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automount_service_account_token": False,
                    "security_context": NON_ROOT_POD if pod_security is None else pod_security,
                    "containers": [
                        {
                            "name": "worker",
                            "image": image,
                            "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                            "ports": [{"name": "health", "container_port": 8080}],
                            "security_context": (
                                RESTRICTED_CONTAINER
                                if container_security is None
                                else container_security
                            ),
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": "100m", "memory": "128Mi"},
                            },
                            "liveness_probe": {"http_get": {"path": "/healthz", "port": "health"}},
                            "readiness_probe": {"http_get": {"path": "/readyz", "port": "health"}},
                        }
                    ],
                },
            },
        },
    )


def _custom(kind: str, name: str, spec: dict[str, Any]) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        name,
        api_version="rabbitmq.com/v1beta1",
        kind=kind,
        metadata={"name": name, "namespace": NAMESPACE},
        spec={"vhost": VHOST, "rabbitmqClusterReference": CLUSTER_REFERENCE, **spec},
    )


def queue(name: str, queue_type: str = "quorum") -> k8s.apiextensions.CustomResource:
    return _custom(
        "Queue",
        name,
        {"name": name, "type": queue_type, "durable": True, "deletionPolicy": "retain"},
    )


def dead_lettered(name: str) -> None:
    """A fanout DLX bound to a quorum DLQ, and the Policy that dead-letters `name` to it."""
    dead_letter = f"{name}.dead-letter"
    _custom("Exchange", f"{name}-dead-letter-exchange", {"name": dead_letter, "type": "fanout"})
    queue(f"{name}-dead-letter")
    _custom(
        "Binding",
        f"{name}-dead-letter-binding",
        {"source": dead_letter, "destination": f"{name}-dead-letter", "destinationType": "queue"},
    )
    _custom(
        "Policy",
        f"{name}-policy",
        {
            "name": name,
            "pattern": f"^{name}$",
            "applyTo": "queues",
            "priority": 10,
            "definition": {
                "dead-letter-exchange": dead_letter,
                "dead-letter-strategy": "at-least-once",
                "delivery-limit": 5,
                "overflow": "reject-publish",
            },
        },
    )


def kafka_acl(kind: str, name: str, *operations: str, pattern: str = "literal") -> dict[str, Any]:
    return {
        "type": "allow",
        "resource": {"type": kind, "name": name, "patternType": pattern},
        "operations": list(operations),
    }


def kafka_user(name: str, *acls: dict[str, Any]) -> k8s.apiextensions.CustomResource:
    """A Strimzi KafkaUser with TLS client authentication and the given simple ACLs."""
    return k8s.apiextensions.CustomResource(
        name,
        api_version="kafka.strimzi.io/v1",
        kind="KafkaUser",
        metadata={
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"strimzi.io/cluster": KAFKA_CLUSTER},
        },
        spec={
            "authentication": {"type": "tls"},
            "authorization": {"type": "simple", "acls": list(acls)},
        },
    )


def kafka_topic(
    name: str, topic: str, *, partitions: int = 6, replicas: int = 3, min_insync: int = 2
) -> k8s.apiextensions.CustomResource:
    """A Strimzi KafkaTopic of the corpus cluster, replicated 3 with min.insync.replicas 2."""
    return k8s.apiextensions.CustomResource(
        name,
        api_version="kafka.strimzi.io/v1",
        kind="KafkaTopic",
        metadata={
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"strimzi.io/cluster": KAFKA_CLUSTER},
        },
        spec={
            "topicName": topic,
            "partitions": partitions,
            "replicas": replicas,
            "config": {"min.insync.replicas": min_insync, "retention.ms": 604800000},
        },
    )


def kafka_scaler(
    name: str, target: str, group: str, topic: str, *, max_replicas: int
) -> k8s.apiextensions.CustomResource:
    """A KEDA ScaledObject scaling Deployment `target` on `group`'s lag on `topic`."""
    return k8s.apiextensions.CustomResource(
        name,
        api_version="keda.sh/v1alpha1",
        kind="ScaledObject",
        metadata={"name": name, "namespace": NAMESPACE},
        spec={
            "scaleTargetRef": {"name": target},
            "minReplicaCount": 1,
            "maxReplicaCount": max_replicas,
            "triggers": [
                {
                    "type": "kafka",
                    "metadata": {
                        "bootstrapServers": f"{KAFKA_CLUSTER}-kafka-bootstrap:9093",
                        "consumerGroup": group,
                        "topic": topic,
                        "lagThreshold": "50",
                    },
                }
            ],
        },
    )


def disruption_budget(name: str) -> k8s.policy.v1.PodDisruptionBudget:
    """maxUnavailable 1 over the pods of worker `name`."""
    return k8s.policy.v1.PodDisruptionBudget(
        f"{name}-pdb",
        metadata={"name": f"{name}-pdb", "namespace": NAMESPACE},
        spec={"max_unavailable": 1, "selector": {"match_labels": {"app.kubernetes.io/name": name}}},
    )
