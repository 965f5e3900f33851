"""The RabbitMQ and Kafka building blocks construct through the provider, as other languages
call them: camelCase inputs, numbers as floats, ordering by the `dependsOn` option."""

from typing import Any, NamedTuple

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.provider.provider import ConstructResult

from eventinfra.check.synth import Synthesis, record
from eventinfra.graph import RecordedResource
from eventinfra.provider.host import EventinfraProvider

IMAGE = "ghcr.io/acme/mailer:1.4.2"
CONTAINER = {
    "objectName": "shop-mailer",
    "namespace": "events",
    "image": IMAGE,
    "env": {"LOG_LEVEL": "info"},
    "cpu": "250m",
    "memory": "256Mi",
    "minReplicas": 0.0,
    "maxReplicas": 3.0,
    "targetQueueLength": 10.0,
    "port": 8080.0,
    "labels": {"team": "growth"},
}
"""A consumer's container, with only the schema's required properties (and `env`)."""
RABBITMQ_CONTAINER = {
    **CONTAINER,
    "queue": "mailer",
    "host": "shop-rabbitmq.events.svc",
    "vhost": "shop",
    "credentialsSecret": "shop-mailer-rabbitmq",
    "scalerSecret": "shop-keda-rabbitmq",
}


class Block(NamedTuple):
    inputs: dict[str, Any]
    outputs: set[str]
    """The construct result's state: every output the schema declares."""
    not_waiting: set[str]
    """The custom resources that do not wait for the caller's `dependsOn`."""


WORKLOAD = {"block-workload-deployment", "block-workload-pdb"}
"""A container consumer's Deployment and PDB: only its KEDA objects need the operators."""

BLOCKS = {
    "RabbitMQBroker": Block(
        {
            "namespace": "events",
            "clusterName": "shop-rabbitmq",
            "replicas": 3.0,
            "cpu": "1",
            "memory": "2Gi",
            "storage": "10Gi",
            "tlsSecret": "rabbitmq-tls",
            "vhost": "shop",
            "clientLabels": {"eventinfra/rabbitmq-client": "true"},
        },
        {"namespace", "clusterName", "host", "amqpPort", "managementPort", "tls"},
        set(),
    ),
    "RabbitMQEvent": Block(
        {
            "event": "order.placed",
            "objectName": "shop-order-placed",
            "namespace": "events",
            "clusterName": "shop-rabbitmq",
            "vhost": "shop",
        },
        {"exchangeName", "parkingQueueName"},
        set(),
    ),
    "RabbitMQUser": Block(
        {
            "namespace": "events",
            "clusterName": "shop-rabbitmq",
            "username": "checkout-api",
            "secretName": "shop-checkout-api-rabbitmq",
            "objectName": "shop-checkout-api",
            "vhost": "shop",
            "permissions": {"configure": "^$", "write": "^order\\.placed$", "read": "^$"},
        },
        {"secretName", "username", "password"},
        set(),
    ),
    "ContainerConsumer": Block(
        RABBITMQ_CONTAINER,
        {"deploymentName"},
        {"block-deployment", "block-pdb"},
    ),
    "RabbitMQConsumer": Block(
        {
            "consumer": "mailer",
            "objectName": "shop-mailer",
            "events": ["user.signup"],
            "maxReceiveCount": 5.0,
            "namespace": "events",
            "clusterName": "shop-rabbitmq",
            "vhost": "shop",
            "host": "shop-rabbitmq.events.svc",
            "amqpPort": 5671.0,
            "tls": True,
            "queueAgeAlertSeconds": 600.0,
            "scaleToZero": True,
            "labels": {},
            "container": RABBITMQ_CONTAINER,
        },
        {"queueName", "deadLetterQueueName", "secretName"},
        WORKLOAD,
    ),
    "KafkaCluster": Block(
        {
            "namespace": "kafka",
            "clusterName": "shop-kafka",
            "replicas": 3.0,
            "replicationFactor": 3.0,
            "minInsyncReplicas": 2.0,
            "cpu": "2",
            "memory": "4Gi",
            "storage": "100Gi",
            "tls": True,
        },
        {"namespace", "clusterName", "bootstrap", "tls", "clusterCaSecret"},
        set(),
    ),
    "KafkaAccess": Block(
        {
            "namespace": "kafka",
            "clusterName": "shop-kafka",
            "userName": "shop-checkout-api",
            "tls": False,
            "acls": [
                {"resourceType": "topic", "name": "order.placed", "operations": ["Write"]},
            ],
        },
        {"userName", "secretName"},
        set(),
    ),
    "KafkaConsumer": Block(
        {
            "consumer": "mailer",
            "objectName": "shop-mailer",
            "topics": ["user.signup"],
            "namespace": "kafka",
            "clusterName": "shop-kafka",
            "bootstrap": "shop-kafka-kafka-bootstrap.kafka.svc:9093",
            "tls": True,
            "clusterCaSecret": "shop-kafka-cluster-ca-cert",
            "replicas": 3.0,
            "minInsyncReplicas": 2.0,
            "labels": {},
            "container": {**CONTAINER, "namespace": "kafka"},
        },
        {"group", "deadLetterTopic", "retryTopic", "secretName"},
        WORKLOAD,
    ),
}


class Constructed(NamedTuple):
    graph: Synthesis
    result: ConstructResult
    operators: RecordedResource
    """What the caller made the block depend on (`dependsOn`), standing for the operators."""
    block: RecordedResource


def construct(component: str) -> Constructed:
    provider = EventinfraProvider()
    results: list[ConstructResult] = []

    def build() -> None:
        operators = k8s.core.v1.ConfigMap("operators")
        results.append(
            provider.construct(
                "block",
                f"eventinfra:index:{component}",
                BLOCKS[component].inputs,
                pulumi.ResourceOptions(depends_on=[operators]),
            )
        )

    graph = record(build)
    return Constructed(
        graph,
        results[0],
        graph.named("operators"),
        graph.named("block", f"eventinfra:index:{component}"),
    )


@pytest.fixture(scope="module", params=sorted(BLOCKS))
def constructed(request: pytest.FixtureRequest) -> tuple[str, Constructed]:
    name: str = request.param
    return name, construct(name)


def descendants(graph: Synthesis, urn: str) -> list[RecordedResource]:
    found = []
    for child in graph.children(urn):
        found += [child, *descendants(graph, child.urn)]
    return found


def test_a_block_registers_under_its_token_and_declares_its_children_below_it(
    constructed: tuple[str, Constructed],
) -> None:
    _, built = constructed
    children = descendants(built.graph, built.block.urn)
    assert any(child.custom for child in children)
    # Only the stand-in for the operators is outside the block.
    assert {r.urn for r in built.graph.resources} - {c.urn for c in children} == {
        built.operators.urn,
        built.block.urn,
    }
    assert all(child.name.startswith("block-") for child in children)


def test_the_state_has_every_output_under_its_schema_name(
    constructed: tuple[str, Constructed],
) -> None:
    name, built = constructed
    assert set(built.result.state) == BLOCKS[name].outputs


def test_children_wait_for_what_the_caller_makes_the_block_wait_for(
    constructed: tuple[str, Constructed],
) -> None:
    name, built = constructed
    customs = [c for c in descendants(built.graph, built.block.urn) if c.custom]
    not_waiting = {c.name for c in customs if built.operators.urn not in c.dependencies}
    assert not_waiting == BLOCKS[name].not_waiting


def container_env(graph: Synthesis, deployment: str) -> dict[str, str]:
    spec = graph.named(deployment).inputs["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    return {variable["name"]: variable.get("value") for variable in container["env"]}


def test_whole_numbers_from_the_engine_are_formatted_as_integers() -> None:
    rabbitmq = construct("RabbitMQConsumer").graph
    secret = rabbitmq.named("block-rabbitmq-credentials").inputs["stringData"]
    assert secret["port"] == "5671"
    environment = container_env(rabbitmq, "block-workload-deployment")
    assert environment["EVENTINFRA_HEALTH_PORT"] == "8080"
    scaler = rabbitmq.named("block-workload-scaled-object").inputs["spec"]
    assert scaler["triggers"][0]["metadata"]["value"] == "10"
    kafka = construct("KafkaConsumer").graph
    trigger = kafka.named("block-workload-scaled-object").inputs["spec"]["triggers"][0]
    assert trigger["metadata"]["lagThreshold"] == "10"


def test_a_consumer_without_the_optional_container_properties_gets_the_defaults() -> None:
    graph = construct("ContainerConsumer").graph
    spec = graph.named("block-deployment").inputs["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    assert "command" not in container
    environment = container_env(graph, "block-deployment")
    assert not any(key.startswith("EVENTINFRA_REDIS") for key in environment)
    assert environment["LOG_LEVEL"] == "info"
