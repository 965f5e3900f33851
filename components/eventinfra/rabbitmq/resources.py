"""The one place the RabbitMQ backend builds Kubernetes custom resources."""

from __future__ import annotations

from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

RABBITMQ_API_VERSION: Final = "rabbitmq.com/v1beta1"
"""Cluster Operator (`RabbitmqCluster`) and Messaging Topology Operator objects alike."""
PROMETHEUS_API_VERSION: Final = "monitoring.coreos.com/v1"
KEDA_API_VERSION: Final = "keda.sh/v1alpha1"


def custom_resource(
    resource_name: str,
    api_version: str,
    kind: str,
    spec: dict[str, Any],
    *,
    object_name: str,
    namespace: pulumi.Input[str],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> Any:
    """A namespaced custom resource named `object_name` in Kubernetes, `resource_name` in Pulumi.

    Typed Any: the provider SDK is not analysed by mypy (see pyproject.toml).
    """
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=api_version,
        kind=kind,
        metadata={"name": object_name, "namespace": namespace, "labels": labels},
        spec=spec,
        opts=opts,
    )


def topology_object(
    resource_name: str,
    kind: str,
    spec: dict[str, Any],
    *,
    object_name: str,
    namespace: pulumi.Input[str],
    cluster_name: pulumi.Input[str],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> Any:
    """A Messaging Topology Operator object (Exchange, Queue, User, ...) on one RabbitmqCluster.

    The operator finds the broker through `rabbitmqClusterReference`; the cluster lives in the
    same namespace as every topology object eventinfra declares.
    """
    return custom_resource(
        resource_name,
        RABBITMQ_API_VERSION,
        kind,
        {**spec, "rabbitmqClusterReference": {"name": cluster_name, "namespace": namespace}},
        object_name=object_name,
        namespace=namespace,
        labels=labels,
        opts=opts,
    )
