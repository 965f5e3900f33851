"""Kubernetes pod security: non-root, read-only root, no privilege escalation, pinned images."""

from __future__ import annotations

import re
from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ..common import ReportResourceViolation, Unknown, get, number, resource_validator
from .workloads import (
    CHECKOV,
    KIND,
    KUBE_SCORE_FRAMEWORK,
    KYVERNO_LATEST,
    KYVERNO_NON_ROOT,
    KYVERNO_PRIVILEGE_ESCALATION,
    KYVERNO_RO_ROOTFS,
    POLARIS,
    WORKLOADS,
    container_name,
    containers,
    pod_spec,
)

# ---------------------------------------------------------------- k8s-run-as-non-root


@resource_validator(WORKLOADS)
def _check_non_root(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
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
def _check_readonly_root(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
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
def _check_privilege(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
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


# The broker's pods run the image the RabbitmqCluster names; without one, the Cluster Operator's
# default, which changes with every operator release.
RABBITMQ_CLUSTER: Final = "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster"


@resource_validator((*WORKLOADS, RABBITMQ_CLUSTER))
def _check_image_pinned(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    if args.resource_type == RABBITMQ_CLUSTER:
        image = get(args.props, "spec", "image")
        if image is None:
            report_violation(
                f"RabbitmqCluster '{args.name}' must name its image (spec.image), because "
                "without one the Cluster Operator runs its own default, which changes with "
                "every operator release. Set rabbitmq.image to a release tag or a digest "
                "(rabbitmq:4.0.5-management@sha256:…)."
            )
            return
        targets = [("RabbitmqCluster", "rabbitmq", image)]
    else:
        kind = KIND[args.resource_type]
        targets = [
            (kind, container_name(container), get(container, "image"))
            for container in containers(pod_spec(args.resource_type, args.props))
        ]
    for kind, name, image in targets:
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
    description="Every container image, the RabbitMQ broker's included, has an explicit tag "
    "other than latest, or a digest.",
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
    k8s_run_as_non_root,
    k8s_readonly_root_filesystem,
    k8s_no_privilege_escalation,
    k8s_image_pinned,
]
