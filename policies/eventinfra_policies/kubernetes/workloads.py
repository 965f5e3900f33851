"""Reading Kubernetes workloads: type tokens, pod specs, containers, selectors, KEDA targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy import (
    PolicyComplianceFramework,
)

from ..common import Res, Stack, get

# Type tokens of the pulumi-kubernetes resources these policies read.
DEPLOYMENT: Final = "kubernetes:apps/v1:Deployment"
STATEFUL_SET: Final = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET: Final = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET: Final = "kubernetes:apps/v1:ReplicaSet"
JOB: Final = "kubernetes:batch/v1:Job"
CRON_JOB: Final = "kubernetes:batch/v1:CronJob"
POD: Final = "kubernetes:core/v1:Pod"
PDB: Final = "kubernetes:policy/v1:PodDisruptionBudget"
SCALED_OBJECT: Final = "kubernetes:keda.sh/v1alpha1:ScaledObject"

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: Final[Mapping[str, tuple[str, ...]]] = {
    DEPLOYMENT: ("spec", "template", "spec"),
    STATEFUL_SET: ("spec", "template", "spec"),
    DAEMON_SET: ("spec", "template", "spec"),
    REPLICA_SET: ("spec", "template", "spec"),
    JOB: ("spec", "template", "spec"),
    CRON_JOB: ("spec", "jobTemplate", "spec", "template", "spec"),
    POD: ("spec",),
}
WORKLOADS: Final = tuple(POD_SPEC_PATHS)
# Consumers run as Deployments (ContainerConsumer); a datastore StatefulSet such as the Redis
# idempotency store legitimately answers liveness and readiness with the same TCP check.
CONSUMER_WORKLOADS: Final = (DEPLOYMENT,)
KIND: Final[Mapping[str, str]] = {token: token.rsplit(":", 1)[-1] for token in WORKLOADS}

DEFAULT_NAMESPACE: Final = "default"
DEFAULT_REPLICAS: Final = 1  # Deployment spec.replicas when unset
KEDA_DEFAULT_MAX_REPLICAS: Final = 100  # ScaledObject spec.maxReplicaCount when unset
KEDA_DEFAULT_MIN_REPLICAS: Final = 0  # ScaledObject spec.minReplicaCount when unset

KUBE_SCORE: Final = "https://github.com/zegl/kube-score/blob/master/README_CHECKS.md"
POLARIS_RELIABILITY: Final = "https://polaris.docs.fairwinds.com/checks/reliability/"
KYVERNO_NON_ROOT: Final = (
    "https://kyverno.io/policies/pod-security/restricted/require-run-as-nonroot/"
    "require-run-as-nonroot/"
)
KYVERNO_RO_ROOTFS: Final = (
    "https://kyverno.io/policies/best-practices/require-ro-rootfs/require-ro-rootfs/"
)
KYVERNO_LATEST: Final = (
    "https://kyverno.io/policies/best-practices/disallow-latest-tag/disallow-latest-tag/"
)
KYVERNO_PRIVILEGE_ESCALATION: Final = (
    "https://kyverno.io/policies/pod-security/restricted/disallow-privilege-escalation/"
    "disallow-privilege-escalation/"
)
CHECKOV: Final = PolicyComplianceFramework(
    name="Checkov",
    version="3",
    reference="https://www.checkov.io/5.Policy%20Index/kubernetes.html",
)
KUBE_SCORE_FRAMEWORK: Final = PolicyComplianceFramework(
    name="kube-score", version="1", reference=KUBE_SCORE
)
POLARIS: Final = PolicyComplianceFramework(
    name="Polaris", version="9", reference="https://polaris.docs.fairwinds.com/checks/"
)


# ---------------------------------------------------------------- reading workloads


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = get(props, *POD_SPEC_PATHS[resource_type])
    return spec if isinstance(spec, Mapping) else {}


def containers(spec: Mapping[str, Any], *, init: bool = True) -> list[Mapping[str, Any]]:
    """The pod's containers (and init containers), each a mapping with a `name`."""
    keys = ("initContainers", "containers") if init else ("containers",)
    found: list[Mapping[str, Any]] = []
    for key in keys:
        listed = get(spec, key)
        if isinstance(listed, Sequence) and not isinstance(listed, str):
            for index in range(len(listed)):
                container = get(listed, index)
                if isinstance(container, Mapping):
                    found.append(container)
    return found


def container_env(deployment: Res, variable_name: str) -> tuple[bool, str | None]:
    """(whether a container of the Deployment sets `variable_name`, its value when given
    literally)."""
    for container in containers(pod_spec(DEPLOYMENT, deployment.props), init=False):
        env = get(container, "env")
        if not isinstance(env, Sequence) or isinstance(env, str):
            continue
        for index in range(len(env)):
            variable = get(env, index)
            if isinstance(variable, Mapping) and get(variable, "name") == variable_name:
                value = get(variable, "value")
                return True, str(value) if value else None
    return False, None


def container_name(container: Mapping[str, Any]) -> str:
    return str(get(container, "name") or "?")


def namespace_of(props: Mapping[str, Any]) -> str:
    return str(get(props, "metadata", "namespace") or DEFAULT_NAMESPACE)


def labels_match(selector: Any, labels: Mapping[str, str]) -> bool:
    """Does a label selector (matchLabels and matchExpressions) select `labels`?"""
    if not isinstance(selector, Mapping):
        return False  # a PDB without a selector selects no pods
    # An empty selector ({}) selects every pod of the namespace (policy/v1).
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if any(labels.get(str(k)) != str(v) for k, v in match_labels.items()):
        return False
    for expression in expressions:
        key, operator = str(expression.get("key")), expression.get("operator")
        values = [str(v) for v in expression.get("values") or []]
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def scaled_objects_by_target(stack: Stack) -> dict[tuple[str, str], Res]:
    """KEDA ScaledObjects by the (namespace, name) of the Deployment they scale."""
    found: dict[tuple[str, str], Res] = {}
    for scaled in stack.of(SCALED_OBJECT):
        target = scaled.known("spec", "scaleTargetRef")
        if not isinstance(target, Mapping):
            continue
        if str(target.get("kind") or "Deployment") != "Deployment":
            continue
        name = target.get("name")
        if isinstance(name, str) and name:
            namespace = str(scaled.known("metadata", "namespace") or DEFAULT_NAMESPACE)
            found.setdefault((namespace, name), scaled)
    return found
