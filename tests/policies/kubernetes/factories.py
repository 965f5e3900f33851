"""Kubernetes workloads as ContainerConsumer records them, and one-change copies of them."""

from __future__ import annotations

import copy
from typing import Any

from tests.policies.factories import Res, check_resource

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
CRON_JOB = "kubernetes:batch/v1:CronJob"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
LABELS = {"app.kubernetes.io/name": "k8s-mailer"}


def consumer_container(**changes: Any) -> dict[str, Any]:
    """The container ContainerConsumer records for the mailer (see the k8s example stack)."""
    container = {
        "name": "consumer",
        "image": "ghcr.io/acme/mailer:1.4.2",
        "env": [{"name": "EVENTINFRA_RABBITMQ_QUEUE", "value": "mailer"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "250m", "memory": "256Mi"},
        },
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "health"}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"}, "periodSeconds": 10},
    }
    container.update(changes)
    return container


def pod(*containers: dict[str, Any], **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": list(containers) or [consumer_container()],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001},
        "automountServiceAccountToken": False,
    }
    spec.update(changes)
    return spec


def deployment(
    name: str = "mailer-deployment",
    *,
    replicas: int = 1,
    spec: dict[str, Any] | None = None,
    namespace: str = "events",
) -> Res:
    return Res(
        DEPLOYMENT,
        name,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "k8s-mailer", "namespace": namespace, "labels": dict(LABELS)},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": dict(LABELS)},
                "template": {"metadata": {"labels": dict(LABELS)}, "spec": spec or pod()},
            },
        },
    )


def pdb(name: str = "mailer-pdb", **spec: Any) -> Res:
    return Res(
        PDB,
        name,
        {
            "metadata": {"name": "k8s-mailer", "namespace": "events"},
            "spec": {"selector": {"matchLabels": dict(LABELS)}, **(spec or {"maxUnavailable": 1})},
        },
    )


def scaled_object(name: str = "mailer-scaled-object", **spec: Any) -> Res:
    return Res(
        SCALED_OBJECT,
        name,
        {
            "metadata": {"name": "k8s-mailer", "namespace": "events"},
            "spec": {
                "scaleTargetRef": {"name": "k8s-mailer"},
                "minReplicaCount": 1,
                "maxReplicaCount": 10,
                "triggers": [
                    {
                        "type": "rabbitmq",
                        "authenticationRef": {"name": "k8s-mailer-rabbitmq"},
                        "metadata": {
                            "mode": "QueueLength",
                            "value": "20",
                            "queueName": "mailer",
                            "vhostName": "k8s",
                        },
                    }
                ],
                **spec,
            },
        },
    )


def happy_workloads() -> list[Res]:
    redis = copy.deepcopy(
        deployment("redis-statefulset", spec=pod(consumer_container(name="redis")))
    )
    redis.type = STATEFUL_SET
    cron = Res(
        CRON_JOB,
        "cleanup-cron-job",
        {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod()}}}}},
    )
    return [deployment(), redis, cron, pdb(), scaled_object()]


def with_container(resource: Res, **changes: Any) -> Res:
    changed = copy.deepcopy(resource)
    container = changed.props["spec"]["template"]["spec"]["containers"][0]
    for key, value in changes.items():
        if value is None:
            container.pop(key, None)
        else:
            container[key] = value
    return changed


def with_security(resource: Res, **changes: Any) -> Res:
    context = {**consumer_container()["securityContext"], **changes}
    return with_container(resource, securityContext={k: v for k, v in context.items() if v != ...})


def messages(policy: Any, resource: Res, config: dict[str, Any] | None = None) -> list[str]:
    outcome = check_resource(policy, resource, config)
    assert outcome.not_applicable is None
    return outcome.messages
