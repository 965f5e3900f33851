"""What every RabbitMQ rule shares: the pack's list and a compliant topology passing them all."""

from __future__ import annotations

from typing import Any

import pytest

from eventinfra_policies import rabbitmq
from eventinfra_policies.rabbitmq import availability, delivery, durability
from tests.policies.factories import check_resource, check_stack
from tests.policies.rabbitmq.factories import happy_topology


def test_policy_names_by_concern() -> None:
    assert [p.name for p in availability.POLICIES] == [
        "rabbitmq-cluster-ha",
        "rabbitmq-consumer-autoscaled",
    ]
    assert [p.name for p in delivery.POLICIES] == ["rabbitmq-queue-has-dead-letter"]
    assert [p.name for p in durability.POLICIES] == [
        "rabbitmq-cluster-persistence",
        "rabbitmq-queue-is-quorum",
        "rabbitmq-queue-retained-on-delete",
    ]
    assert [*availability.POLICIES, *delivery.POLICIES, *durability.POLICIES] == rabbitmq.POLICIES


@pytest.mark.parametrize("policy", rabbitmq.POLICIES, ids=lambda p: p.name)
def test_happy_topology_passes(policy: Any) -> None:
    if policy.name in ("rabbitmq-queue-has-dead-letter", "rabbitmq-consumer-autoscaled"):
        outcome = check_stack(policy, happy_topology())
        assert (outcome.violations, outcome.not_applicable) == ([], None)
        return
    for resource in happy_topology().values():
        outcome = check_resource(policy, resource)
        assert (outcome.violations, outcome.not_applicable) == ([], None), resource.name
