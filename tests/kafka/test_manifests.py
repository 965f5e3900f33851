"""Every Kubernetes object the kafka backend renders validates offline against its schema."""

from __future__ import annotations

from collections import Counter

from eventinfra.check.synth import synthesize
from tests.kafka.test_components import build, platform_config, settings
from tests.support import REPOSITORY
from tests.support.k8s_validation import manifest_from_recorded, validate_manifest


def test_every_rendered_object_of_the_example_stack_validates_offline() -> None:
    graph = synthesize(REPOSITORY, "kafka")
    objects = [r for r in graph.resources if r.custom and r.type.startswith("kubernetes:")]
    assert Counter(r.type.rsplit(":", 1)[1] for r in objects) == {
        "Namespace": 1,
        "Kafka": 1,
        "KafkaNodePool": 2,
        "KafkaTopic": 9,
        "KafkaUser": 7,
        "PrometheusRule": 3,
        "Deployment": 2,
        "ConfigMap": 2,
        "ScaledObject": 2,
        "TriggerAuthentication": 2,
        "PodDisruptionBudget": 2,
        "Secret": 3,
        "Service": 1,
        "StatefulSet": 1,
        "NetworkPolicy": 3,  # the store's, the default-deny, Prometheus' allow
    }
    problems = {
        r.name: validate_manifest(manifest_from_recorded(r.type, r.inputs)) for r in objects
    }
    assert {name: found for name, found in problems.items() if found} == {}


def test_objects_validate_without_tls_on_one_broker_without_rack_awareness() -> None:
    kafka = {**settings()["kafka"], "tls": False, "replicas": 1, "storage_class": "fast"}
    kafka.pop("rack_topology_key")
    graph = build(platform_config(kafka=kafka))
    objects = [r for r in graph.resources if r.custom and r.type.startswith("kubernetes:")]
    problems = {
        r.name: validate_manifest(manifest_from_recorded(r.type, r.inputs)) for r in objects
    }
    assert {name: found for name, found in problems.items() if found} == {}


def test_a_mistake_in_a_strimzi_object_is_reported_with_its_path() -> None:
    manifest = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {"name": "kfk-mailer", "namespace": "events"},
        "spec": {
            "authentication": {"type": "tls"},
            "authorization": {
                "type": "simple",
                "acls": [
                    {
                        "resource": {"type": "topic", "name": "a", "patternType": "prefixed"},
                        "operations": ["Read"],
                    }
                ],
            },
        },
    }
    problems = validate_manifest(manifest)
    assert len(problems) == 1
    assert "spec.authorization.acls[0].resource.patternType" in problems[0]
    assert "prefixed" in problems[0]
