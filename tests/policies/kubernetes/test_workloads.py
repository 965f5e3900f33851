"""What every Kubernetes workload rule shares: the kinds it reads and unknown pod specs."""

from __future__ import annotations

from typing import Any

import pytest

from eventinfra_policies import kubernetes
from tests.policies.factories import UNKNOWN, Res, check_resource
from tests.policies.kubernetes.factories import deployment, happy_workloads

RESOURCE_POLICIES = [p for p in kubernetes.POLICIES if p.name != "k8s-consumer-pdb"]


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


def test_other_resource_types_are_ignored() -> None:
    resource = Res("kubernetes:core/v1:Service", "mailer-service", {"spec": {}})
    for policy in RESOURCE_POLICIES:
        assert check_resource(policy, resource).violations == []
