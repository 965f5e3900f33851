"""The provider constructs the RabbitMQ and Kafka platforms from engine-shaped inputs."""

from typing import Any

import pulumi
import pytest
from pulumi.provider.provider import ConstructResult

from eventinfra.check.synth import Synthesis, record
from eventinfra.provider.host import EventinfraProvider

STRIMZI = "kubernetes:kafka.strimzi.io/v1:"
RABBITMQ = "kubernetes:rabbitmq.com/v1beta1:"


def engine_inputs(broker: dict[str, Any]) -> dict[str, Any]:
    """A small topology as a YAML or TypeScript program sends it: camelCase, numbers as floats,
    enums as strings."""
    return {
        "events": {"user.signup": {"description": "A user signed up."}},
        "producers": {"accounts-api": {"publishes": ["user.signup"]}},
        "consumers": {
            "mailer": {
                "subscribes": ["user.signup"],
                "runtime": "container",
                "container": {
                    "image": "ghcr.io/acme/mailer:1.4.2",
                    "resources": {"cpu": "250m", "memory": "256Mi"},
                    "replicas": {"min": 1.0, "max": 3.0},
                    "targetQueueLength": 50.0,
                },
                "idempotency": {"key": "userId", "ttlSeconds": 86400.0},
            },
        },
        "namePrefix": "dev",
        **broker,
    }


def construct(token: str, inputs: dict[str, Any]) -> tuple[Synthesis, ConstructResult]:
    provider = EventinfraProvider()
    results: list[ConstructResult] = []

    def build() -> None:
        results.append(provider.construct("events", token, inputs, pulumi.ResourceOptions()))

    return record(build, stack="dev"), results[0]


def children(graph: Synthesis, name: str) -> list[tuple[str, str]]:
    return sorted((r.type, r.name) for r in graph.children(graph.named(name).urn))


@pytest.fixture(scope="module")
def rabbitmq() -> tuple[Synthesis, ConstructResult]:
    inputs = engine_inputs({"rabbitmq": {"replicas": 1.0}, "queues": {"maxReceiveCount": 4.0}})
    inputs["consumers"]["mailer"]["maxReceiveCount"] = 6.0
    return construct("eventinfra:index:RabbitMQPlatform", inputs)


@pytest.fixture(scope="module")
def kafka() -> tuple[Synthesis, ConstructResult]:
    inputs = engine_inputs(
        {"kafka": {"replicas": 1.0, "topics": {"user.signup": {"partitions": 3.0}}}}
    )
    return construct("eventinfra:index:KafkaPlatform", inputs)


def test_the_rabbitmq_platform_declares_its_children(
    rabbitmq: tuple[Synthesis, ConstructResult],
) -> None:
    graph, _ = rabbitmq
    platform = graph.named("events", "eventinfra:index:RabbitMQPlatform")
    assert platform.parent is not None and platform.parent.endswith("pulumi:pulumi:Stack::test-dev")
    assert children(graph, "events") == sorted(
        [
            ("eventinfra:index:RabbitMQBroker", "events-broker"),
            ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "events-default-deny"),
            (RABBITMQ + "Vhost", "events-vhost"),
            ("eventinfra:index:RabbitMQUser", "events-scaler"),
            ("eventinfra:index:RabbitMQEvent", "events-event-user-signup"),
            ("eventinfra:index:RabbitMQUser", "events-producer-accounts-api"),
            ("eventinfra:index:RedisIdempotencyStore", "events-idempotency"),
            ("eventinfra:index:RabbitMQConsumer", "events-consumer-mailer"),
            ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "events-parking-alerts"),
        ]
    )


def test_engine_inputs_reach_the_rabbitmq_objects(
    rabbitmq: tuple[Synthesis, ConstructResult],
) -> None:
    graph, _ = rabbitmq
    cluster = graph.named("events-broker-cluster", RABBITMQ + "RabbitmqCluster")
    assert cluster.inputs["spec"]["replicas"] == 1
    # The consumer's own delivery limit wins over `queues.maxReceiveCount`.
    policy = graph.named("events-consumer-mailer-policy", RABBITMQ + "Policy")
    assert policy.inputs["spec"]["definition"]["delivery-limit"] == 6
    scaler = graph.by_type("kubernetes:keda.sh/v1alpha1:ScaledObject")[0]
    assert scaler.inputs["spec"]["maxReplicaCount"] == 3
    assert scaler.inputs["spec"]["triggers"][0]["metadata"]["value"] == "50"


def test_the_rabbitmq_state_has_every_output_under_its_schema_name(
    rabbitmq: tuple[Synthesis, ConstructResult],
) -> None:
    _, result = rabbitmq
    assert set(result.state) == {
        "namespace",
        "vhost",
        "clusterName",
        "producerSecrets",
        "consumerSecrets",
    }
    assert result.state["vhost"] == "dev"
    assert result.state["clusterName"] == "dev-rabbitmq"
    assert result.state["producerSecrets"] == {"accounts-api": "dev-accounts-api-rabbitmq"}
    assert result.state["consumerSecrets"] == {"mailer": "dev-mailer-rabbitmq"}


def test_the_kafka_platform_declares_its_children(kafka: tuple[Synthesis, ConstructResult]) -> None:
    graph, _ = kafka
    graph.named("events", "eventinfra:index:KafkaPlatform")
    assert children(graph, "events") == sorted(
        [
            ("eventinfra:index:KafkaCluster", "events-cluster"),
            ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "events-default-deny"),
            ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "events-monitoring-ingress"),
            (STRIMZI + "KafkaTopic", "events-topic-user-signup"),
            ("eventinfra:index:KafkaAccess", "events-producer-accounts-api"),
            ("eventinfra:index:KafkaAccess", "events-ops"),
            ("eventinfra:index:RedisIdempotencyStore", "events-idempotency"),
            ("eventinfra:index:KafkaConsumer", "events-consumer-mailer"),
        ]
    )
    topic = graph.named("events-topic-user-signup", STRIMZI + "KafkaTopic")
    assert topic.inputs["spec"]["partitions"] == 3
    assert topic.inputs["spec"]["replicas"] == 1


def test_the_kafka_state_has_every_output_under_its_schema_name(
    kafka: tuple[Synthesis, ConstructResult],
) -> None:
    _, result = kafka
    assert set(result.state) == {
        "namespace",
        "clusterName",
        "bootstrap",
        "topics",
        "producerSecrets",
        "producerEvents",
        "consumerSecrets",
        "deadLetterTopics",
        "retryTopics",
        "opsGroup",
        "opsSecret",
    }
    assert result.state["topics"] == {"user.signup": "user.signup"}
    assert result.state["deadLetterTopics"] == {"mailer": "mailer.dead-letter"}
    assert result.state["retryTopics"] == {"mailer": "mailer.retry"}
    assert result.state["producerSecrets"] == {"accounts-api": "dev-accounts-api"}
    assert result.state["consumerSecrets"] == {"mailer": "dev-mailer"}


def test_a_mistake_in_the_inputs_is_reported_at_its_key_path() -> None:
    provider = EventinfraProvider()
    inputs = engine_inputs({})
    inputs["consumers"]["mailer"]["subscribes"] = ["order.placed"]

    def build() -> None:
        provider.construct(
            "events", "eventinfra:index:RabbitMQPlatform", inputs, pulumi.ResourceOptions()
        )

    with pytest.raises(Exception) as raised:
        record(build)
    assert "consumers.mailer.subscribes[0]: expected a declared event ('user.signup'), found " in (
        str(raised.value)
    )
