"""RabbitMQ-on-Kubernetes rules (operator resources, KEDA), one module per concern."""

from __future__ import annotations

from typing import Final

from pulumi_policy import Policy

from . import availability, delivery, durability, topology

POLICIES: Final[list[Policy]] = [
    *availability.POLICIES,
    *delivery.POLICIES,
    *durability.POLICIES,
]

__all__ = ["POLICIES", "availability", "delivery", "durability", "topology"]
