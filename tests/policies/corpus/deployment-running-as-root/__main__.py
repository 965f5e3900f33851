"""A worker Deployment whose pods run as root: an escape from the container owns the node."""

from tests.policies.corpus import k8s_kit as kit

# MISCONFIGURATION: runs as UID 0 (the pod context says so; the container does not override).
kit.worker(
    "report-worker",
    pod_security={"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}},
    container_security={k: v for k, v in kit.RESTRICTED_CONTAINER.items() if k != "runAsNonRoot"},
)
