"""Kubernetes workload policies: resources, probes, disruption budgets, pod security, images."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from eventinfra_policies import kubernetes

from tests.policies.factories import UNKNOWN, Res, check_resource, check_stack

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
CRON_JOB = "kubernetes:batch/v1:CronJob"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
LABELS = {"app.kubernetes.io/name": "k8s-mailer"}
RESOURCE_POLICIES = [p for p in kubernetes.POLICIES if p.name != "k8s-consumer-pdb"]


def consumer_container(**changes: Any) -> dict[str, Any]:
    """The container ContainerConsumer records for the mailer (see the k8s example stack)."""
    container = {
        "name": "consumer",
        "image": "ghcr.io/acme/mailer:1.4.2",
        "env": [{"name": "RABBITMQ_QUEUE", "value": "mailer"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "250m", "memory": "256Mi"},
        },
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "health"}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"}, "periodSeconds": 10},
    }
    container.update(changes)
    return container


def pod(*containers: dict[str, Any], **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": list(containers) or [consumer_container()],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001},
        "automountServiceAccountToken": False,
    }
    spec.update(changes)
    return spec


def deployment(
    name: str = "mailer-deployment",
    *,
    replicas: int = 1,
    spec: dict[str, Any] | None = None,
    namespace: str = "events",
) -> Res:
    return Res(
        DEPLOYMENT,
        name,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "k8s-mailer", "namespace": namespace, "labels": dict(LABELS)},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": dict(LABELS)},
                "template": {"metadata": {"labels": dict(LABELS)}, "spec": spec or pod()},
            },
        },
    )


def pdb(name: str = "mailer-pdb", **spec: Any) -> Res:
    return Res(
        PDB,
        name,
        {
            "metadata": {"name": "k8s-mailer", "namespace": "events"},
            "spec": {"selector": {"matchLabels": dict(LABELS)}, **(spec or {"maxUnavailable": 1})},
        },
    )


def scaled_object(name: str = "mailer-scaled-object", **spec: Any) -> Res:
    return Res(
        SCALED_OBJECT,
        name,
        {
            "metadata": {"name": "k8s-mailer", "namespace": "events"},
            "spec": {
                "scaleTargetRef": {"name": "k8s-mailer"},
                "minReplicaCount": 1,
                "maxReplicaCount": 10,
                "triggers": [
                    {
                        "type": "rabbitmq",
                        "authenticationRef": {"name": "k8s-mailer-rabbitmq"},
                        "metadata": {
                            "mode": "QueueLength",
                            "value": "20",
                            "queueName": "mailer",
                            "vhostName": "k8s",
                        },
                    }
                ],
                **spec,
            },
        },
    )


def happy_workloads() -> list[Res]:
    redis = copy.deepcopy(
        deployment("redis-statefulset", spec=pod(consumer_container(name="redis")))
    )
    redis.type = STATEFUL_SET
    cron = Res(
        CRON_JOB,
        "cleanup-cron-job",
        {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod()}}}}},
    )
    return [deployment(), redis, cron, pdb(), scaled_object()]


def with_container(resource: Res, **changes: Any) -> Res:
    changed = copy.deepcopy(resource)
    container = changed.props["spec"]["template"]["spec"]["containers"][0]
    for key, value in changes.items():
        if value is None:
            container.pop(key, None)
        else:
            container[key] = value
    return changed


def with_security(resource: Res, **changes: Any) -> Res:
    context = {**consumer_container()["securityContext"], **changes}
    return with_container(resource, securityContext={k: v for k, v in context.items() if v != ...})


def messages(policy: Any, resource: Res, config: dict[str, Any] | None = None) -> list[str]:
    outcome = check_resource(policy, resource, config)
    assert outcome.not_applicable is None
    return outcome.messages


def test_policy_names() -> None:
    assert [p.name for p in kubernetes.POLICIES] == [
        "k8s-consumer-resources",
        "k8s-consumer-probes",
        "k8s-consumer-pdb",
        "k8s-run-as-non-root",
        "k8s-readonly-root-filesystem",
        "k8s-no-privilege-escalation",
        "k8s-image-pinned",
    ]


@pytest.mark.parametrize("policy", RESOURCE_POLICIES, ids=lambda p: p.name)
def test_happy_workloads_pass(policy: Any) -> None:
    for resource in happy_workloads():
        outcome = check_resource(policy, resource, {"requireCpuLimit": True})
        assert (outcome.violations, outcome.not_applicable) == ([], None), resource.name


def test_happy_stack_has_its_disruption_budget() -> None:
    outcome = check_stack(kubernetes.k8s_consumer_pdb, happy_workloads())
    assert (outcome.violations, outcome.not_applicable) == ([], None)


@pytest.mark.parametrize("policy", RESOURCE_POLICIES, ids=lambda p: p.name)
def test_unknown_pod_spec_is_not_applicable(policy: Any) -> None:
    resource = deployment()
    resource.props["spec"]["template"]["spec"] = UNKNOWN
    outcome = check_resource(policy, resource)
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "'mailer-deployment': string value at .spec.template.spec can't be known during preview; "
        "checked again during `pulumi up`"
    )


# ---------------------------------------------------------------- k8s-consumer-resources


def test_container_without_memory_request_and_limit_fails() -> None:
    resource = with_container(deployment(), resources={"requests": {"cpu": "250m"}})
    assert messages(kubernetes.k8s_consumer_resources, resource) == [
        "Deployment 'mailer-deployment' must set resources requests.memory, limits.memory on "
        "container 'consumer', because without requests the scheduler overcommits the node and "
        "without a memory limit one consumer's leak gets its neighbours OOM-killed. Set "
        "resources.requests.cpu, resources.requests.memory and resources.limits.memory "
        "(limits.memory = requests.memory)."
    ]


def test_cpu_limit_is_required_only_when_configured() -> None:
    resource = with_container(
        deployment(),
        resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
    )
    assert messages(kubernetes.k8s_consumer_resources, resource) == []
    assert messages(kubernetes.k8s_consumer_resources, resource, {"requireCpuLimit": True}) == [
        "Deployment 'mailer-deployment' must set resources limits.cpu on container 'consumer', "
        "because without requests the scheduler overcommits the node and without a memory limit "
        "one consumer's leak gets its neighbours OOM-killed. Set resources.requests.cpu, "
        "resources.requests.memory and resources.limits.memory (limits.memory = "
        "requests.memory)."
    ]


def test_init_containers_need_resources_too() -> None:
    resource = deployment(spec=pod(initContainers=[{"name": "migrate", "image": "app:1.0"}]))
    assert messages(kubernetes.k8s_consumer_resources, resource)[0].startswith(
        "Deployment 'mailer-deployment' must set resources requests.cpu, requests.memory, "
        "limits.memory on container 'migrate'"
    )


def test_unknown_resources_are_not_applicable() -> None:
    resource = with_container(deployment(), resources={"requests": {"cpu": UNKNOWN}})
    outcome = check_resource(kubernetes.k8s_consumer_resources, resource)
    assert outcome.violations == [] and "can't be known during preview" in outcome.not_applicable


def test_other_resource_types_are_ignored() -> None:
    resource = Res("kubernetes:core/v1:Service", "mailer-service", {"spec": {}})
    for policy in RESOURCE_POLICIES:
        assert check_resource(policy, resource).violations == []


# ---------------------------------------------------------------- k8s-consumer-probes


def test_consumer_without_liveness_probe_fails() -> None:
    resource = with_container(deployment(), livenessProbe=None)
    assert messages(kubernetes.k8s_consumer_probes, resource) == [
        "Deployment 'mailer-deployment' must give container 'consumer' a livenessProbe, because "
        "a consumer that hangs keeps its prefetched messages unacknowledged until Kubernetes "
        "restarts it. Add livenessProbe (httpGet on a health endpoint)."
    ]


def test_consumer_without_readiness_probe_fails_unless_configured_off() -> None:
    resource = with_container(deployment(), readinessProbe=None)
    assert messages(kubernetes.k8s_consumer_probes, resource) == [
        "Deployment 'mailer-deployment' must give container 'consumer' a readinessProbe, because "
        "a rollout otherwise replaces healthy pods with ones that cannot consume yet. Add "
        "readinessProbe (httpGet on a readiness endpoint)."
    ]
    assert messages(kubernetes.k8s_consumer_probes, resource, {"requireReadiness": False}) == []


def test_identical_probes_fail() -> None:
    probe = {"httpGet": {"path": "/healthz", "port": "health"}}
    resource = with_container(deployment(), livenessProbe=probe, readinessProbe=dict(probe))
    assert messages(kubernetes.k8s_consumer_probes, resource) == [
        "Deployment 'mailer-deployment' must give container 'consumer' a livenessProbe that "
        "differs from its readinessProbe, because a pod that is only busy is then restarted "
        "instead of taken out of rotation. Point livenessProbe at a liveness endpoint (/healthz) "
        "and readinessProbe at a readiness one (/readyz)."
    ]


def test_probes_are_not_required_of_init_containers_or_stateful_sets() -> None:
    init = {"name": "migrate", "image": "app:1.0"}
    assert (
        messages(kubernetes.k8s_consumer_probes, deployment(spec=pod(initContainers=[init]))) == []
    )
    stateful = with_container(deployment(), livenessProbe=None, readinessProbe=None)
    stateful.type = STATEFUL_SET
    assert messages(kubernetes.k8s_consumer_probes, stateful) == []


# ---------------------------------------------------------------- k8s-consumer-pdb


def test_replicated_deployment_without_pdb_fails() -> None:
    outcome = check_stack(kubernetes.k8s_consumer_pdb, [deployment(replicas=3)])
    assert outcome.violations == [
        (
            "Deployment 'mailer-deployment' must be selected by a PodDisruptionBudget, because it "
            "runs 3 replicas and a node drain may otherwise evict all of them at once. Add a "
            "policy/v1 PodDisruptionBudget in namespace 'events' with maxUnavailable: 1 whose "
            "selector matches its pod labels.",
            "urn:pulumi:dev::shop::kubernetes:apps/v1:Deployment::mailer-deployment",
        )
    ]


def test_autoscaled_deployment_without_pdb_fails() -> None:
    outcome = check_stack(kubernetes.k8s_consumer_pdb, [deployment(), scaled_object()])
    assert outcome.messages == [
        "Deployment 'mailer-deployment' must be selected by a PodDisruptionBudget, because it "
        "scales up to 10 replicas and a node drain may otherwise evict all of them at once. Add "
        "a policy/v1 PodDisruptionBudget in namespace 'events' with maxUnavailable: 1 whose "
        "selector matches its pod labels."
    ]


def test_single_replica_deployment_needs_no_pdb() -> None:
    assert check_stack(kubernetes.k8s_consumer_pdb, [deployment()]).violations == []
    capped = scaled_object(maxReplicaCount=1)
    assert check_stack(kubernetes.k8s_consumer_pdb, [deployment(), capped]).violations == []


def test_pdb_that_allows_no_disruption_fails() -> None:
    blocking = pdb(minAvailable=1)
    outcome = check_stack(kubernetes.k8s_consumer_pdb, [deployment(), scaled_object(), blocking])
    assert outcome.messages == [
        "Deployment 'mailer-deployment' must have a PodDisruptionBudget that allows at least one "
        "disruption at 1 replicas, because PodDisruptionBudget 'mailer-pdb' blocks every "
        "eviction and node drains hang. Set maxUnavailable: 1 instead of minAvailable."
    ]
    zero = pdb(maxUnavailable=0)
    assert check_stack(kubernetes.k8s_consumer_pdb, [deployment(replicas=3), zero]).messages


@pytest.mark.parametrize(
    "spec", [{"maxUnavailable": "25%"}, {"minAvailable": 2}, {"minAvailable": "50%"}]
)
def test_pdb_that_allows_one_disruption_passes(spec: dict[str, Any]) -> None:
    outcome = check_stack(kubernetes.k8s_consumer_pdb, [deployment(replicas=3), pdb(**spec)])
    assert outcome.violations == []


def test_pdb_in_another_namespace_or_selecting_other_pods_does_not_count() -> None:
    elsewhere = pdb()
    elsewhere.props["metadata"]["namespace"] = "other"
    other_pods = pdb()
    other_pods.props["spec"]["selector"] = {
        "matchExpressions": [
            {"key": "app.kubernetes.io/name", "operator": "In", "values": ["k8s-billing"]}
        ]
    }
    outcome = check_stack(kubernetes.k8s_consumer_pdb, [deployment(replicas=2), elsewhere])
    assert len(outcome.violations) == 1
    outcome = check_stack(kubernetes.k8s_consumer_pdb, [deployment(replicas=2), other_pods])
    assert len(outcome.violations) == 1


def test_empty_pdb_selector_selects_every_pod_of_the_namespace() -> None:
    everything = pdb()
    everything.props["spec"]["selector"] = {}
    outcome = check_stack(kubernetes.k8s_consumer_pdb, [deployment(replicas=2), everything])
    assert outcome.violations == []


def test_unknown_replicas_are_not_applicable() -> None:
    resource = deployment()
    resource.props["spec"]["replicas"] = UNKNOWN
    outcome = check_stack(kubernetes.k8s_consumer_pdb, [resource])
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "could not check 'mailer-deployment': string value at .spec.replicas can't be known "
        "during preview; checked again during `pulumi up`"
    )


# ---------------------------------------------------------------- k8s-run-as-non-root


def test_pod_without_non_root_settings_fails() -> None:
    resource = deployment(spec=pod(securityContext={}))
    resource = with_security(resource, runAsNonRoot=...)
    assert messages(kubernetes.k8s_run_as_non_root, resource) == [
        "Deployment 'mailer-deployment' must run container 'consumer' as a non-root user, "
        "because an image whose user is root otherwise runs as root and an escape owns the node. "
        "Set securityContext.runAsNonRoot: true (pod or container) and runAsUser to a non-zero "
        "UID."
    ]


def test_container_running_as_uid_zero_fails() -> None:
    resource = with_security(deployment(), runAsUser=0)
    assert messages(kubernetes.k8s_run_as_non_root, resource) == [
        "Deployment 'mailer-deployment' must not run container 'consumer' as root "
        "(runAsUser: 0), because a process that escapes the container is then root on the node. "
        "Set securityContext.runAsUser to a non-zero UID and runAsNonRoot: true."
    ]


def test_container_overriding_pod_non_root_fails() -> None:
    resource = deployment(spec=pod(securityContext={"runAsNonRoot": True}))
    resource = with_security(resource, runAsNonRoot=False)
    assert len(messages(kubernetes.k8s_run_as_non_root, resource)) == 1


def test_non_zero_uid_alone_passes() -> None:
    resource = deployment(spec=pod(securityContext={"runAsUser": 10001}))
    assert messages(kubernetes.k8s_run_as_non_root, with_security(resource, runAsNonRoot=...)) == []


def test_unknown_uid_is_not_applicable() -> None:
    resource = with_security(deployment(spec=pod(securityContext={})), runAsUser=UNKNOWN)
    outcome = check_resource(kubernetes.k8s_run_as_non_root, resource)
    assert outcome.violations == [] and "runAsUser can't be known" in outcome.not_applicable


# ---------------------------------------------------------------- k8s-readonly-root-filesystem


def test_writable_root_filesystem_fails() -> None:
    resource = with_security(deployment(), readOnlyRootFilesystem=...)
    assert messages(kubernetes.k8s_readonly_root_filesystem, resource) == [
        "Deployment 'mailer-deployment' must give container 'consumer' a read-only root "
        "filesystem, because an attacker or a bug can otherwise rewrite the image's binaries at "
        "run time. Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where "
        "the process writes (/tmp)."
    ]


# ---------------------------------------------------------------- k8s-no-privilege-escalation


def test_privileged_container_fails() -> None:
    resource = with_security(deployment(), privileged=True)
    assert messages(kubernetes.k8s_no_privilege_escalation, resource) == [
        "Deployment 'mailer-deployment' must not run container 'consumer' privileged, because a "
        "privileged container has every capability and the node's devices. Remove "
        "securityContext.privileged (or set it to false)."
    ]


def test_privilege_escalation_left_at_default_fails() -> None:
    resource = with_security(deployment(), allowPrivilegeEscalation=...)
    assert messages(kubernetes.k8s_no_privilege_escalation, resource) == [
        "Deployment 'mailer-deployment' must set allowPrivilegeEscalation: false on container "
        "'consumer', because Kubernetes allows setuid binaries to gain privileges by default. Set "
        "securityContext.allowPrivilegeEscalation: false."
    ]


# ---------------------------------------------------------------- k8s-image-pinned


def test_latest_image_fails() -> None:
    resource = with_container(deployment(), image="ghcr.io/acme/mailer:latest")
    assert messages(kubernetes.k8s_image_pinned, resource) == [
        "Deployment 'mailer-deployment' must pin the image of container 'consumer' to a release "
        "tag or digest instead of :latest (found 'ghcr.io/acme/mailer:latest'), because :latest "
        "moves and a rollback or a rescheduled pod silently runs another build. Use a release "
        "tag (app:1.4.2) or a digest (app@sha256:…)."
    ]


@pytest.mark.parametrize("image", ["ghcr.io/acme/mailer", "registry.local:5000/acme/mailer"])
def test_untagged_image_fails(image: str) -> None:
    resource = with_container(deployment(), image=image)
    assert messages(kubernetes.k8s_image_pinned, resource) == [
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
    assert messages(kubernetes.k8s_image_pinned, resource) == []


def test_unknown_image_is_not_applicable() -> None:
    resource = with_container(deployment(), image=UNKNOWN)
    outcome = check_resource(kubernetes.k8s_image_pinned, resource)
    assert outcome.violations == [] and "image can't be known" in outcome.not_applicable
