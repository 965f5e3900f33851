"""Kubernetes pod security rules: non-root, read-only root, no privilege escalation, pinned images."""

from __future__ import annotations

import pytest

from eventinfra_policies.kubernetes import security
from tests.policies.factories import UNKNOWN, Res, check_resource
from tests.policies.kubernetes.factories import (
    deployment,
    messages,
    pod,
    with_container,
    with_security,
)

# ---------------------------------------------------------------- k8s-run-as-non-root


def test_pod_without_non_root_settings_fails() -> None:
    resource = deployment(spec=pod(securityContext={}))
    resource = with_security(resource, runAsNonRoot=...)
    assert messages(security.k8s_run_as_non_root, resource) == [
        "Deployment 'mailer-deployment' must run container 'consumer' as a non-root user, "
        "because an image whose user is root otherwise runs as root and an escape owns the node. "
        "Set securityContext.runAsNonRoot: true (pod or container) and runAsUser to a non-zero "
        "UID."
    ]


def test_container_running_as_uid_zero_fails() -> None:
    resource = with_security(deployment(), runAsUser=0)
    assert messages(security.k8s_run_as_non_root, resource) == [
        "Deployment 'mailer-deployment' must not run container 'consumer' as root "
        "(runAsUser: 0), because a process that escapes the container is then root on the node. "
        "Set securityContext.runAsUser to a non-zero UID and runAsNonRoot: true."
    ]


def test_container_overriding_pod_non_root_fails() -> None:
    resource = deployment(spec=pod(securityContext={"runAsNonRoot": True}))
    resource = with_security(resource, runAsNonRoot=False)
    assert len(messages(security.k8s_run_as_non_root, resource)) == 1


def test_non_zero_uid_alone_passes() -> None:
    resource = deployment(spec=pod(securityContext={"runAsUser": 10001}))
    assert messages(security.k8s_run_as_non_root, with_security(resource, runAsNonRoot=...)) == []


def test_unknown_uid_is_not_applicable() -> None:
    resource = with_security(deployment(spec=pod(securityContext={})), runAsUser=UNKNOWN)
    outcome = check_resource(security.k8s_run_as_non_root, resource)
    assert outcome.violations == [] and "runAsUser can't be known" in (outcome.not_applicable or "")


# ---------------------------------------------------------------- k8s-readonly-root-filesystem


def test_writable_root_filesystem_fails() -> None:
    resource = with_security(deployment(), readOnlyRootFilesystem=...)
    assert messages(security.k8s_readonly_root_filesystem, resource) == [
        "Deployment 'mailer-deployment' must give container 'consumer' a read-only root "
        "filesystem, because an attacker or a bug can otherwise rewrite the image's binaries at "
        "run time. Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where "
        "the process writes (/tmp)."
    ]


# ---------------------------------------------------------------- k8s-no-privilege-escalation


def test_privileged_container_fails() -> None:
    resource = with_security(deployment(), privileged=True)
    assert messages(security.k8s_no_privilege_escalation, resource) == [
        "Deployment 'mailer-deployment' must not run container 'consumer' privileged, because a "
        "privileged container has every capability and the node's devices. Remove "
        "securityContext.privileged (or set it to false)."
    ]


def test_privilege_escalation_left_at_default_fails() -> None:
    resource = with_security(deployment(), allowPrivilegeEscalation=...)
    assert messages(security.k8s_no_privilege_escalation, resource) == [
        "Deployment 'mailer-deployment' must set allowPrivilegeEscalation: false on container "
        "'consumer', because Kubernetes allows setuid binaries to gain privileges by default. Set "
        "securityContext.allowPrivilegeEscalation: false."
    ]


# ---------------------------------------------------------------- k8s-image-pinned


def test_latest_image_fails() -> None:
    resource = with_container(deployment(), image="ghcr.io/acme/mailer:latest")
    assert messages(security.k8s_image_pinned, resource) == [
        "Deployment 'mailer-deployment' must pin the image of container 'consumer' to a release "
        "tag or digest instead of :latest (found 'ghcr.io/acme/mailer:latest'), because :latest "
        "moves and a rollback or a rescheduled pod silently runs another build. Use a release "
        "tag (app:1.4.2) or a digest (app@sha256:…)."
    ]


@pytest.mark.parametrize("image", ["ghcr.io/acme/mailer", "registry.local:5000/acme/mailer"])
def test_untagged_image_fails(image: str) -> None:
    resource = with_container(deployment(), image=image)
    assert messages(security.k8s_image_pinned, resource) == [
        "Deployment 'mailer-deployment' must pin the image of container 'consumer' to an "
        f"explicit tag or digest (found {image!r}), because an untagged image means :latest and "
        "every node may run a different build. Use a release tag (app:1.4.2) or a digest "
        "(app@sha256:…)."
    ]


@pytest.mark.parametrize(
    "image",
    [
        "registry.local:5000/acme/mailer:1.4.2",
        "ghcr.io/acme/mailer@sha256:" + "a" * 64,
        "ghcr.io/acme/mailer:latest@sha256:" + "b" * 64,
    ],
)
def test_pinned_images_pass(image: str) -> None:
    resource = with_container(deployment(), image=image)
    assert messages(security.k8s_image_pinned, resource) == []


def test_unknown_image_is_not_applicable() -> None:
    resource = with_container(deployment(), image=UNKNOWN)
    outcome = check_resource(security.k8s_image_pinned, resource)
    assert outcome.violations == [] and "image can't be known" in (outcome.not_applicable or "")


def rabbitmq_cluster(**spec: object) -> Res:
    return Res(
        "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster",
        "events-broker-cluster",
        {"metadata": {"name": "k8s-rabbitmq"}, "spec": {"replicas": 3, **spec}},
    )


@pytest.mark.parametrize(
    "image", ["rabbitmq:4.0.5-management", "rabbitmq:4.0.5-management@sha256:" + "c" * 64]
)
def test_a_broker_with_a_pinned_image_passes(image: str) -> None:
    assert messages(security.k8s_image_pinned, rabbitmq_cluster(image=image)) == []


def test_a_broker_without_an_image_fails() -> None:
    assert messages(security.k8s_image_pinned, rabbitmq_cluster()) == [
        "RabbitmqCluster 'events-broker-cluster' must name its image (spec.image), because "
        "without one the Cluster Operator runs its own default, which changes with every "
        "operator release. Set rabbitmq.image to a release tag or a digest "
        "(rabbitmq:4.0.5-management@sha256:…)."
    ]


@pytest.mark.parametrize("image", ["rabbitmq:latest", "rabbitmq"])
def test_a_broker_with_a_moving_image_fails(image: str) -> None:
    (message,) = messages(security.k8s_image_pinned, rabbitmq_cluster(image=image))
    assert message.startswith(
        "RabbitmqCluster 'events-broker-cluster' must pin the image of container 'rabbitmq' to "
    )
    assert f"(found {image!r})" in message
