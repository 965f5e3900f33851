"""RabbitMQ durability: persistent clusters, quorum queues, queues kept when their resource goes."""

from __future__ import annotations

import re
from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ..common import ReportResourceViolation, get, resource_validator
from .topology import (
    CLUSTER,
    DEFAULT_DELETION_POLICY,
    DEFAULT_QUEUE_TYPE,
    OPERATOR_PRODUCTION_EXAMPLE,
    QUEUE,
    QUORUM_QUEUES,
    RABBITMQ_CHECKLIST,
    TOPOLOGY_OPERATOR,
)

# ---------------------------------------------------------------- rabbitmq-cluster-persistence


def _is_zero_quantity(quantity: str) -> bool:
    return re.fullmatch(r"0+(\.0*)?([KMGTPE]i?|[mkMGTPE])?", quantity.strip()) is not None


@resource_validator([CLUSTER])
def _check_cluster_persistence(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    storage = get(args.props, "spec", "persistence", "storage")
    if storage in (None, ""):
        report_violation(
            f"RabbitmqCluster '{args.name}' must declare spec.persistence.storage, because the "
            "operator otherwise gives each node a 10Gi volume that a backlog fills, and a full "
            "disk blocks every publisher. Set spec.persistence.storage (for example 20Gi) sized "
            "for the longest backlog you must absorb."
        )
    elif _is_zero_quantity(str(storage)):
        report_violation(
            f"RabbitmqCluster '{args.name}' must keep messages on a persistent volume (found "
            f"storage {storage!r}), because without one a pod restart loses every message and "
            "the quorum queue replicas on it. Set spec.persistence.storage to a non-zero size."
        )
    elif args.get_config().get("requireStorageClass", False) and not get(
        args.props, "spec", "persistence", "storageClassName"
    ):
        report_violation(
            f"RabbitmqCluster '{args.name}' must name spec.persistence.storageClassName, because "
            "the policy config requires an explicit StorageClass (reclaim policy and disk type "
            "under your control). Set storageClassName to a class with reclaimPolicy Retain."
        )


rabbitmq_cluster_persistence = ResourceValidationPolicy(
    name="rabbitmq-cluster-persistence",
    description="A RabbitmqCluster declares a non-zero persistent volume size (and a "
    "StorageClass when requireStorageClass).",
    validate=_check_cluster_persistence,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="RabbitMQ clusters persist messages",
    config_schema=PolicyConfigSchema(
        properties={"requireStorageClass": {"type": "boolean", "default": False}}
    ),
    remediation_steps="Set spec.persistence.storage (and storageClassName) on the RabbitmqCluster.",
    url=OPERATOR_PRODUCTION_EXAMPLE,
    framework=RABBITMQ_CHECKLIST,
    tags=["rabbitmq", "kubernetes", "durability", "cluster-operator:production-ready"],
)


# ---------------------------------------------------------------- rabbitmq-queue-is-quorum


@resource_validator([QUEUE])
def _check_queue_quorum(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    queue_type = get(args.props, "spec", "type") or DEFAULT_QUEUE_TYPE
    if queue_type != "quorum":
        report_violation(
            f"RabbitMQ queue '{args.name}' must be a quorum queue (found type {queue_type!r}), "
            "because a classic queue lives on one node and its messages are unavailable or lost "
            "when that node fails. Set spec.type: quorum (the type is immutable: create a new "
            "queue and move the consumers)."
        )


rabbitmq_queue_is_quorum = ResourceValidationPolicy(
    name="rabbitmq-queue-is-quorum",
    description="Every RabbitMQ Queue resource is a quorum queue (spec.type: quorum).",
    validate=_check_queue_quorum,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="RabbitMQ queues are quorum queues",
    remediation_steps="Set spec.type: quorum on the Queue resource.",
    url=QUORUM_QUEUES,
    framework=RABBITMQ_CHECKLIST,
    tags=["rabbitmq", "durability", "quorum-queues"],
)


# ---------------------------------------------------------------- rabbitmq-queue-retained-on-delete


@resource_validator([QUEUE])
def _check_queue_retained(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    policy = get(args.props, "spec", "deletionPolicy") or DEFAULT_DELETION_POLICY
    if policy != "retain":
        report_violation(
            f"RabbitMQ queue '{args.name}' must set spec.deletionPolicy: retain (found "
            f"{policy!r}), because the topology operator otherwise deletes the queue and every "
            "message in it when the resource is removed or renamed. Set spec.deletionPolicy: "
            "retain and delete drained queues by hand."
        )


rabbitmq_queue_retained_on_delete = ResourceValidationPolicy(
    name="rabbitmq-queue-retained-on-delete",
    description="Every RabbitMQ Queue resource keeps the queue in the broker when the resource "
    "is deleted (spec.deletionPolicy: retain).",
    validate=_check_queue_retained,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="RabbitMQ queues survive resource deletion",
    remediation_steps="Set spec.deletionPolicy: retain on the Queue resource.",
    url=TOPOLOGY_OPERATOR,
    tags=["rabbitmq", "durability", "messaging-topology-operator"],
)


POLICIES: Final = [
    rabbitmq_cluster_persistence,
    rabbitmq_queue_is_quorum,
    rabbitmq_queue_retained_on_delete,
]
