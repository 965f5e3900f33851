"""Kubernetes workload rules for every backend (consumers, stores), one module per concern."""

from __future__ import annotations

from typing import Final

from pulumi_policy import Policy

from . import availability, security, workloads

POLICIES: Final[list[Policy]] = [*availability.POLICIES, *security.POLICIES]

__all__ = ["POLICIES", "availability", "security", "workloads"]
