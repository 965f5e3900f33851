"""AWS rules (SNS, SQS, Lambda, DynamoDB, CloudWatch, KMS, IAM), one module per concern."""

from __future__ import annotations

from typing import Final

from pulumi_policy import Policy

from . import delivery, idempotency, monitoring, security

POLICIES: Final[list[Policy]] = [
    *delivery.POLICIES,
    *idempotency.POLICIES,
    *monitoring.POLICIES,
    *security.POLICIES,
]

__all__ = ["POLICIES", "delivery", "idempotency", "monitoring", "security"]
