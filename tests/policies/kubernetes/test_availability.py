"""Kubernetes availability rules: resources, probes and disruption budgets."""

from __future__ import annotations

from typing import Any

import pytest

from eventinfra_policies.kubernetes import availability
from tests.policies.factories import UNKNOWN, check_resource, check_stack
from tests.policies.kubernetes.factories import (
    STATEFUL_SET,
    deployment,
    happy_workloads,
    messages,
    pdb,
    pod,
    scaled_object,
    with_container,
)


def test_happy_stack_has_its_disruption_budget() -> None:
    outcome = check_stack(availability.k8s_consumer_pdb, happy_workloads())
    assert (outcome.violations, outcome.not_applicable) == ([], None)


# ---------------------------------------------------------------- k8s-consumer-resources


def test_container_without_memory_request_and_limit_fails() -> None:
    resource = with_container(deployment(), resources={"requests": {"cpu": "250m"}})
    assert messages(availability.k8s_consumer_resources, resource) == [
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
    assert messages(availability.k8s_consumer_resources, resource) == []
    assert messages(availability.k8s_consumer_resources, resource, {"requireCpuLimit": True}) == [
        "Deployment 'mailer-deployment' must set resources limits.cpu on container 'consumer', "
        "because without requests the scheduler overcommits the node and without a memory limit "
        "one consumer's leak gets its neighbours OOM-killed. Set resources.requests.cpu, "
        "resources.requests.memory and resources.limits.memory (limits.memory = "
        "requests.memory)."
    ]


def test_init_containers_need_resources_too() -> None:
    resource = deployment(spec=pod(initContainers=[{"name": "migrate", "image": "app:1.0"}]))
    assert messages(availability.k8s_consumer_resources, resource)[0].startswith(
        "Deployment 'mailer-deployment' must set resources requests.cpu, requests.memory, "
        "limits.memory on container 'migrate'"
    )


def test_unknown_resources_are_not_applicable() -> None:
    resource = with_container(deployment(), resources={"requests": {"cpu": UNKNOWN}})
    outcome = check_resource(availability.k8s_consumer_resources, resource)
    assert outcome.violations == [] and "can't be known during preview" in (
        outcome.not_applicable or ""
    )


# ---------------------------------------------------------------- k8s-consumer-probes


def test_consumer_without_liveness_probe_fails() -> None:
    resource = with_container(deployment(), livenessProbe=None)
    assert messages(availability.k8s_consumer_probes, resource) == [
        "Deployment 'mailer-deployment' must give container 'consumer' a livenessProbe, because "
        "a consumer that hangs keeps its prefetched messages unacknowledged until Kubernetes "
        "restarts it. Add livenessProbe (httpGet on a health endpoint)."
    ]


def test_consumer_without_readiness_probe_fails_unless_configured_off() -> None:
    resource = with_container(deployment(), readinessProbe=None)
    assert messages(availability.k8s_consumer_probes, resource) == [
        "Deployment 'mailer-deployment' must give container 'consumer' a readinessProbe, because "
        "a rollout otherwise replaces healthy pods with ones that cannot consume yet. Add "
        "readinessProbe (httpGet on a readiness endpoint)."
    ]
    assert messages(availability.k8s_consumer_probes, resource, {"requireReadiness": False}) == []


def test_identical_probes_fail() -> None:
    probe = {"httpGet": {"path": "/healthz", "port": "health"}}
    resource = with_container(deployment(), livenessProbe=probe, readinessProbe=dict(probe))
    assert messages(availability.k8s_consumer_probes, resource) == [
        "Deployment 'mailer-deployment' must give container 'consumer' a livenessProbe that "
        "differs from its readinessProbe, because a pod that is only busy is then restarted "
        "instead of taken out of rotation. Point livenessProbe at a liveness endpoint (/healthz) "
        "and readinessProbe at a readiness one (/readyz)."
    ]


def test_probes_are_not_required_of_init_containers_or_stateful_sets() -> None:
    init = {"name": "migrate", "image": "app:1.0"}
    assert (
        messages(availability.k8s_consumer_probes, deployment(spec=pod(initContainers=[init])))
        == []
    )
    stateful = with_container(deployment(), livenessProbe=None, readinessProbe=None)
    stateful.type = STATEFUL_SET
    assert messages(availability.k8s_consumer_probes, stateful) == []


# ---------------------------------------------------------------- k8s-consumer-pdb


def test_replicated_deployment_without_pdb_fails() -> None:
    outcome = check_stack(availability.k8s_consumer_pdb, [deployment(replicas=3)])
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
    outcome = check_stack(availability.k8s_consumer_pdb, [deployment(), scaled_object()])
    assert outcome.messages == [
        "Deployment 'mailer-deployment' must be selected by a PodDisruptionBudget, because it "
        "scales up to 10 replicas and a node drain may otherwise evict all of them at once. Add "
        "a policy/v1 PodDisruptionBudget in namespace 'events' with maxUnavailable: 1 whose "
        "selector matches its pod labels."
    ]


def test_single_replica_deployment_needs_no_pdb() -> None:
    assert check_stack(availability.k8s_consumer_pdb, [deployment()]).violations == []
    capped = scaled_object(maxReplicaCount=1)
    assert check_stack(availability.k8s_consumer_pdb, [deployment(), capped]).violations == []


def test_pdb_that_allows_no_disruption_fails() -> None:
    blocking = pdb(minAvailable=1)
    outcome = check_stack(availability.k8s_consumer_pdb, [deployment(), scaled_object(), blocking])
    assert outcome.messages == [
        "Deployment 'mailer-deployment' must have a PodDisruptionBudget that allows at least one "
        "disruption at 1 replicas, because PodDisruptionBudget 'mailer-pdb' blocks every "
        "eviction and node drains hang. Set maxUnavailable: 1 instead of minAvailable."
    ]
    zero = pdb(maxUnavailable=0)
    assert check_stack(availability.k8s_consumer_pdb, [deployment(replicas=3), zero]).messages


@pytest.mark.parametrize(
    "spec", [{"maxUnavailable": "25%"}, {"minAvailable": 2}, {"minAvailable": "50%"}]
)
def test_pdb_that_allows_one_disruption_passes(spec: dict[str, Any]) -> None:
    outcome = check_stack(availability.k8s_consumer_pdb, [deployment(replicas=3), pdb(**spec)])
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
    outcome = check_stack(availability.k8s_consumer_pdb, [deployment(replicas=2), elsewhere])
    assert len(outcome.violations) == 1
    outcome = check_stack(availability.k8s_consumer_pdb, [deployment(replicas=2), other_pods])
    assert len(outcome.violations) == 1


def test_empty_pdb_selector_selects_every_pod_of_the_namespace() -> None:
    everything = pdb()
    everything.props["spec"]["selector"] = {}
    outcome = check_stack(availability.k8s_consumer_pdb, [deployment(replicas=2), everything])
    assert outcome.violations == []


def test_unknown_replicas_are_not_applicable() -> None:
    resource = deployment()
    resource.props["spec"]["replicas"] = UNKNOWN
    outcome = check_stack(availability.k8s_consumer_pdb, [resource])
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "could not check 'mailer-deployment': string value at .spec.replicas can't be known "
        "during preview; checked again during `pulumi up`"
    )
