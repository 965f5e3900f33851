"""RabbitMQ durability rules: persistent clusters, quorum queues, queues kept on delete."""

from __future__ import annotations

import pytest

from eventinfra_policies.rabbitmq import durability
from tests.policies.factories import UNKNOWN, check_resource
from tests.policies.rabbitmq.factories import changed, cluster, happy_topology

# ---------------------------------------------------------------- rabbitmq-cluster-persistence


def test_cluster_without_declared_storage_fails() -> None:
    resource = cluster(persistence={})
    assert check_resource(durability.rabbitmq_cluster_persistence, resource).messages == [
        "RabbitmqCluster 'broker-cluster' must declare spec.persistence.storage, because the "
        "operator otherwise gives each node a 10Gi volume that a backlog fills, and a full disk "
        "blocks every publisher. Set spec.persistence.storage (for example 20Gi) sized for the "
        "longest backlog you must absorb."
    ]


def test_cluster_with_zero_storage_fails() -> None:
    resource = cluster(persistence={"storage": "0Gi"})
    assert check_resource(durability.rabbitmq_cluster_persistence, resource).messages == [
        "RabbitmqCluster 'broker-cluster' must keep messages on a persistent volume (found "
        "storage '0Gi'), because without one a pod restart loses every message and the quorum "
        "queue replicas on it. Set spec.persistence.storage to a non-zero size."
    ]


def test_storage_class_is_required_only_when_configured() -> None:
    config = {"requireStorageClass": True}
    assert check_resource(durability.rabbitmq_cluster_persistence, cluster(), config).messages == [
        "RabbitmqCluster 'broker-cluster' must name spec.persistence.storageClassName, because "
        "the policy config requires an explicit StorageClass (reclaim policy and disk type under "
        "your control). Set storageClassName to a class with reclaimPolicy Retain."
    ]
    classed = cluster(persistence={"storage": "20Gi", "storageClassName": "ssd-retain"})
    assert check_resource(durability.rabbitmq_cluster_persistence, classed, config).messages == []


def test_unknown_storage_is_not_applicable() -> None:
    resource = cluster(persistence={"storage": UNKNOWN})
    outcome = check_resource(durability.rabbitmq_cluster_persistence, resource)
    assert outcome.violations == [] and "storage can't be known" in (outcome.not_applicable or "")


# ---------------------------------------------------------------- rabbitmq-queue-is-quorum


@pytest.mark.parametrize(("queue_type", "found"), [("classic", "'classic'"), (None, "'classic'")])
def test_classic_queue_fails(queue_type: str | None, found: str) -> None:
    resource = changed(happy_topology(), "mailer-queue", type=queue_type)["mailer-queue"]
    assert check_resource(durability.rabbitmq_queue_is_quorum, resource).messages == [
        f"RabbitMQ queue 'mailer-queue' must be a quorum queue (found type {found}), because a "
        "classic queue lives on one node and its messages are unavailable or lost when that node "
        "fails. Set spec.type: quorum (the type is immutable: create a new queue and move the "
        "consumers)."
    ]


def test_dead_letter_and_parking_queues_must_be_quorum_too() -> None:
    for name in ("mailer-dead-letter-queue", "signup-parking"):
        resource = changed(happy_topology(), name, type="classic")[name]
        assert len(check_resource(durability.rabbitmq_queue_is_quorum, resource).messages) == 1


def test_unknown_queue_type_is_not_applicable() -> None:
    resource = changed(happy_topology(), "mailer-queue", type=UNKNOWN)["mailer-queue"]
    outcome = check_resource(durability.rabbitmq_queue_is_quorum, resource)
    assert outcome.violations == [] and "spec.type can't be known" in (outcome.not_applicable or "")


# ---------------------------------------------------------------- rabbitmq-queue-retained-on-delete


@pytest.mark.parametrize(("policy", "found"), [("delete", "'delete'"), (None, "'delete'")])
def test_queue_deleted_with_its_resource_fails(policy: str | None, found: str) -> None:
    resource = changed(happy_topology(), "mailer-queue", deletionPolicy=policy)["mailer-queue"]
    assert check_resource(durability.rabbitmq_queue_retained_on_delete, resource).messages == [
        f"RabbitMQ queue 'mailer-queue' must set spec.deletionPolicy: retain (found {found}), "
        "because the topology operator otherwise deletes the queue and every message in it when "
        "the resource is removed or renamed. Set spec.deletionPolicy: retain and delete drained "
        "queues by hand."
    ]


def test_unknown_deletion_policy_is_not_applicable() -> None:
    resource = changed(happy_topology(), "mailer-queue", deletionPolicy=UNKNOWN)["mailer-queue"]
    outcome = check_resource(durability.rabbitmq_queue_retained_on_delete, resource)
    assert outcome.violations == [] and "deletionPolicy can't be known" in (
        outcome.not_applicable or ""
    )
