"""The Kafka consumers and producers of the kafka example stack get exactly the runtime's contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import eventinfra_runtime.contract as contract
import pytest
import yaml

from eventinfra import KafkaPlatform, load_platform_config
from eventinfra.check.synth import Synthesis, record, synthesize
from tests.support import REPOSITORY

ROLE: Final = "kafka-consumer"
BASE = "events-consumer-mailer-workload"
STACK_FILE = REPOSITORY / "stacks" / "Pulumi.kafka.yaml"


@pytest.fixture(scope="module")
def graph() -> Synthesis:
    return synthesize(REPOSITORY, "kafka")


def pod(graph: Synthesis, base: str = BASE) -> dict[str, Any]:
    value: dict[str, Any] = graph.named(f"{base}-deployment").inputs["spec"]["template"]["spec"]
    return value


def injected(graph: Synthesis, base: str = BASE) -> dict[str, str]:
    (container,) = pod(graph, base)["containers"]
    user = {"LOG_LEVEL"}  # the topology's own `env`
    return {e["name"]: e["value"] for e in container["env"] if e["name"] not in user}


def mounts(graph: Synthesis) -> dict[str, str]:
    (container,) = pod(graph)["containers"]
    return {m["name"]: m["mountPath"] for m in container["volumeMounts"]}


def variant(tmp_path: Path, consumer: dict[str, Any] | None = None, **kafka: Any) -> Synthesis:
    """The example stack with the mailer's topology entry or the kafka settings changed."""
    topology = yaml.safe_load((REPOSITORY / "topology.kafka.yaml").read_text(encoding="utf-8"))
    topology["consumers"]["mailer"].update(consumer or {})
    for event in topology["events"].values():
        event.pop("schema", None)
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology))
    stack = yaml.safe_load(STACK_FILE.read_text(encoding="utf-8"))
    settings = {**stack["config"]["eventinfra:settings"], "topology": "topology.yaml"}
    settings["kafka"] = {**settings["kafka"], **kafka}
    config = load_platform_config(settings, stack="kafka", project_dir=tmp_path)

    def build() -> None:
        KafkaPlatform.from_config("events", config)

    return record(build)


def recreate_files(graph: Synthesis, env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The mounted folders under tmp_path: the schemas ConfigMap's data, placeholder credential
    files (the KafkaUser and CA Secrets are written by Strimzi, not planned)."""
    moved = dict(env)
    folders = {
        contract.KAFKA_CREDENTIALS_DIR: contract.KAFKA_CREDENTIAL_FILES[
            env[contract.KAFKA_SECURITY]
        ],
        contract.REDIS_CREDENTIALS_DIR: contract.CREDENTIAL_FILES,
    }
    for variable, files in folders.items():
        if variable not in env:
            continue
        folder = tmp_path / env[variable].lstrip("/")
        folder.mkdir(parents=True)
        for name in files:
            (folder / name).write_text("x")
        moved[variable] = str(folder)
    if contract.KAFKA_CA_FILE in env:
        ca_file = tmp_path / env[contract.KAFKA_CA_FILE].lstrip("/")
        ca_file.parent.mkdir(parents=True)
        ca_file.write_text("PEM\n")
        moved[contract.KAFKA_CA_FILE] = str(ca_file)
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    for file, schema in graph.named(f"{BASE}-schemas").inputs["data"].items():
        (schemas / file).write_text(schema)
    moved[contract.SCHEMAS_DIR] = str(schemas)
    return moved


def test_the_deployment_injects_exactly_the_kafka_consumer_contract(graph: Synthesis) -> None:
    names = set(injected(graph))
    required = set(contract.REQUIRED_VARIABLES[ROLE])
    optional = set(contract.OPTIONAL_VARIABLES[ROLE])
    assert required <= names
    assert names - required - optional == {contract.SCHEMAS_DIR}
    # Not injected: the topology has no in-progress setting (the runtime's default).
    assert optional - names == {contract.IDEMPOTENCY_IN_PROGRESS_SECONDS}


def test_the_injected_values_name_the_planned_topics_group_and_files(graph: Synthesis) -> None:
    env = injected(graph)
    assert {name: env[name] for name in contract.REQUIRED_VARIABLES[ROLE]} == {
        contract.BROKER: "kafka",
        contract.SERVICE: "mailer",
        contract.EVENTS: (
            '{"user.signup":{"destination":null,"fifo":false,"group_key":null,'
            '"schema_version":"1"}}'
        ),
        contract.KAFKA_BOOTSTRAP: "kfk-kafka-kafka-bootstrap.events.svc:9093",
        contract.KAFKA_SECURITY: "tls",
        # The retry topic too: `eventinfra dlq redrive` writes there for this consumer alone.
        contract.KAFKA_TOPICS: "user.signup,mailer.retry",
        contract.KAFKA_GROUP: graph.named("events-consumer-mailer-kafka-user").inputs["spec"][
            "authorization"
        ]["acls"][2]["resource"]["name"],
        contract.KAFKA_DEAD_LETTER_TOPIC: graph.named(
            "events-consumer-mailer-dead-letter-topic"
        ).inputs["spec"]["topicName"],
    }
    assert env[contract.KAFKA_GROUP] == "mailer"
    assert env[contract.KAFKA_DEAD_LETTER_TOPIC] == "mailer.dead-letter"


def test_the_mounted_files_are_what_the_runtime_reads(graph: Synthesis) -> None:
    spec = pod(graph)
    env = injected(graph)
    mounted = mounts(graph)
    volumes = {v["name"]: v for v in spec["volumes"]}
    # The KafkaUser's Secret (Strimzi writes user.crt and user.key into it) and the cluster CA.
    assert mounted["kafka-credentials"] == env[contract.KAFKA_CREDENTIALS_DIR]
    assert volumes["kafka-credentials"]["secret"]["secretName"] == "kfk-mailer"
    assert [item["path"] for item in volumes["kafka-credentials"]["secret"]["items"]] == list(
        contract.KAFKA_CREDENTIAL_FILES["tls"]
    )
    assert f"{mounted['kafka-cluster-ca']}/ca.crt" == env[contract.KAFKA_CA_FILE]
    assert volumes["kafka-cluster-ca"]["secret"]["secretName"] == "kfk-kafka-cluster-ca-cert"
    redis_files = {
        f"{mounted['credentials']}/{item['path']}"
        for source in volumes["credentials"]["projected"]["sources"]
        for item in source["secret"]["items"]
    }
    assert redis_files == {
        f"{env[contract.REDIS_CREDENTIALS_DIR]}/{name}" for name in contract.CREDENTIAL_FILES
    }
    assert mounted["schemas"] == env[contract.SCHEMAS_DIR]
    config_map = graph.named(f"{BASE}-schemas")
    assert volumes["schemas"]["configMap"]["name"] == config_map.inputs["metadata"]["name"]
    assert set(config_map.inputs["data"]) == {f"{e}.json" for e in json.loads(env[contract.EVENTS])}
    assert json.loads(config_map.inputs["data"]["user.signup.json"]) == json.loads(
        (REPOSITORY / "schemas" / "user.signup.json").read_text(encoding="utf-8")
    )


def test_the_health_port_is_the_probes_port(graph: Synthesis) -> None:
    (container,) = pod(graph)["containers"]
    (port,) = container["ports"]
    assert container["livenessProbe"]["httpGet"]["port"] == port["name"]
    assert injected(graph)[contract.HEALTH_PORT] == str(port["containerPort"])


def test_the_runtime_loads_the_injected_environment(graph: Synthesis, tmp_path: Path) -> None:
    """The recorded variables, with the mounted folders recreated under tmp_path."""
    config = contract.load(ROLE, recreate_files(graph, injected(graph), tmp_path))

    assert (config.broker, config.service) == ("kafka", "mailer")
    assert list(config.events) == ["user.signup"]
    assert config.events["user.signup"].schema["type"] == "object"
    assert config.kafka is not None and config.kafka.security == "tls"
    assert config.kafka.client_config()["security.protocol"] == "SSL"
    assert config.kafka.topics == ("user.signup", "mailer.retry")
    assert config.redis is not None and config.redis.key_prefix == "mailer:"
    assert config.idempotency is not None and config.idempotency.key == "userId"
    assert config.idempotency.ttl_seconds == 86_400 and config.health_port == 8080


def test_the_attempts_are_the_consumers_max_receive_count(graph: Synthesis, tmp_path: Path) -> None:
    """The example topology sets none: the stack's queue default (5), not the runtime's 3."""
    assert injected(graph)[contract.MAX_ATTEMPTS] == "5"
    tuned = variant(tmp_path, {"max_receive_count": 8})
    env = injected(tuned)
    assert env[contract.MAX_ATTEMPTS] == "8"

    config = contract.load(ROLE, recreate_files(tuned, env, tmp_path))

    assert config.kafka is not None and config.kafka.max_attempts == 8


def test_without_tls_the_consumer_gets_scram_and_no_ca_file(tmp_path: Path) -> None:
    graph = variant(tmp_path, tls=False, replicas=1)
    env = injected(graph)
    assert env[contract.KAFKA_SECURITY] == "scram-sha-512"
    assert env[contract.KAFKA_BOOTSTRAP] == "kfk-kafka-kafka-bootstrap.events.svc:9092"
    assert contract.KAFKA_CA_FILE not in env and "kafka-cluster-ca" not in mounts(graph)
    credentials = {v["name"]: v for v in pod(graph)["volumes"]}["kafka-credentials"]
    # KafkaAccess's own Secret, with exactly the `username` and `password` SCRAM reads.
    assert credentials["secret"]["secretName"] == "kfk-mailer-password"
    assert [item["path"] for item in credentials["secret"]["items"]] == list(
        contract.KAFKA_CREDENTIAL_FILES["scram-sha-512"]
    )
    assert credentials["secret"]["defaultMode"] == 0o440
    data = graph.named("events-consumer-mailer-kafka-credentials").inputs["stringData"]
    assert set(data) == set(contract.KAFKA_CREDENTIAL_FILES["scram-sha-512"])

    config = contract.load(ROLE, recreate_files(graph, env, tmp_path))

    assert config.kafka is not None and config.kafka.ca_file is None
    assert config.kafka.client_config()["security.protocol"] == "SASL_PLAINTEXT"


def test_a_consumer_with_idempotency_off_gets_a_contract_the_runtime_loads(
    tmp_path: Path,
) -> None:
    """No Redis variables at all: the runtime runs it at-least-once, without a store."""
    graph = variant(tmp_path, {"idempotency": {"enabled": False}})
    env = injected(graph)
    assert not [name for name in env if name.startswith("EVENTINFRA_REDIS_")]
    assert contract.IDEMPOTENCY_KEY not in env

    config = contract.load(ROLE, recreate_files(graph, env, tmp_path))

    assert config.redis is None and config.idempotency is None


def test_each_producers_events_load_as_a_kafka_producer_configuration(graph: Synthesis) -> None:
    """`producer_events` (a stack output) plus the variables a producer's deployment sets."""
    exported = graph.outputs["producer_events"]
    assert set(exported) == {"accounts-api", "checkout-api", "billing"}
    env = {
        contract.BROKER: "kafka",
        contract.SERVICE: "checkout-api",
        contract.EVENTS: exported["checkout-api"],
        contract.SCHEMAS_DIR: str(REPOSITORY / "schemas"),
        contract.KAFKA_BOOTSTRAP: graph.outputs["bootstrap"],
        contract.KAFKA_SECURITY: "plaintext",
    }

    config = contract.load("kafka-producer", env)

    assert {e: s.destination for e, s in config.events.items()} == {"order.placed": "order.placed"}
    topics = {
        r.inputs["spec"]["topicName"]
        for r in graph.by_type("kubernetes:kafka.strimzi.io/v1:KafkaTopic")
    }
    assert {s.destination for s in config.events.values()} <= topics
