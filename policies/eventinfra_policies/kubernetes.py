"""Kubernetes workload policies: consumer resources, probes, disruption budgets, pod security."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import Res, Stack, Unknown, get, number, plain, resource_validator

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


# ---------------------------------------------------------------- k8s-consumer-resources


@resource_validator(WORKLOADS)
def _check_resources(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    require_cpu_limit = bool(args.get_config().get("requireCpuLimit", False))
    kind = KIND[args.resource_type]
    for container in containers(pod_spec(args.resource_type, args.props)):
        wanted = [("requests", "cpu"), ("requests", "memory"), ("limits", "memory")]
        if require_cpu_limit:
            wanted.append(("limits", "cpu"))
        missing = [
            f"{section}.{name}"
            for section, name in wanted
            if get(container, "resources", section, name) in (None, "")
        ]
        if missing:
            report_violation(
                f"{kind} '{args.name}' must set resources {', '.join(missing)} on container "
                f"'{container_name(container)}', because without requests the scheduler "
                "overcommits the node and without a memory limit one consumer's leak gets "
                "its neighbours OOM-killed. Set resources.requests.cpu, resources.requests."
                "memory and resources.limits.memory (limits.memory = requests.memory)."
            )


k8s_consumer_resources = ResourceValidationPolicy(
    name="k8s-consumer-resources",
    description="Every container sets CPU and memory requests and a memory limit (CPU limit "
    "when requireCpuLimit).",
    validate=_check_resources,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Containers declare resource requests and limits",
    config_schema=PolicyConfigSchema(
        properties={"requireCpuLimit": {"type": "boolean", "default": False}}
    ),
    remediation_steps="Set resources.requests.cpu, resources.requests.memory and "
    "resources.limits.memory on every container.",
    url=KUBE_SCORE,
    framework=KUBE_SCORE_FRAMEWORK,
    tags=[
        "kubernetes",
        "reliability",
        "kube-score:container-resources",
        "polaris:cpuRequestsMissing",
        "polaris:memoryRequestsMissing",
        "polaris:memoryLimitsMissing",
        "kyverno:require-requests-limits",
        "CKV_K8S_10",
        "CKV_K8S_11",
        "CKV_K8S_12",
        "CKV_K8S_13",
    ],
)


# ---------------------------------------------------------------- k8s-consumer-probes


@resource_validator(CONSUMER_WORKLOADS)
def _check_probes(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    require_readiness = bool(args.get_config().get("requireReadiness", True))
    kind = KIND[args.resource_type]
    for container in containers(pod_spec(args.resource_type, args.props), init=False):
        name = container_name(container)
        liveness = get(container, "livenessProbe")
        readiness = get(container, "readinessProbe")
        if not liveness:
            report_violation(
                f"{kind} '{args.name}' must give container '{name}' a livenessProbe, because a "
                "consumer that hangs keeps its prefetched messages unacknowledged until "
                "Kubernetes restarts it. Add livenessProbe (httpGet on a health endpoint)."
            )
        if require_readiness and not readiness:
            report_violation(
                f"{kind} '{args.name}' must give container '{name}' a readinessProbe, because a "
                "rollout otherwise replaces healthy pods with ones that cannot consume yet. Add "
                "readinessProbe (httpGet on a readiness endpoint)."
            )
        if liveness and readiness and plain(liveness) == plain(readiness):
            report_violation(
                f"{kind} '{args.name}' must give container '{name}' a livenessProbe that "
                "differs from its readinessProbe, because a pod that is only busy is then "
                "restarted instead of taken out of rotation. Point livenessProbe at a "
                "liveness endpoint (/healthz) and readinessProbe at a readiness one (/readyz)."
            )


k8s_consumer_probes = ResourceValidationPolicy(
    name="k8s-consumer-probes",
    description="Every container of a consumer Deployment has a liveness probe and a different "
    "readiness probe.",
    validate=_check_probes,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Containers have liveness and readiness probes",
    config_schema=PolicyConfigSchema(
        properties={"requireReadiness": {"type": "boolean", "default": True}}
    ),
    remediation_steps="Add a livenessProbe and a readinessProbe that check different endpoints.",
    url=POLARIS_RELIABILITY,
    framework=POLARIS,
    tags=[
        "kubernetes",
        "reliability",
        "kube-score:pod-probes",
        "kube-score:pod-probes-identical",
        "polaris:livenessProbeMissing",
        "polaris:readinessProbeMissing",
        "kyverno:require-pod-probes",
        "CKV_K8S_8",
        "CKV_K8S_9",
    ],
)


# ---------------------------------------------------------------- k8s-consumer-pdb


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


def _disruptions_allowed(pdb: Res, replicas: float) -> bool:
    """Does `pdb` let at least one pod go when the workload runs `replicas` pods?"""
    max_unavailable = pdb.get("spec", "maxUnavailable")
    min_available = pdb.get("spec", "minAvailable")
    if max_unavailable is not None:
        return _quantity(max_unavailable, replicas) >= 1
    if min_available is not None:
        return _quantity(min_available, replicas) < replicas
    return False  # neither set: nothing may be evicted


def _quantity(value: Any, replicas: float) -> float:
    """An int-or-percent PDB value for `replicas` pods (the disruption controller rounds up)."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(number(value[:-1], 0) * replicas / 100)
    return number(value, 0)


def _check_pdb(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stack = Stack(args)
    scalers = scaled_objects_by_target(stack)
    for deployment in stack.of(DEPLOYMENT):
        with stack.checking(deployment):
            namespace = namespace_of(deployment.props)
            name = deployment.get("metadata", "name")
            scaler = scalers.get((namespace, str(name)))
            if scaler is not None:
                highest = number(scaler.get("spec", "maxReplicaCount"), KEDA_DEFAULT_MAX_REPLICAS)
                lowest = number(scaler.get("spec", "minReplicaCount"), KEDA_DEFAULT_MIN_REPLICAS)
                lowest = max(lowest, 1)
            else:
                highest = lowest = number(deployment.get("spec", "replicas"), DEFAULT_REPLICAS)
            if highest <= 1:
                continue
            template_labels = deployment.get("spec", "template", "metadata", "labels")
            labels = (
                {str(k): str(v) for k, v in plain(template_labels).items()}
                if isinstance(template_labels, Mapping)
                else {}
            )
            budgets = [
                pdb
                for pdb in stack.of(PDB)
                if namespace_of(pdb.props) == namespace
                and labels_match(plain(pdb.get("spec", "selector")), labels)
            ]
            scaling = (
                f"scales up to {highest:g} replicas" if scaler else f"runs {highest:g} replicas"
            )
            if not budgets:
                report_violation(
                    f"Deployment '{deployment.name}' must be selected by a "
                    f"PodDisruptionBudget, because it {scaling} and a node drain may otherwise "
                    "evict all of them at once. Add a policy/v1 PodDisruptionBudget in namespace "
                    f"'{namespace}' with maxUnavailable: 1 whose selector matches its pod labels.",
                    deployment.urn,
                )
            elif not any(_disruptions_allowed(pdb, lowest) for pdb in budgets):
                report_violation(
                    f"Deployment '{deployment.name}' must have a PodDisruptionBudget that allows "
                    f"at least one disruption at {lowest:g} replicas, because PodDisruptionBudget "
                    f"'{budgets[0].name}' blocks every eviction and node drains hang. Set "
                    "maxUnavailable: 1 instead of minAvailable.",
                    deployment.urn,
                )
    stack.finish()


k8s_consumer_pdb = StackValidationPolicy(
    name="k8s-consumer-pdb",
    description="A Deployment with more than one replica (or a KEDA ScaledObject maximum above "
    "one) is selected by a PodDisruptionBudget allowing at least one disruption.",
    validate=_check_pdb,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Replicated consumers have a PodDisruptionBudget",
    remediation_steps="Add a PodDisruptionBudget with maxUnavailable: 1 selecting the "
    "Deployment's pod labels.",
    url=KUBE_SCORE,
    framework=KUBE_SCORE_FRAMEWORK,
    tags=[
        "kubernetes",
        "reliability",
        "kube-score:deployment-has-poddisruptionbudget",
        "kube-score:poddisruptionbudget-has-policy",
        "polaris:missingPodDisruptionBudget",
        "polaris:pdbDisruptionsIsZero",
        "kyverno:require-pdb",
    ],
)


# ---------------------------------------------------------------- k8s-run-as-non-root


@resource_validator(WORKLOADS)
def _check_non_root(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    kind = KIND[args.resource_type]
    spec = pod_spec(args.resource_type, args.props)
    pod_non_root = get(spec, "securityContext", "runAsNonRoot")
    pod_user = get(spec, "securityContext", "runAsUser")
    for container in containers(spec):
        name = container_name(container)
        non_root = get(container, "securityContext", "runAsNonRoot")
        user = get(container, "securityContext", "runAsUser")
        non_root = pod_non_root if non_root is None else non_root
        user = pod_user if user is None else user
        if user is not None and number(user, 0) == 0:
            report_violation(
                f"{kind} '{args.name}' must not run container '{name}' as root (runAsUser: 0), "
                "because a process that escapes the container is then root on the node. Set "
                "securityContext.runAsUser to a non-zero UID and runAsNonRoot: true."
            )
        elif non_root is not True and (user is None or non_root is False):
            report_violation(
                f"{kind} '{args.name}' must run container '{name}' as a non-root user, because "
                "an image whose user is root otherwise runs as root and an escape owns the "
                "node. Set securityContext.runAsNonRoot: true (pod or container) and runAsUser "
                "to a non-zero UID."
            )


k8s_run_as_non_root = ResourceValidationPolicy(
    name="k8s-run-as-non-root",
    description="Every container runs as a non-root user (runAsNonRoot: true or a non-zero "
    "runAsUser, pod or container level).",
    validate=_check_non_root,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Containers run as non-root",
    remediation_steps="Set securityContext.runAsNonRoot: true and a non-zero runAsUser.",
    url=KYVERNO_NON_ROOT,
    framework=POLARIS,
    tags=[
        "kubernetes",
        "security",
        "kube-score:container-security-context-user-group-id",
        "polaris:runAsRootAllowed",
        "kyverno:require-run-as-nonroot",
        "CKV_K8S_23",
        "CKV_K8S_40",
    ],
)


# ---------------------------------------------------------------- k8s-readonly-root-filesystem


@resource_validator(WORKLOADS)
def _check_readonly_root(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    kind = KIND[args.resource_type]
    for container in containers(pod_spec(args.resource_type, args.props)):
        if get(container, "securityContext", "readOnlyRootFilesystem") is not True:
            report_violation(
                f"{kind} '{args.name}' must give container '{container_name(container)}' a "
                "read-only root filesystem, because an attacker or a bug can otherwise rewrite "
                "the image's binaries at run time. Set securityContext.readOnlyRootFilesystem: "
                "true and mount an emptyDir where the process writes (/tmp)."
            )


k8s_readonly_root_filesystem = ResourceValidationPolicy(
    name="k8s-readonly-root-filesystem",
    description="Every container sets securityContext.readOnlyRootFilesystem: true.",
    validate=_check_readonly_root,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Containers have a read-only root filesystem",
    remediation_steps="Set securityContext.readOnlyRootFilesystem: true; mount emptyDir volumes "
    "for scratch space.",
    url=KYVERNO_RO_ROOTFS,
    framework=KUBE_SCORE_FRAMEWORK,
    tags=[
        "kubernetes",
        "security",
        "kube-score:container-security-context-readonlyrootfilesystem",
        "polaris:notReadOnlyRootFilesystem",
        "kyverno:require-ro-rootfs",
        "CKV_K8S_22",
    ],
)


# ---------------------------------------------------------------- k8s-no-privilege-escalation


@resource_validator(WORKLOADS)
def _check_privilege(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    kind = KIND[args.resource_type]
    for container in containers(pod_spec(args.resource_type, args.props)):
        name = container_name(container)
        if get(container, "securityContext", "privileged") is True:
            report_violation(
                f"{kind} '{args.name}' must not run container '{name}' privileged, because a "
                "privileged container has every capability and the node's devices. Remove "
                "securityContext.privileged (or set it to false)."
            )
        elif get(container, "securityContext", "allowPrivilegeEscalation") is not False:
            report_violation(
                f"{kind} '{args.name}' must set allowPrivilegeEscalation: false on container "
                f"'{name}', because Kubernetes allows setuid binaries to gain privileges by "
                "default. Set securityContext.allowPrivilegeEscalation: false."
            )


k8s_no_privilege_escalation = ResourceValidationPolicy(
    name="k8s-no-privilege-escalation",
    description="No container is privileged and every container sets "
    "allowPrivilegeEscalation: false.",
    validate=_check_privilege,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Containers cannot escalate privileges",
    remediation_steps="Set securityContext.allowPrivilegeEscalation: false and never "
    "privileged: true.",
    url=KYVERNO_PRIVILEGE_ESCALATION,
    framework=POLARIS,
    tags=[
        "kubernetes",
        "security",
        "kube-score:container-security-context-privileged",
        "polaris:runAsPrivileged",
        "polaris:privilegeEscalationAllowed",
        "kyverno:disallow-privilege-escalation",
        "CKV_K8S_16",
        "CKV_K8S_20",
    ],
)


# ---------------------------------------------------------------- k8s-image-pinned

_DIGEST: Final = re.compile(r"@[A-Za-z0-9_+.-]+:[0-9a-fA-F]{32,}$")


def image_tag(image: str) -> str | None:
    """The tag of an image reference (`registry:5000/app:1.2` → `1.2`), None when untagged."""
    last_segment = image.rsplit("/", 1)[-1]
    return last_segment.split(":", 1)[1] if ":" in last_segment else None


@resource_validator(WORKLOADS)
def _check_image_pinned(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    kind = KIND[args.resource_type]
    for container in containers(pod_spec(args.resource_type, args.props)):
        name = container_name(container)
        image = get(container, "image")
        if not isinstance(image, str) or not image:
            raise Unknown(f"container '{name}' has no image to check")
        if _DIGEST.search(image):
            continue
        tag = image_tag(image)
        if tag is None:
            report_violation(
                f"{kind} '{args.name}' must pin the image of container '{name}' to an explicit "
                f"tag or digest (found {image!r}), because an untagged image means :latest and "
                "every node may run a different build. Use a release tag (app:1.4.2) or a "
                "digest (app@sha256:…)."
            )
        elif tag == "latest":
            report_violation(
                f"{kind} '{args.name}' must pin the image of container '{name}' to a release tag "
                f"or digest instead of :latest (found {image!r}), because :latest moves and a "
                "rollback or a rescheduled pod silently runs another build. Use a release tag "
                "(app:1.4.2) or a digest (app@sha256:…)."
            )


k8s_image_pinned = ResourceValidationPolicy(
    name="k8s-image-pinned",
    description="Every container image has an explicit tag other than latest, or a digest.",
    validate=_check_image_pinned,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Container images are pinned",
    remediation_steps="Reference images by release tag or by digest, never :latest.",
    url=KYVERNO_LATEST,
    framework=CHECKOV,
    tags=[
        "kubernetes",
        "supply-chain",
        "kube-score:container-image-tag",
        "polaris:tagNotSpecified",
        "kyverno:disallow-latest-tag",
        "CKV_K8S_14",
        "CKV_K8S_43",
    ],
)


POLICIES: Final = [
    k8s_consumer_resources,
    k8s_consumer_probes,
    k8s_consumer_pdb,
    k8s_run_as_non_root,
    k8s_readonly_root_filesystem,
    k8s_no_privilege_escalation,
    k8s_image_pinned,
]
