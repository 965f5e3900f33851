"""Every Kubernetes object the rabbitmq backend renders validates offline against its schema."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from eventinfra.k8s_validation import manifest_from_recorded, validate_manifest
from eventinfra.synth import synthesize

REPOSITORY = Path(__file__).resolve().parents[1]


def test_every_rendered_kubernetes_object_validates_offline() -> None:
    graph = synthesize(REPOSITORY, "k8s")
    objects = [r for r in graph.resources if r.custom and r.type.startswith("kubernetes:")]
    assert Counter(r.type.rsplit(":", 1)[1] for r in objects) == {
        "Namespace": 1,
        "RabbitmqCluster": 1,
        "PodDisruptionBudget": 2,
        "ServiceMonitor": 1,
        "Vhost": 1,
        "Exchange": 9,
        "Queue": 9,
        "Binding": 10,
        "Policy": 6,
        "User": 7,
        "Permission": 7,
        "Secret": 9,
        "PrometheusRule": 4,
        "Deployment": 1,
        "ScaledObject": 1,
        "TriggerAuthentication": 1,
        "Service": 1,
        "StatefulSet": 1,
    }
    problems = {
        r.name: validate_manifest(manifest_from_recorded(r.type, r.inputs)) for r in objects
    }
    assert {name: found for name, found in problems.items() if found} == {}
