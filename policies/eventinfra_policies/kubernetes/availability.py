"""Kubernetes availability: consumer resources, probes and disruption budgets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from ..common import (
    ReportResourceViolation,
    Res,
    Stack,
    get,
    number,
    plain,
    resource_validator,
    stack_validator,
)
from .workloads import (
    CONSUMER_WORKLOADS,
    DEFAULT_REPLICAS,
    DEPLOYMENT,
    KEDA_DEFAULT_MAX_REPLICAS,
    KEDA_DEFAULT_MIN_REPLICAS,
    KIND,
    KUBE_SCORE,
    KUBE_SCORE_FRAMEWORK,
    PDB,
    POLARIS,
    POLARIS_RELIABILITY,
    WORKLOADS,
    container_name,
    containers,
    labels_match,
    namespace_of,
    pod_spec,
    scaled_objects_by_target,
)

# ---------------------------------------------------------------- k8s-consumer-resources


@resource_validator(WORKLOADS)
def _check_resources(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
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
def _check_probes(args: ResourceValidationArgs, report_violation: ReportResourceViolation) -> None:
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


@stack_validator([DEPLOYMENT])
def _check_pdb(stack: Stack, deployment: Res, report_violation: ReportViolation) -> None:
    scalers = stack.joined(scaled_objects_by_target)
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
        return
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
    scaling = f"scales up to {highest:g} replicas" if scaler else f"runs {highest:g} replicas"
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


POLICIES: Final = [
    k8s_consumer_resources,
    k8s_consumer_probes,
    k8s_consumer_pdb,
]
