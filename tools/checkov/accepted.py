"""The checkov checks the planned Kubernetes manifests may fail, each with the reason."""

from __future__ import annotations

from typing import Final

# Check id → why the failure is accepted (docs/checkov.md says the same, at more length).
ACCEPTED: Final = {
    "CKV_K8S_43": (
        "Image should use digest: every image is pinnable by digest (`container.image`, "
        "`rabbitmq.image`, `rabbitmq.redis_image`, `kafka.redis_image` accept "
        "`name:tag@sha256:…`), but the example "
        "stack pins release tags, since a registry's digest cannot be read offline and the "
        "example's consumer image is illustrative."
    ),
    "CKV_K8S_15": (
        "Image Pull Policy should be Always: with pinned images Kubernetes' default "
        "`IfNotPresent` runs the same bits, and a KEDA scale-up (from zero, too) does not "
        "depend on the registry being reachable."
    ),
}

# Stack → further accepted checks of that stack only, each with the reason (none today: the
# kafka stack's CKV2_K8S_6 was fixed by its namespace's default-deny NetworkPolicy).
ACCEPTED_BY_STACK: Final[dict[str, dict[str, str]]] = {}


def accepted(stack: str) -> dict[str, str]:
    """The checks `stack`'s planned manifests may fail: every stack's, then its own."""
    return {**ACCEPTED, **ACCEPTED_BY_STACK.get(stack, {})}
