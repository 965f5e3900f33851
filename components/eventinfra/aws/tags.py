"""Tags that say which environment and which component a resource belongs to."""

from __future__ import annotations

from collections.abc import Mapping

COMPONENT_TAG = "eventinfra:component"
ROLE_TAG = "eventinfra:role"


def component_tags(
    tags: Mapping[str, str] | None, component: str, role: str | None = None
) -> dict[str, str]:
    """The caller's tags (environment among them) plus the owning component, and a role
    (`dlq`, `parking`, `idempotency`) that policies use instead of guessing from names."""
    result = {**(tags or {}), COMPONENT_TAG: component}
    if role:
        result[ROLE_TAG] = role
    return result
