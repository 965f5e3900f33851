"""The planned Kafka consumer Deployment runs the real runtime: plan, then Tansu, Redis, handler.

The kafka example stack (stacks/Pulumi.kafka.yaml) is planned under mocks. The mailer's
Deployment gives the container's environment and its volumes; the planned ConfigMap and Secrets
behind those volumes are written into a folder, and every mount path is mapped onto it. The
runtime consumer (`python -m eventinfra_runtime.kafka`, what the image's command runs) then
starts with exactly that environment, except for these substitutions:

* `EVENTINFRA_KAFKA_BOOTSTRAP`: the planned in-cluster bootstrap Service
  (`kfk-kafka-kafka-bootstrap.events.svc:9093`) becomes Tansu's loopback address.
* `EVENTINFRA_KAFKA_SECURITY`: `tls` becomes `plaintext`, and `EVENTINFRA_KAFKA_CREDENTIALS_DIR`
  and `EVENTINFRA_KAFKA_CA_FILE` are dropped: Tansu has no TLS listener, no client
  certificates and no ACLs, and the KafkaUser and cluster CA Secrets they name are written by
  Strimzi's operators, not planned, so there are no files to render.
* `EVENTINFRA_REDIS_HOST` / `_PORT`: the planned in-cluster Service becomes a loopback
  redis-server. That server runs the planned ACL file (the store's `users.acl` Secret), and the
  consumer logs in with the planned credentials Secret, mounted where the plan mounts it.
* `EVENTINFRA_HEALTH_PORT`: 8080 becomes a free port (other processes share this machine); the
  test then asks that port's `/readyz`, as the planned readiness probe does.

The topics are created like the Topic Operator would from the planned KafkaTopic objects, and
the event is published with the planned producer configuration (`producer_events`, the stack
output) through `producer_from_environment`, with the same bootstrap and security substitution.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import eventinfra_runtime.contract as contract
import pytest
import redis
from eventinfra_runtime.producer import producer_from_environment

from eventinfra.check.synth import Synthesis, synthesize
from tests.support import REPOSITORY
from tests.support.local_servers import RedisServer, TansuBroker, free_port

from .welcome_handler import WELCOMED_KEY

DEPLOYMENT: Final = "events-consumer-mailer-workload-deployment"
STORE_ACL: Final = "events-idempotency-acl"
HERE = Path(__file__).resolve().parent
SUBSTITUTED: Final = (
    contract.KAFKA_BOOTSTRAP,
    contract.KAFKA_SECURITY,
    contract.KAFKA_CREDENTIALS_DIR,
    contract.KAFKA_CA_FILE,
    contract.REDIS_HOST,
    contract.REDIS_PORT,
    contract.HEALTH_PORT,
)


@pytest.fixture(scope="module")
def plan() -> Synthesis:
    return synthesize(REPOSITORY, "kafka")


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    broker = TansuBroker(tmp_path_factory.mktemp("tansu"))
    broker.start()  # a broker that cannot start fails the test; never a skip
    yield broker
    broker.stop()


def planned_files(plan: Synthesis, kind: str, name: str) -> dict[str, str] | None:
    """The data of the planned ConfigMap or Secret `name`; None when the plan has none."""
    for resource in plan.by_type(f"kubernetes:core/v1:{kind}"):
        if resource.inputs["metadata"]["name"] == name:
            data: dict[str, str] = resource.inputs.get("data") or resource.inputs["stringData"]
            return data
    return None


def render_volumes(plan: Synthesis, root: Path) -> tuple[dict[str, str], dict[str, Path]]:
    """The consumer container's env, and each mount path → the folder its files were written to.

    Secrets the plan does not hold (Strimzi writes them) are left out of the mapping.
    """
    pod = plan.named(DEPLOYMENT).inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounted: dict[str, Path] = {}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        folder = root / mount["name"]
        files: dict[str, str] = {}
        if "configMap" in volume:
            files = planned_files(plan, "ConfigMap", volume["configMap"]["name"]) or {}
        elif "projected" in volume:
            for source in volume["projected"]["sources"]:
                data = planned_files(plan, "Secret", source["secret"]["name"]) or {}
                files |= {item["path"]: data[item["key"]] for item in source["secret"]["items"]}
        elif "secret" in volume:
            secret = planned_files(plan, "Secret", volume["secret"]["secretName"])
            if secret is None:
                continue
            items = volume["secret"].get("items")
            # Like the kubelet: with `items`, only those keys become files, at their paths.
            files = {item["path"]: secret[item["key"]] for item in items} if items else secret
        else:
            continue  # emptyDir
        for path, content in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(content)
        mounted[mount["mountPath"]] = folder
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    return env, mounted


def relocate(value: str, mounted: dict[str, Path]) -> str:
    for mount_path, folder in mounted.items():
        if value == mount_path or value.startswith(mount_path + "/"):
            return str(folder) + value[len(mount_path) :]
    return value


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as reply:
            return int(reply.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def test_an_event_published_with_the_planned_producer_config_is_handled_by_the_planned_consumer(
    plan: Synthesis, tansu: TansuBroker, tmp_path: Path
) -> None:
    planned_env, mounted = render_volumes(plan, tmp_path / "volumes")
    env = {name: relocate(value, mounted) for name, value in planned_env.items()}
    # The files the consumer reads are the rendered ones, not placeholders.
    schemas_dir = Path(env[contract.SCHEMAS_DIR])
    assert sorted(p.name for p in schemas_dir.iterdir()) == ["user.signup.json"]
    redis_credentials = Path(env[contract.REDIS_CREDENTIALS_DIR])
    assert (redis_credentials / "username").read_text() == "mailer"

    acl_file = tmp_path / "users.acl"
    acl = planned_files(plan, "Secret", plan.named(STORE_ACL).inputs["metadata"]["name"])
    assert acl is not None
    acl_file.write_text(acl["users.acl"])
    store = RedisServer(tmp_path / "redis", acl_file=acl_file)
    store.start()
    health_port = free_port()
    substitutes = {
        contract.KAFKA_BOOTSTRAP: tansu.bootstrap,
        contract.KAFKA_SECURITY: "plaintext",
        contract.REDIS_HOST: "127.0.0.1",
        contract.REDIS_PORT: str(store.port),
        contract.HEALTH_PORT: str(health_port),
    }
    # Exactly these planned values are replaced, and only these.
    assert set(substitutes) | {contract.KAFKA_CREDENTIALS_DIR, contract.KAFKA_CA_FILE} == set(
        SUBSTITUTED
    )
    assert set(SUBSTITUTED) <= set(env)
    run_env = {
        name: value
        for name, value in {**env, **substitutes}.items()
        if name not in (contract.KAFKA_CREDENTIALS_DIR, contract.KAFKA_CA_FILE)
    }

    topics = plan.by_type("kubernetes:kafka.strimzi.io/v1:KafkaTopic")
    for topic in topics:
        spec = topic.inputs["spec"]
        tansu.create_topics(spec["topicName"], partitions=int(spec["partitions"]))

    producer = producer_from_environment(
        {
            contract.BROKER: "kafka",
            contract.SERVICE: "accounts-api",
            contract.EVENTS: plan.outputs["producer_events"]["accounts-api"],
            contract.SCHEMAS_DIR: str(REPOSITORY / "schemas"),
            contract.KAFKA_BOOTSTRAP: tansu.bootstrap,
            contract.KAFKA_SECURITY: "plaintext",
        }
    )
    payload = {"eventType": "user.signup", "userId": "u-42", "plan": "pro"}
    event_id = producer.publish("user.signup", payload)
    producer.close()

    consumer = subprocess.Popen(
        [sys.executable, "-m", "eventinfra_runtime.kafka", "welcome_handler:handle"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("EVENTINFRA_")},
            **run_env,
            "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path]),
        },
    )
    # The consumer's own Redis user, with the rendered credentials: it may read its prefix.
    as_mailer = redis.Redis(
        port=store.port,
        username=(redis_credentials / "username").read_text(),
        password=(redis_credentials / "password").read_text(),
        decode_responses=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not as_mailer.hget(WELCOMED_KEY, "u-42") and time.monotonic() < deadline:
            assert consumer.poll() is None, "the consumer exited; see its output above"
            time.sleep(0.2)
        assert as_mailer.hget(WELCOMED_KEY, "u-42") == event_id
        assert ready(health_port)
        # The completed idempotency record, under the planned key prefix.
        records = as_mailer.scan_iter(match=env[contract.REDIS_KEY_PREFIX] + "mailer#*")
        assert [as_mailer.get(key) for key in records] == ["COMPLETED"]
    finally:
        consumer.send_signal(signal.SIGTERM)
        exit_code = consumer.wait(30)
        as_mailer.close()
        store.stop()
    assert exit_code == 0
