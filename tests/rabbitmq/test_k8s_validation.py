"""Offline validation of the Kubernetes objects eventinfra renders (tests.support.k8s_validation)."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import kubernetes_validate
import pulumi
import pytest
from pulumi.runtime import rpc

from tests.support.k8s_validation import (
    KUBERNETES_VERSION,
    PULUMI_SECRET_SIG,
    PULUMI_SIG_KEY,
    PULUMI_UNKNOWN,
    crd_schema_to_jsonschema,
    custom_resource_kinds,
    custom_resource_schema,
    manifest_from_recorded,
    validate_manifest,
)

SCHEMA_DIR = Path(str(resources.files("tests.support").joinpath("k8s_schemas")))
CLUSTER_REF = {"name": "events", "namespace": "messaging"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything here must work offline: any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "messaging", **extra}


# One valid object of every kind eventinfra renders, in the production shape of FACTS.md.
VALID: dict[str, dict[str, Any]] = {
    "Namespace": {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "messaging", "labels": {"app.kubernetes.io/part-of": "eventinfra"}},
    },
    "Secret": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta("orders-consumer-credentials"),
        "type": "Opaque",
        "stringData": {"username": "orders-consumer", "password": "s3cret"},
    },
    "ServiceAccount": {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta("orders-consumer"),
        "automountServiceAccountToken": False,
    },
    "Deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta("orders-consumer", labels={"app": "orders-consumer"}),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "orders-consumer"}},
            "template": {
                "metadata": {"labels": {"app": "orders-consumer"}},
                "spec": {
                    "serviceAccountName": "orders-consumer",
                    "containers": [
                        {
                            "name": "consumer",
                            "image": "registry.example.com/orders-consumer:1.4.2",
                            "env": [
                                {
                                    "name": "AMQP_PASSWORD",
                                    "valueFrom": {
                                        "secretKeyRef": {
                                            "name": "orders-consumer-credentials",
                                            "key": "password",
                                        }
                                    },
                                }
                            ],
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "256Mi"},
                                "limits": {"cpu": "250m", "memory": "256Mi"},
                            },
                        }
                    ],
                },
            },
        },
    },
    "PodDisruptionBudget": {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta("events"),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "events"}},
        },
    },
    "RabbitmqCluster": {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "RabbitmqCluster",
        "metadata": meta("events"),
        "spec": {
            "replicas": 3,
            "image": "rabbitmq:3.13-management",
            "resources": {
                "requests": {"cpu": "2", "memory": "4Gi"},
                "limits": {"cpu": "2", "memory": "4Gi"},
            },
            "persistence": {"storageClassName": "ssd", "storage": "50Gi"},
            "tls": {"secretName": "events-tls", "disableNonTLSListeners": True},
            "rabbitmq": {
                "additionalConfig": "cluster_partition_handling = pause_minority\n",
                "additionalPlugins": ["rabbitmq_shovel"],
            },
            "service": {"type": "ClusterIP"},
            "affinity": {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "events"}},
                            "topologyKey": "kubernetes.io/hostname",
                        }
                    ]
                }
            },
            "override": {
                "statefulSet": {"spec": {"template": {"spec": {"priorityClassName": "x"}}}}
            },
            "terminationGracePeriodSeconds": 604800,
        },
    },
    "Vhost": {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "Vhost",
        "metadata": meta("orders"),
        "spec": {
            "name": "orders",
            "defaultQueueType": "quorum",
            "rabbitmqClusterReference": CLUSTER_REF,
        },
    },
    "Exchange": {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "Exchange",
        "metadata": meta("orders-x"),
        "spec": {
            "name": "orders.x",
            "vhost": "orders",
            "type": "topic",
            "durable": True,
            "autoDelete": False,
            "rabbitmqClusterReference": CLUSTER_REF,
        },
    },
    "Queue": {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "Queue",
        "metadata": meta("orders-created"),
        "spec": {
            "name": "orders.created",
            "vhost": "orders",
            "type": "quorum",
            "durable": True,
            "arguments": {"x-queue-type": "quorum"},
            "rabbitmqClusterReference": CLUSTER_REF,
        },
    },
    "Binding": {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "Binding",
        "metadata": meta("orders-created-binding"),
        "spec": {
            "vhost": "orders",
            "source": "orders.x",
            "destination": "orders.created",
            "destinationType": "queue",
            "routingKey": "order.created",
            "rabbitmqClusterReference": CLUSTER_REF,
        },
    },
    "Policy": {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "Policy",
        "metadata": meta("orders-dlx"),
        "spec": {
            "name": "orders-dlx",
            "vhost": "orders",
            "pattern": "^orders\\.created$",
            "applyTo": "queues",
            "priority": 10,
            "definition": {
                "dead-letter-exchange": "orders.dlx",
                "delivery-limit": 5,
                "overflow": "reject-publish",
                "dead-letter-strategy": "at-least-once",
            },
            "rabbitmqClusterReference": CLUSTER_REF,
        },
    },
    "User": {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "User",
        "metadata": meta("orders-consumer"),
        "spec": {
            "tags": [],
            "importCredentialsSecret": {"name": "orders-consumer-credentials"},
            "rabbitmqClusterReference": CLUSTER_REF,
        },
    },
    "Permission": {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "Permission",
        "metadata": meta("orders-consumer-orders"),
        "spec": {
            "vhost": "orders",
            "userReference": {"name": "orders-consumer"},
            "permissions": {"configure": "^$", "write": "^$", "read": "^orders\\.created$"},
            "rabbitmqClusterReference": CLUSTER_REF,
        },
    },
    "ScaledObject": {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": meta("orders-consumer"),
        "spec": {
            "scaleTargetRef": {"name": "orders-consumer"},
            "minReplicaCount": 1,
            "maxReplicaCount": 10,
            "pollingInterval": 15,
            "cooldownPeriod": 120,
            "triggers": [
                {
                    "type": "rabbitmq",
                    "metadata": {
                        "protocol": "http",
                        "mode": "QueueLength",
                        "value": "20",
                        "queueName": "orders.created",
                        "vhostName": "orders",
                    },
                    "authenticationRef": {"name": "orders-consumer-rabbitmq"},
                }
            ],
        },
    },
    "TriggerAuthentication": {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": meta("orders-consumer-rabbitmq"),
        "spec": {
            "secretTargetRef": [
                {"parameter": "host", "name": "orders-consumer-keda", "key": "management-uri"}
            ]
        },
    },
    "ServiceMonitor": {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta("events"),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/component": "rabbitmq"}},
            "endpoints": [{"port": "prometheus", "interval": "15s", "scheme": "http"}],
        },
    },
    "PrometheusRule": {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": meta("orders-alerts"),
        "spec": {
            "groups": [
                {
                    "name": "orders",
                    "rules": [
                        {
                            "alert": "OrdersDeadLetters",
                            "expr": 'rabbitmq_queue_messages_ready{queue="orders.dlq"} > 0',
                            "for": "5m",
                            "labels": {"severity": "page"},
                            "annotations": {"summary": "Messages in orders.dlq"},
                        }
                    ],
                }
            ]
        },
    },
}

BUILT_IN = {"Namespace", "Secret", "ServiceAccount", "Deployment", "PodDisruptionBudget"}


def valid(kind: str) -> dict[str, Any]:
    return copy.deepcopy(VALID[kind])


def test_every_custom_kind_eventinfra_renders_has_a_stored_schema() -> None:
    custom = {(obj["apiVersion"], kind) for kind, obj in VALID.items() if kind not in BUILT_IN}
    # The kafka backend's Strimzi kinds are exercised in tests/kafka/test_manifests.py.
    strimzi = {
        ("kafka.strimzi.io/v1", k) for k in ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser")
    }
    assert custom | strimzi == set(custom_resource_kinds())


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_valid_object_of_each_kind_passes(kind: str) -> None:
    assert validate_manifest(valid(kind)) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(obj: dict[str, Any]) -> None:
        *parents, last = _parts(path)
        node: Any = obj
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(obj: dict[str, Any]) -> None:
        *parents, last = _parts(path)
        node: Any = obj
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


def _parts(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


# (kind, realistic mistake, the exact problem reported)
MISTAKES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "Namespace",
        _set("metadata.name", "Messaging"),
        "Namespace 'Messaging': metadata.name: 'Messaging' is not a valid name "
        "(lower-case alphanumerics, '-' and '.', at most 63 characters)",
    ),
    (
        "Secret",
        _set("stringData.port", 5672),
        "Secret 'orders-consumer-credentials': stringData.port: expected string or null, found 5672",
    ),
    (
        "ServiceAccount",
        _set("automountServiceAccountToken", "false"),
        "ServiceAccount 'orders-consumer': automountServiceAccountToken: "
        "expected boolean or null, found 'false'",
    ),
    (
        "Deployment",
        _set("spec.template.spec.containers.0.resource", {"limits": {"cpu": "1"}}),
        "Deployment 'orders-consumer': spec.template.spec.containers[0].resource: unknown field",
    ),
    (
        "PodDisruptionBudget",
        lambda o: o["spec"].update(maxUnavaliable=o["spec"].pop("maxUnavailable")),
        "PodDisruptionBudget 'events': spec.maxUnavaliable: unknown field",
    ),
    (
        "RabbitmqCluster",
        _set("spec.replicas", "3"),
        "RabbitmqCluster 'events': spec.replicas: expected integer, found '3'",
    ),
    (
        "Vhost",
        _set("spec.defaultQueueType", "quorom"),
        "Vhost 'orders': spec.defaultQueueType: 'quorom' is not one of "
        "'quorum', 'classic', 'stream'",
    ),
    (
        "Exchange",
        _delete("spec.name"),
        "Exchange 'orders-x': spec.name: required field is missing",
    ),
    (
        "Queue",
        _set("spec.durable", "true"),
        "Queue 'orders-created': spec.durable: expected boolean, found 'true'",
    ),
    (
        "Binding",
        _set("spec.destinationType", "queues"),
        "Binding 'orders-created-binding': spec.destinationType: 'queues' is not one of "
        "'exchange', 'queue'",
    ),
    (
        "Policy",
        _set("spec.applyTo", "quorum-queues"),
        "Policy 'orders-dlx': spec.applyTo: 'quorum-queues' is not one of 'queues', "
        "'classic_queues', 'quorum_queues', 'streams', 'exchanges', 'all'",
    ),
    (
        "User",
        _set("spec.tags", ["admin"]),
        "User 'orders-consumer': spec.tags[0]: 'admin' is not one of 'management', "
        "'policymaker', 'monitoring', 'administrator'",
    ),
    (
        "Permission",
        _delete("spec.vhost"),
        "Permission 'orders-consumer-orders': spec.vhost: required field is missing",
    ),
    (
        "ScaledObject",
        # Trigger metadata is a map of strings: a number (as Pulumi sends it) is rejected.
        _set("spec.triggers.0.metadata.value", 20),
        "ScaledObject 'orders-consumer': spec.triggers[0].metadata.value: "
        "expected string, found 20",
    ),
    (
        "TriggerAuthentication",
        _delete("spec.secretTargetRef.0.key"),
        "TriggerAuthentication 'orders-consumer-rabbitmq': spec.secretTargetRef[0].key: "
        "required field is missing",
    ),
    (
        "ServiceMonitor",
        _set("spec.endpoints.0.interval", "15 seconds"),
        "ServiceMonitor 'events': spec.endpoints[0].interval: '15 seconds' does not match the "
        "pattern ^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
        "(([0-9]+)ms)?)$",
    ),
    (
        "PrometheusRule",
        _set("spec.groups.0.rules.0.severity", "page"),
        "PrometheusRule 'orders-alerts': spec.groups[0].rules[0].severity: unknown field",
    ),
]


@pytest.mark.parametrize(
    ("kind", "mutate", "problem"), MISTAKES, ids=[kind for kind, _, _ in MISTAKES]
)
def test_a_realistic_mistake_is_reported_with_its_field_path(
    kind: str, mutate: Callable[[dict[str, Any]], None], problem: str
) -> None:
    obj = valid(kind)
    mutate(obj)
    assert validate_manifest(obj) == [problem]


def test_every_kind_has_a_mistake_test() -> None:
    assert {kind for kind, _, _ in MISTAKES} == set(VALID)


def test_unknown_top_level_and_metadata_fields_of_a_custom_resource_are_reported() -> None:
    obj = valid("RabbitmqCluster")
    obj["specs"] = {}
    obj["metadata"]["label"] = {"a": "b"}
    assert validate_manifest(obj) == [
        "RabbitmqCluster 'events': metadata.label: unknown field",
        "RabbitmqCluster 'events': specs: unknown field",
    ]


def test_a_custom_resource_without_a_name_is_reported() -> None:
    obj = valid("Queue")
    del obj["metadata"]["name"]
    assert validate_manifest(obj) == ["Queue '<unnamed>': metadata.name: required field is missing"]


def test_all_problems_of_a_custom_resource_are_reported_in_path_order() -> None:
    obj = valid("RabbitmqCluster")
    obj["spec"]["replicas"] = -1
    obj["spec"]["persistence"]["storageClass"] = "ssd"
    obj["spec"]["service"]["type"] = "Ingress"
    assert validate_manifest(obj) == [
        "RabbitmqCluster 'events': spec.persistence.storageClass: unknown field",
        "RabbitmqCluster 'events': spec.replicas: -1 is less than the minimum of 0",
        "RabbitmqCluster 'events': spec.service.type: 'Ingress' is not one of "
        "'ClusterIP', 'LoadBalancer', 'NodePort'",
    ]


def test_the_trimmed_statefulset_override_is_not_checked_but_the_rest_of_override_is() -> None:
    obj = valid("RabbitmqCluster")
    obj["spec"]["override"]["statefulSet"] = {"spec": {"anything": {"goes": 1}}}
    assert validate_manifest(obj) == []
    obj["spec"]["override"]["service"] = {"spec": {"type": "ClusterIP", "typo": 1}}
    assert validate_manifest(obj) == [
        "RabbitmqCluster 'events': spec.override.service.spec.typo: unknown field"
    ]


def test_preserve_unknown_fields_subtrees_accept_any_keys() -> None:
    obj = valid("Policy")
    obj["spec"]["definition"]["max-length-bytes"] = 1048576
    assert validate_manifest(obj) == []


def test_keda_trigger_metadata_values_are_not_constrained_by_the_crd() -> None:
    """A misspelt `mode` passes: KEDA's CRD types trigger metadata as a map of strings only.

    KEDA itself rejects it when the scaler starts; eventinfra must check such values itself.
    """
    obj = valid("ScaledObject")
    obj["spec"]["triggers"][0]["metadata"]["mode"] = "QueueLenght"
    assert validate_manifest(obj) == []


def test_queue_deletion_policy_is_delete_or_retain() -> None:
    obj = valid("Queue")
    obj["spec"]["deletionPolicy"] = "retain"
    assert validate_manifest(obj) == []
    obj["spec"]["deletionPolicy"] = "keep"
    problems = validate_manifest(obj)
    assert len(problems) == 1
    assert problems[0].startswith("Queue 'orders-created': spec.deletionPolicy: ")
    assert "'keep'" in problems[0]


def test_an_unknown_custom_kind_is_a_problem_not_a_pass() -> None:
    shovel = {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "Shovel",
        "metadata": {"name": "orders-shovel"},
        "spec": {"name": "orders-shovel"},
    }
    assert validate_manifest(shovel) == [
        "Shovel 'orders-shovel': no schema is known for kind Shovel of apiVersion "
        "rabbitmq.com/v1beta1; eventinfra cannot validate it offline (add its CRD schema to "
        "eventinfra/k8s_schemas)"
    ]


def test_a_custom_group_is_never_validated_as_a_built_in_kind_of_the_same_name() -> None:
    # kubernetes-validate would map apps.example.com/v1 to its apps/v1 schemas.
    obj = valid("Deployment")
    obj["apiVersion"] = "apps.example.com/v1"
    assert validate_manifest(obj) == [
        "Deployment 'orders-consumer': no schema is known for kind Deployment of apiVersion "
        "apps.example.com/v1; eventinfra cannot validate it offline (add its CRD schema to "
        "eventinfra/k8s_schemas)"
    ]


def test_a_built_in_kind_without_a_schema_is_an_error_not_a_warning() -> None:
    obj = valid("Deployment")
    obj["kind"] = "Deploymnt"
    assert validate_manifest(obj) == [
        "Deploymnt 'orders-consumer': no schema is known for kind Deploymnt of apiVersion "
        f"apps/v1 in Kubernetes {KUBERNETES_VERSION}"
    ]


def test_a_deployment_with_an_unknown_field_fails_in_strict_mode() -> None:
    obj = valid("Deployment")
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicey"] = "Always"
    problems = validate_manifest(obj)
    assert problems == [
        "Deployment 'orders-consumer': spec.template.spec.containers[0].imagePullPolicey: "
        "unknown field"
    ]
    # Non-strict kubernetes-validate would have let it through: strict mode is what catches it.
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=False)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_every_problem_of_a_built_in_object_is_reported_not_only_the_first() -> None:
    obj = valid("Deployment")
    obj["spec"]["replicas"] = "2"
    del obj["spec"]["selector"]
    del obj["spec"]["template"]["spec"]["containers"][0]["name"]
    obj["extra"] = True
    assert validate_manifest(obj) == [
        "Deployment 'orders-consumer': extra: unknown field",
        "Deployment 'orders-consumer': spec.replicas: expected integer or null, found '2'",
        "Deployment 'orders-consumer': spec.selector: required field is missing",
        "Deployment 'orders-consumer': spec.template.spec.containers[0].name: "
        "required field is missing",
    ]


def test_built_in_objects_need_a_valid_name() -> None:
    obj = valid("Secret")
    del obj["metadata"]["name"]
    assert validate_manifest(obj) == [
        "Secret '<unnamed>': metadata.name: required field is missing"
    ]
    obj["metadata"]["name"] = "Orders_Credentials"
    assert validate_manifest(obj) == [
        "Secret 'Orders_Credentials': metadata.name: 'Orders_Credentials' is not a valid name "
        "(lower-case alphanumerics, '-' and '.', at most 253 characters)"
    ]


@pytest.mark.parametrize("kind", ["Deployment", "RabbitmqCluster"])
def test_values_unknown_during_preview_are_not_reported(kind: str) -> None:
    obj = valid(kind)
    obj["spec"]["replicas"] = PULUMI_UNKNOWN
    assert validate_manifest(obj) == []


def test_a_manifest_without_api_version_or_kind_is_reported() -> None:
    assert validate_manifest({"kind": "Queue", "metadata": {"name": "q"}}) == [
        "Queue 'q': apiVersion: required field is missing or not a string"
    ]
    assert validate_manifest({"apiVersion": "v1", "metadata": {"name": "q"}}) == [
        "Object 'q': kind: required field is missing or not a string"
    ]


def test_kubernetes_validate_ships_its_schemas_and_strict_variants_in_the_wheel() -> None:
    root = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    folder = root.joinpath(f"v{KUBERNETES_VERSION}.0-local-strict")
    for name in (
        "_definitions.json",
        "deployment-apps-v1.json",
        "poddisruptionbudget-policy-v1.json",
        "namespace-v1.json",
        "secret-v1.json",
        "serviceaccount-v1.json",
    ):
        assert folder.joinpath(name).is_file(), name


# ------------------------------------------------------------------------------------------
# The stored schemas


def _schema_files() -> Iterator[Path]:
    return iter(sorted(SCHEMA_DIR.glob("*.json")))


@pytest.mark.parametrize("path", list(_schema_files()), ids=lambda p: p.name)
def test_each_stored_schema_is_valid_and_names_its_source(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    source = schema["x-eventinfra-source"]
    for field in ("operator", "operatorVersion", "repo", "path", "trimmed"):
        assert source[field], field
    # A file is tied to its release by the commit it was read at, or (Strimzi: files handed
    # over from the release, no commit known) by the SHA-256 of the CRD file it came from.
    fingerprint = source.get("commit") or source.get("sha256")
    assert fingerprint is not None and len(fingerprint) in (40, 64)
    api_version = schema["properties"]["apiVersion"]["const"]
    kind = schema["properties"]["kind"]["const"]
    group, version = api_version.split("/")
    assert path.name == f"{group}_{version}_{kind}.json"
    assert schema["additionalProperties"] is False
    assert {"apiVersion", "kind", "metadata"} <= set(schema["required"])
    sources_md = (SCHEMA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    assert path.name in sources_md
    assert fingerprint in sources_md


def test_custom_resource_schema_returns_a_copy() -> None:
    schema = custom_resource_schema("rabbitmq.com/v1beta1", "Queue")
    assert schema is not None
    schema["properties"].clear()
    assert custom_resource_schema("rabbitmq.com/v1beta1", "Queue") != schema
    assert custom_resource_schema("rabbitmq.com/v1beta1", "Shovel") is None


def test_crd_schema_to_jsonschema_follows_structural_schema_rules() -> None:
    crd = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "description": "dropped",
                "type": "object",
                "properties": {
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "maybe": {"type": "string", "nullable": True, "enum": ["a"]},
                    "strategy": {"type": "string", "pattern": "^(?i)(abort|warn)?$"},
                },
            },
        },
        "required": ["spec"],
    }
    schema = crd_schema_to_jsonschema(
        crd, api_version="example.com/v1", kind="Thing", source={"repo": "r"}
    )
    spec = schema["properties"]["spec"]
    assert "description" not in spec
    assert spec["additionalProperties"] is False
    assert "additionalProperties" not in spec["properties"]["free"]
    assert spec["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert spec["properties"]["maybe"] == {"type": ["string", "null"], "enum": ["a", None]}
    assert spec["properties"]["strategy"]["pattern"] == "(?i)^(abort|warn)?$"
    assert schema["required"] == ["apiVersion", "kind", "metadata", "spec"]
    validator = jsonschema.Draft202012Validator(schema)
    thing = {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "t"},
        "spec": {"free": {"x": 1}, "maybe": None, "strategy": "WARN"},
    }
    assert list(validator.iter_errors(thing)) == []


# ------------------------------------------------------------------------------------------
# Recorded pulumi-kubernetes registrations


def test_pulumi_wire_sentinels_match_the_sdk() -> None:
    assert rpc.UNKNOWN == PULUMI_UNKNOWN
    assert rpc._special_sig_key == PULUMI_SIG_KEY
    assert rpc._special_secret_sig == PULUMI_SECRET_SIG


def test_manifest_from_recorded_maps_the_core_group_and_normalises_values() -> None:
    inputs = MappingProxyType(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "type": "Opaque",
            "stringData": {PULUMI_SIG_KEY: PULUMI_SECRET_SIG, "value": {"password": "x"}},
        }
    )
    assert manifest_from_recorded("kubernetes:core/v1:Secret", inputs) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "type": "Opaque",
        "stringData": {"password": "x"},
    }
    pdb = manifest_from_recorded(
        "kubernetes:policy/v1:PodDisruptionBudget",
        {"spec": {"maxUnavailable": 1.0, "selector": {"matchLabels": {"a": "b"}}}},
        auto_name="events",
    )
    assert pdb == {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "events"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"a": "b"}}},
    }
    assert type(pdb["spec"]["maxUnavailable"]) is int


@pytest.mark.parametrize(
    "token",
    [
        "pulumi:providers:kubernetes",
        "kubernetes:yaml/v2:ConfigGroup",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:apps/v1:DeploymentPatch",
        "aws:sqs/queue:Queue",
    ],
)
def test_manifest_from_recorded_refuses_what_is_not_one_kubernetes_object(token: str) -> None:
    with pytest.raises(ValueError):
        manifest_from_recorded(token, {})


def test_manifest_from_recorded_refuses_inputs_that_contradict_the_token() -> None:
    with pytest.raises(ValueError, match="kind"):
        manifest_from_recorded("kubernetes:apps/v1:Deployment", {"kind": "StatefulSet"})


class _InlineExecutor(ThreadPoolExecutor):
    """Runs the mock monitor's calls on the loop's own thread; no worker thread is started.

    The SDK sends each registration through `loop.run_in_executor`, and the mock monitor gives
    every worker thread an event loop of its own that nothing ever closes.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # handed to the awaiting coroutine, as a worker would
            future.set_exception(error)
        return future


@pytest.fixture
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The thread's current event loop, which pulumi.runtime.test runs on; closed afterwards.

    An event loop left open is reported only when it is garbage-collected, as a ResourceWarning
    that filterwarnings = error turns into a failure of whichever later test the collection
    happens in.
    """
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_InlineExecutor())
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


class _Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registrations: list[tuple[str, str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registrations.append((args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        # No check failures: an empty list, since the mock monitor iterates it (None would crash).
        return {}, []


def test_what_the_mock_monitor_sees_from_pulumi_kubernetes_validates(
    event_loop: asyncio.AbstractEventLoop,
) -> None:
    """Findings: CustomResource registers as kubernetes:<group>/<version>:<Kind>; typed args
    arrive with Kubernetes' camelCase keys, numbers as floats, secrets wrapped; a CustomResource's
    dict spec is passed through untranslated (so it must already use camelCase)."""
    recorder = _Recorder()
    pulumi.runtime.set_mocks(recorder, preview=False)
    import pulumi_kubernetes as k8s

    # pulumi.runtime.test is not annotated in the SDK: mypy cannot see it keeps the signature.
    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def declare() -> pulumi.Output[Any]:
        cluster = k8s.apiextensions.CustomResource(
            "events",
            api_version="rabbitmq.com/v1beta1",
            kind="RabbitmqCluster",
            metadata={"name": "events", "namespace": "messaging"},
            spec={"replicas": 3, "persistence": {"storage": "50Gi"}},
        )
        deployment = k8s.apps.v1.Deployment(
            "orders-consumer",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="orders-consumer", namespace="messaging"),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=2,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": "orders-consumer"}),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels={"app": "orders-consumer"}),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name="orders-consumer",
                        containers=[k8s.core.v1.ContainerArgs(name="consumer", image="img:1")],
                    ),
                ),
            ),
        )
        secret = k8s.core.v1.Secret(
            "creds", metadata={"name": "creds"}, string_data={"password": "x"}
        )
        return pulumi.Output.all(cluster.id, deployment.id, secret.id)

    declare()
    seen = {name: (typ, inputs) for typ, name, inputs in recorder.registrations}

    typ, inputs = seen["events"]
    assert typ == "kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster"
    assert inputs["apiVersion"] == "rabbitmq.com/v1beta1"
    assert inputs["kind"] == "RabbitmqCluster"
    assert inputs["spec"]["replicas"] == 3.0
    assert isinstance(inputs["spec"]["replicas"], float)

    typ, inputs = seen["orders-consumer"]
    assert typ == "kubernetes:apps/v1:Deployment"
    assert set(inputs) == {"apiVersion", "kind", "metadata", "spec"}
    pod_spec = inputs["spec"]["template"]["spec"]
    assert "serviceAccountName" in pod_spec and "service_account_name" not in pod_spec
    assert "matchLabels" in inputs["spec"]["selector"]

    typ, inputs = seen["creds"]
    assert typ == "kubernetes:core/v1:Secret"
    assert inputs["stringData"][PULUMI_SIG_KEY] == PULUMI_SECRET_SIG

    for typ, name, inputs in recorder.registrations:
        manifest = manifest_from_recorded(typ, inputs)
        assert validate_manifest(manifest) == [], name
