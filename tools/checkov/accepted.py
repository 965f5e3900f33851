"""The checkov checks the planned Kubernetes manifests may fail, each with the reason."""

from __future__ import annotations

from typing import Final

# Check id → why the failure is accepted (docs/checkov.md says the same, at more length).
ACCEPTED: Final = {
    "CKV_K8S_43": (
        "Image should use digest: every image is pinnable by digest (`container.image`, "
        "`rabbitmq.image`, `rabbitmq.redis_image` accept `name:tag@sha256:…`), but the example "
        "stack pins release tags, since a registry's digest cannot be read offline and the "
        "example's consumer image is illustrative."
    ),
    "CKV_K8S_15": (
        "Image Pull Policy should be Always: with pinned images Kubernetes' default "
        "`IfNotPresent` runs the same bits, and a KEDA scale-up (from zero, too) does not "
        "depend on the registry being reachable."
    ),
}
