"""Kafka stack settings Kubernetes or Strimzi would refuse, and names that would take another
object's (Strimzi's own Secrets above all), are refused with the file, line and key."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventinfra.check.synth import record
from eventinfra.config.loader import load_platform_config
from eventinfra.contract import Finding
from eventinfra.kafka.cluster import KafkaCluster, KafkaClusterArgs
from eventinfra.kafka.platform import KafkaPlatform
from eventinfra.kafka.validation import cluster_settings_problems, label_key_problems
from tests.aws.test_contract import problems, refused
from tests.config.test_hardening import refused as loader_refused
from tests.kafka.test_components import settings
from tests.support import REPOSITORY

VALID: dict[str, Any] = {
    "cpu": "2",
    "memory": "4Gi",
    "storage": "50Gi",
    "storage_class": None,
    "rack_topology_key": "topology.kubernetes.io/zone",
}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cpu", "0", "expected at least 1m (a thousandth of a core), found '0'."),
        ("cpu", "0.1m", "expected at least 1m (a thousandth of a core), found '0.1m'."),
        (
            "cpu",
            "2000",
            "expected at most 64 cores, found '2000' (2000 cores); did you mean `2000m`?",
        ),
        (
            "memory",
            "1Mi",
            "expected at least 6Mi, found '1Mi' (1048576 bytes).",
        ),
        (
            "storage",
            "0Gi",
            "expected at least 100Mi, found '0Gi' (0 bytes).",
        ),
        (
            "storage_class",
            "Fast_SSD",
            "expected the name of a StorageClass: a DNS-1123 subdomain (lowercase letters, "
            "digits, '-' and '.', at most 253), found 'Fast_SSD'.",
        ),
    ],
)
def test_a_cluster_setting_kubernetes_refuses_is_refused(
    key: str, value: str, message: str
) -> None:
    assert cluster_settings_problems(**{**VALID, key: value}) == [Finding((key,), message)]


@pytest.mark.parametrize(
    "key",
    [
        "not a label key!",
        "a" * 64,
        "Topology.Kubernetes.io/zone",
        "topology.kubernetes.io/",
        "/zone",
        "-zone",
        "a/b/c",
    ],
)
def test_a_rack_key_that_is_no_label_key_is_refused(key: str) -> None:
    assert label_key_problems(key) == [
        Finding(
            (),
            "expected a Kubernetes label key, like `topology.kubernetes.io/zone`: an optional "
            "DNS subdomain and '/', then at most 63 letters, digits, '-', '_' and '.', beginning "
            f"and ending with a letter or digit; found {key!r}.",
        )
    ]


@pytest.mark.parametrize(
    "key", ["topology.kubernetes.io/zone", "kubernetes.io/hostname", "rack", "a" * 63, None]
)
def test_label_keys_pass(key: str | None) -> None:
    assert label_key_problems(key) == []


def test_the_example_settings_pass() -> None:
    assert cluster_settings_problems(**VALID) == []


def cluster_args(**overrides: Any) -> KafkaClusterArgs:
    values: dict[str, Any] = {
        "namespace": "kafka",
        "cluster_name": "shop-kafka",
        "replicas": 3,
        "replication_factor": 3,
        "min_insync_replicas": 2,
        "cpu": "2",
        "memory": "4Gi",
        "storage": "100Gi",
        "tls": True,
        **overrides,
    }
    return values  # type: ignore[return-value]


def test_the_cluster_component_refuses_the_same_settings_before_declaring_anything() -> None:
    error, graph = refused(
        lambda: KafkaCluster("shop", cluster_args(cpu="2000", rack_topology_key="zone!"))
    )
    assert [key for key, _ in problems(error)] == [
        "KafkaCluster 'shop' args.cpu",
        "KafkaCluster 'shop' args.rack_topology_key",
    ]
    assert graph.resources == []


# --- through the loader, placed in the user's files ------------------------------------------


def kafka_project(root: Path, settings: dict[str, Any], topology: Any = None) -> None:
    """The example kafka stack, its topology (or `topology`) and schemas, in `root`."""
    shutil.copytree(REPOSITORY / "schemas", root / "schemas")
    text = (REPOSITORY / "topology.kafka.yaml").read_text(encoding="utf-8")
    if topology is not None:
        data = yaml.safe_load(text)
        topology(data)
        text = yaml.safe_dump(data, sort_keys=False)
    (root / "topology.kafka.yaml").write_text(text, encoding="utf-8")
    stack = yaml.safe_load((REPOSITORY / "stacks" / "Pulumi.kafka.yaml").read_text())
    stack["config"]["eventinfra:settings"].update(settings)
    (root / "stacks").mkdir()
    (root / "stacks" / "Pulumi.kafka.yaml").write_text(yaml.safe_dump(stack, sort_keys=False))


def refused_keys(root: Path) -> list[tuple[str, str, str]]:
    return [
        (file, key, message)
        for file, line, key, message in loader_refused(root, "kafka")
        if line is not None
    ]


def test_cluster_settings_are_refused_at_their_stack_key(tmp_path: Path) -> None:
    kafka = yaml.safe_load((REPOSITORY / "stacks" / "Pulumi.kafka.yaml").read_text())["config"][
        "eventinfra:settings"
    ]["kafka"]
    kafka.update(storage="0Gi", memory="1Mi", storage_class="SSD", rack_topology_key="a b")
    kafka_project(tmp_path, {"kafka": kafka})
    assert sorted((file, key) for file, key, _ in refused_keys(tmp_path)) == [
        ("Pulumi.kafka.yaml", "config.eventinfra:settings.kafka.memory"),
        ("Pulumi.kafka.yaml", "config.eventinfra:settings.kafka.rack_topology_key"),
        ("Pulumi.kafka.yaml", "config.eventinfra:settings.kafka.storage"),
        ("Pulumi.kafka.yaml", "config.eventinfra:settings.kafka.storage_class"),
    ]


def rename(section: str, old: str, new: str) -> Any:
    def mutate(topology: dict[str, Any]) -> None:
        topology[section][new] = topology[section].pop(old)
        if section == "events":
            for producer in topology["producers"].values():
                producer["publishes"] = [new if e == old else e for e in producer["publishes"]]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "key", "message"),
    [
        (
            rename("producers", "billing", "kafka-cluster-ca-cert"),
            "producers.kafka-cluster-ca-cert",
            "gives the Kubernetes object name 'kfk-kafka-cluster-ca-cert' (the KafkaUser of "
            "producer 'kafka-cluster-ca-cert' and its Secret), but names starting 'kfk-kafka-' "
            "are the names Strimzi gives the cluster's own objects (its Services, its CA "
            "Secrets); expected another name.",
        ),
        (
            rename("producers", "billing", "kafka"),
            "producers.kafka",
            "gives the Kubernetes object name 'kfk-kafka' (the KafkaUser of producer 'kafka' "
            "and its Secret), which is already the Kafka cluster (from eventinfra itself); "
            "expected names that give distinct physical names.",
        ),
        (
            rename("consumers", "analytics", "mailer-idempotency"),
            "consumers.mailer-idempotency",
            "gives the Kubernetes object name 'kfk-mailer-idempotency' (the KafkaUser and "
            "Secret object of consumer 'mailer-idempotency'), which is already the "
            "idempotency Secret object of consumer 'mailer' (from consumers.mailer); expected "
            "names that give distinct physical names.",
        ),
        (
            rename("events", "invoice.paid", "order-placed"),
            "events.order-placed",
            "gives the Kubernetes object name 'kfk-order-placed' (the KafkaTopic object of "
            "event 'order-placed'), which is already the KafkaTopic object of event "
            "'order.placed' (from events.\"order.placed\"); expected names that give distinct "
            "physical names.",
        ),
        (
            rename("consumers", "fulfilment", "f" * 63),
            f"consumers.{'f' * 63}",
            f"gives the Kubernetes label value 'kfk-{'f' * 63}' (the app label of consumer "
            f"'{'f' * 63}', 67 characters); expected at most 63 letters, digits, '-', '_' and "
            "'.', beginning and ending with a letter or digit.",
        ),
    ],
)
def test_a_name_that_takes_another_objects_is_refused(
    tmp_path: Path, mutate: Any, key: str, message: str
) -> None:
    kafka_project(tmp_path, {}, mutate)
    assert [(k, m) for _, k, m in refused_keys(tmp_path)] == [(key, message)]


def test_a_producer_and_a_consumer_of_one_name_would_share_a_kafka_user(tmp_path: Path) -> None:
    kafka_project(tmp_path, {}, rename("producers", "billing", "fulfilment"))
    assert [(k, m) for _, k, m in refused_keys(tmp_path)][1:] == [
        (
            "consumers.fulfilment",
            "gives the Kubernetes object name 'kfk-fulfilment' (the KafkaUser and Secret "
            "object of consumer 'fulfilment'), which is already the KafkaUser of producer "
            "'fulfilment' and its Secret (from producers.fulfilment); expected names that give "
            "distinct physical names.",
        )
    ]


def test_a_prefix_that_no_service_name_can_begin_is_refused(tmp_path: Path) -> None:
    kafka_project(tmp_path, {"name_prefix": "1kfk"})
    assert (
        "config.eventinfra:settings.name_prefix",
        "gives the Kubernetes Service name '1kfk-kafka-kafka-bootstrap' (the cluster's "
        "bootstrap Service); expected a DNS-1035 label: at most 63 lowercase letters, digits "
        "and '-', starting with a letter.",
    ) in [(k, m) for _, k, m in refused_keys(tmp_path)]


def test_a_stack_name_too_long_for_strimzis_service_names_is_refused(tmp_path: Path) -> None:
    stack = "s" * 42
    kafka_project(tmp_path, {})
    settings_file = tmp_path / "stacks" / "Pulumi.kafka.yaml"
    document = yaml.safe_load(settings_file.read_text())
    del document["config"]["eventinfra:settings"]["name_prefix"]
    (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    assert [(k, m) for _, _, k, m in loader_refused(tmp_path, stack)] == [
        (
            "config.eventinfra:settings.name_prefix",
            f"gives the Kubernetes Service name '{stack}-kafka-kafka-bootstrap' (the cluster's "
            "bootstrap Service); expected a DNS-1035 label: at most 63 lowercase letters, digits "
            "and '-', starting with a letter.",
        )
    ]


# --- the platform-owned Redis image on Kafka ------------------------------------------------

SHA256 = "0123456789abcdef" * 4


def test_the_redis_image_is_pinnable_by_digest_on_kafka(tmp_path: Path) -> None:
    image = f"redis:7.4.2-alpine@sha256:{SHA256}"
    config = load_platform_config(
        {**settings(), "kafka": {**settings()["kafka"], "redis_image": image}},
        stack="kafka",
        project_dir=REPOSITORY,
    )

    def build() -> None:
        KafkaPlatform.from_config("events", config)

    graph = record(build)
    spec = graph.named("events-idempotency-statefulset").inputs["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    assert container["image"] == image


@pytest.mark.parametrize("image", ["Redis:7.4", "redis", f"redis@sha256:{SHA256[:10]}"])
def test_a_redis_image_that_is_no_pinned_reference_is_refused_on_kafka(
    tmp_path: Path, image: str
) -> None:
    kafka = {**settings()["kafka"], "redis_image": image}
    kafka_project(tmp_path, {"kafka": kafka})
    assert [key for _, key, _ in refused_keys(tmp_path)] == [
        "config.eventinfra:settings.kafka.redis_image"
    ]


# --- the namespace denies ingress but Strimzi's, the store's and Prometheus' ----------------


def test_the_namespace_denies_ingress_and_admits_prometheus_from_its_namespace() -> None:
    config = load_platform_config(
        {**settings(), "kafka": {**settings()["kafka"], "monitoring_namespace": "observability"}},
        stack="kafka",
        project_dir=REPOSITORY,
    )

    def build() -> None:
        KafkaPlatform.from_config("events", config)

    graph = record(build)
    deny = graph.named("events-default-deny").inputs
    assert deny["metadata"]["name"] == "kfk-default-deny"
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    monitoring = graph.named("events-monitoring-ingress").inputs
    assert monitoring["metadata"]["name"] == "kfk-monitoring-ingress"
    assert monitoring["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "observability"}
                        }
                    }
                ]
            }
        ],
    }


def test_a_name_that_takes_the_monitoring_policy_is_refused(tmp_path: Path) -> None:
    kafka_project(tmp_path, {}, rename("producers", "billing", "monitoring-ingress"))
    assert [(k, m) for _, k, m in refused_keys(tmp_path)] == [
        (
            "producers.monitoring-ingress",
            "gives the Kubernetes object name 'kfk-monitoring-ingress' (the KafkaUser of "
            "producer 'monitoring-ingress' and its Secret), which is already the NetworkPolicy "
            "admitting Prometheus (from eventinfra itself); expected names that give distinct "
            "physical names.",
        )
    ]
