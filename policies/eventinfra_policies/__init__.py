"""eventinfra's CrossGuard policies, one module per concern; `ALL_POLICIES` feeds the pack."""

from __future__ import annotations

from . import delivery, idempotency, kubernetes, monitoring, rabbitmq, security

ALL_POLICIES = [
    *delivery.POLICIES,
    *idempotency.POLICIES,
    *monitoring.POLICIES,
    *security.POLICIES,
    *kubernetes.POLICIES,
    *rabbitmq.POLICIES,
]

__all__ = [
    "ALL_POLICIES",
    "delivery",
    "idempotency",
    "kubernetes",
    "monitoring",
    "rabbitmq",
    "security",
]
