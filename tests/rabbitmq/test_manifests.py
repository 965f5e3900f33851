"""Every Kubernetes object the rabbitmq backend renders validates offline against its schema."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from eventinfra import RabbitMQPlatform, load_platform_config
from eventinfra.check.synth import record, synthesize
from tests.support import REPOSITORY
from tests.support.k8s_validation import manifest_from_recorded, validate_manifest


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
        "ConfigMap": 1,
        "ScaledObject": 1,
        "TriggerAuthentication": 1,
        "Service": 1,
        "StatefulSet": 1,
        "NetworkPolicy": 3,
    }
    problems = {
        r.name: validate_manifest(manifest_from_recorded(r.type, r.inputs)) for r in objects
    }
    assert {name: found for name, found in problems.items() if found} == {}


def test_objects_validate_without_tls_with_installed_operators_and_a_scale_to_zero_consumer(
    tmp_path: Path,
) -> None:
    stack = yaml.safe_load((REPOSITORY / "stacks" / "Pulumi.k8s.yaml").read_text("utf-8"))
    settings = stack["config"]["eventinfra:settings"]
    settings["rabbitmq"] = {"namespace": "messaging", "replicas": 1, "install_operators": True}
    topology = yaml.safe_load((REPOSITORY / "topology.k8s.yaml").read_text("utf-8"))
    topology["consumers"]["mailer"]["container"]["replicas"] = {"min": 0, "max": 1}
    topology["consumers"]["mailer"]["idempotency"] = {"enabled": False}
    for event in topology["events"].values():
        event.pop("schema", None)
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology))
    settings["topology"] = "topology.yaml"
    config = load_platform_config(settings, stack="k8s", project_dir=tmp_path)
    graph = record(lambda: RabbitMQPlatform.from_config("events", config))
    objects = [r for r in graph.resources if r.custom and r.type.startswith("kubernetes:")]
    assert "kubernetes:apps/v1:StatefulSet" not in {r.type for r in objects}
    problems = {
        r.name: validate_manifest(manifest_from_recorded(r.type, r.inputs)) for r in objects
    }
    assert {name: found for name, found in problems.items() if found} == {}
