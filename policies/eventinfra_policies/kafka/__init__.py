"""Kafka-on-Kubernetes rules (Strimzi resources, KEDA), one module per concern."""

from __future__ import annotations

from typing import Final

from pulumi_policy import Policy

from . import availability, delivery, durability, security, topology

POLICIES: Final[list[Policy]] = [
    *availability.POLICIES,
    *delivery.POLICIES,
    *durability.POLICIES,
    *security.POLICIES,
]

__all__ = ["POLICIES", "availability", "delivery", "durability", "security", "topology"]
