"""The container consumer of the k8s example stack gets exactly the runtime's contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import eventinfra_runtime.contract as contract
import pytest
import yaml

from eventinfra import RabbitMQPlatform, load_platform_config
from eventinfra.check.synth import Synthesis, record, synthesize
from tests.support import REPOSITORY

ROLE: Final = "container-consumer"
BASE = "events-consumer-mailer-workload"


@pytest.fixture(scope="module")
def graph() -> Synthesis:
    return synthesize(REPOSITORY, "k8s")


def pod(graph: Synthesis) -> dict[str, Any]:
    value: dict[str, Any] = graph.named(f"{BASE}-deployment").inputs["spec"]["template"]["spec"]
    return value


def injected(graph: Synthesis) -> dict[str, str]:
    (container,) = pod(graph)["containers"]
    user = {"LOG_LEVEL"}  # the topology's own `env`
    return {e["name"]: e["value"] for e in container["env"] if e["name"] not in user}


def test_the_deployment_injects_exactly_the_container_consumer_contract(
    graph: Synthesis,
) -> None:
    names = set(injected(graph))
    required = set(contract.REQUIRED_VARIABLES[ROLE])
    optional = set(contract.OPTIONAL_VARIABLES[ROLE])
    assert required <= names
    assert names - required - optional == {contract.SCHEMAS_DIR}
    # Not injected: the topology has no prefetch or in-progress setting (the runtime's defaults).
    assert optional - names == {contract.PREFETCH, contract.IDEMPOTENCY_IN_PROGRESS_SECONDS}


def test_the_health_port_is_the_probes_port(graph: Synthesis) -> None:
    (container,) = pod(graph)["containers"]
    (port,) = container["ports"]
    assert container["livenessProbe"]["httpGet"]["port"] == port["name"]
    assert injected(graph)[contract.HEALTH_PORT] == str(port["containerPort"])


def test_the_mounted_files_are_what_the_runtime_reads(graph: Synthesis) -> None:
    spec = pod(graph)
    (container,) = spec["containers"]
    env = injected(graph)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    files = {
        f"{mounts['credentials']}/{item['path']}"
        for source in volumes["credentials"]["projected"]["sources"]
        for item in source["secret"]["items"]
    }
    assert files == {
        f"{env[folder]}/{name}"
        for folder in (contract.RABBITMQ_CREDENTIALS_DIR, contract.REDIS_CREDENTIALS_DIR)
        for name in contract.CREDENTIAL_FILES
    }
    assert mounts["schemas"] == env[contract.SCHEMAS_DIR]
    config_map = graph.named(f"{BASE}-schemas")
    assert volumes["schemas"]["configMap"]["name"] == config_map.inputs["metadata"]["name"]
    assert set(config_map.inputs["data"]) == {f"{e}.json" for e in json.loads(env[contract.EVENTS])}


def test_the_runtime_loads_the_injected_environment(graph: Synthesis, tmp_path: Path) -> None:
    """The recorded variables, with the mounted folders recreated under tmp_path."""
    env = injected(graph)
    for folder in (contract.RABBITMQ_CREDENTIALS_DIR, contract.REDIS_CREDENTIALS_DIR):
        moved = tmp_path / env[folder].lstrip("/")
        moved.mkdir(parents=True)
        for name in contract.CREDENTIAL_FILES:
            (moved / name).write_text("x")
        env[folder] = str(moved)
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    for file, schema in graph.named(f"{BASE}-schemas").inputs["data"].items():
        (schemas / file).write_text(schema)
    env[contract.SCHEMAS_DIR] = str(schemas)

    config = contract.load(ROLE, env)

    assert (config.broker, config.service, config.queue) == ("rabbitmq", "mailer", "mailer")
    assert list(config.events) == ["user.signup"]
    assert config.events["user.signup"].schema["type"] == "object"
    assert config.rabbitmq is not None and config.rabbitmq.tls is True
    assert config.rabbitmq.port == 5671
    assert config.redis is not None and config.redis.key_prefix == "mailer:"
    assert config.idempotency is not None and config.idempotency.key == "userId"


def test_a_consumer_with_idempotency_off_gets_a_contract_the_runtime_loads(
    tmp_path: Path,
) -> None:
    """No Redis variables at all: the runtime runs it at-least-once, without a store."""
    topology = yaml.safe_load((REPOSITORY / "topology.k8s.yaml").read_text(encoding="utf-8"))
    topology["consumers"]["mailer"]["idempotency"] = {"enabled": False}
    for event in topology["events"].values():
        event.pop("schema", None)
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology))
    stack = yaml.safe_load((REPOSITORY / "stacks" / "Pulumi.k8s.yaml").read_text())
    settings = {**stack["config"]["eventinfra:settings"], "topology": "topology.yaml"}
    config = load_platform_config(settings, stack="k8s", project_dir=tmp_path)
    graph = record(lambda: RabbitMQPlatform.from_config("events", config))

    env = injected(graph)
    assert not [name for name in env if name.startswith("EVENTINFRA_REDIS_")]
    moved = tmp_path / env[contract.RABBITMQ_CREDENTIALS_DIR].lstrip("/")
    moved.mkdir(parents=True)
    for name in contract.CREDENTIAL_FILES:
        (moved / name).write_text("x")
    env[contract.RABBITMQ_CREDENTIALS_DIR] = str(moved)
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    for file, schema in graph.named(f"{BASE}-schemas").inputs["data"].items():
        (schemas / file).write_text(schema)
    env[contract.SCHEMAS_DIR] = str(schemas)

    config_loaded = contract.load(ROLE, env)

    assert config_loaded.redis is None and config_loaded.idempotency is None
    assert config_loaded.queue == "mailer"
