"""A real RabbitMQ and a real Redis: every confirmed event's effect happens exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pika
import pytest
import redis
from conftest import SCHEMAS_DIR, RedisServer, events_json, free_port, write_credentials
from crash_handler import EFFECTS_KEY

from eventinfra_runtime import contract
from eventinfra_runtime.errors import InvalidEventError, PublishError
from eventinfra_runtime.health import HealthServer
from eventinfra_runtime.producer import producer_from_environment

N_EVENTS = 300
N_POISON = 3
N_INVALID = 3
N_AFTER_SIGTERM = 60
KILLS = 6
DELIVERY_LIMIT = 10
CONSUMERS = 2
QUEUE = "mailer"
DEAD_LETTER = "mailer.dead-letter"
EXCHANGE = "user.signup"
TESTS_DIR = Path(__file__).resolve().parent


def declare_topology(broker: Any, vhost: str, password: str) -> None:
    """What the components create for one consumer, through the management API."""
    v = broker.q(vhost)
    broker.http("PUT", "/api/users/mailer", {"password": password, "tags": ""}, expect=(201, 204))
    broker.http(
        "PUT",
        f"/api/permissions/{v}/mailer",
        {"configure": "^$", "write": "^user\\.signup$", "read": "^mailer$"},
        expect=(201, 204),
    )
    broker.http(
        "PUT",
        f"/api/exchanges/{v}/{EXCHANGE}",
        {"type": "topic", "durable": True},
        expect=(201, 204),
    )
    broker.http(
        "PUT",
        f"/api/exchanges/{v}/{DEAD_LETTER}",
        {"type": "fanout", "durable": True},
        expect=(201, 204),
    )
    for queue in (QUEUE, DEAD_LETTER):
        broker.http(
            "PUT",
            f"/api/queues/{v}/{broker.q(queue)}",
            {"durable": True, "arguments": {"x-queue-type": "quorum"}},
            expect=(201, 204),
        )
    broker.http(
        "POST", f"/api/bindings/{v}/e/{EXCHANGE}/q/{QUEUE}", {"routing_key": EXCHANGE}, expect=201
    )
    broker.http(
        "POST", f"/api/bindings/{v}/e/{DEAD_LETTER}/q/{broker.q(DEAD_LETTER)}", {}, expect=201
    )
    broker.http(
        "PUT",
        f"/api/policies/{v}/mailer-dead-letter",
        {
            "pattern": "^mailer$",
            "apply-to": "queues",
            "priority": 10,
            "definition": {
                "dead-letter-exchange": DEAD_LETTER,
                "delivery-limit": DELIVERY_LIMIT,
                "dead-letter-strategy": "at-least-once",
                "overflow": "reject-publish",
            },
        },
        expect=(201, 204),
    )


def contract_env(
    broker: Any, vhost: str, creds: Path, redis_server: RedisServer, redis_creds: Path
) -> dict[str, str]:
    return {
        contract.BROKER: "rabbitmq",
        contract.SERVICE: "mailer",
        contract.EVENTS: events_json({"user.signup": EXCHANGE}),
        contract.SCHEMAS_DIR: str(SCHEMAS_DIR),
        contract.RABBITMQ_HOST: "127.0.0.1",
        contract.RABBITMQ_PORT: str(broker.amqp_port),
        contract.RABBITMQ_VHOST: vhost,
        contract.RABBITMQ_TLS: "false",
        contract.RABBITMQ_CREDENTIALS_DIR: str(creds),
        contract.RABBITMQ_QUEUE: QUEUE,
        contract.PREFETCH: "5",
        contract.REDIS_HOST: "127.0.0.1",
        contract.REDIS_PORT: str(redis_server.port),
        contract.REDIS_TLS: "false",
        contract.REDIS_CREDENTIALS_DIR: str(redis_creds),
        contract.REDIS_KEY_PREFIX: f"{vhost}:",
        contract.IDEMPOTENCY_IN_PROGRESS_SECONDS: "3",
        contract.HEALTH_PORT: "0",
    }


class Consumers:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, **env, "PYTHONPATH": str(TESTS_DIR)}
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.started = 0
        self.log_of: dict[int, Path] = {}

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        path = self.log_dir / f"consumer-{self.started}.log"
        log = open(path, "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "eventinfra_runtime.rabbitmq", "crash_handler:handle"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()  # the child has its own descriptor
        self.log_of[process.pid] = path
        self.processes.append(process)
        return process

    def wait_consuming(self, timeout: float = 30) -> None:
        """Until every live consumer has installed its SIGTERM handler and started consuming."""

        def started(process: subprocess.Popen[bytes]) -> bool:
            return "consumer starting" in self.log_of[process.pid].read_text(errors="replace")

        wait_until(lambda: all(started(p) for p in self.alive()), timeout, "consumers to start")

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.processes if p.poll() is None]

    def stop_all(self) -> None:
        for process in self.alive():
            process.kill()
            process.wait(10)

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for log in self.log_dir.glob("consumer-*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("{") and '"outcome"' in line:
                    outcome = json.loads(line)["outcome"]
                    counts[outcome] = counts.get(outcome, 0) + 1
        return counts


def queue_depth(broker: Any, vhost: str, queue: str) -> int:
    with pika.BlockingConnection(broker.amqp_params(vhost=vhost)) as connection:
        declared = connection.channel().queue_declare(queue, passive=True)
        return int(declared.method.message_count)


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def publish_raw_invalid(broker: Any, vhost: str, count: int) -> None:
    """Invalid events from a producer that does not use the runtime."""
    with pika.BlockingConnection(broker.amqp_params(vhost=vhost)) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        for i in range(count):
            channel.basic_publish(
                EXCHANGE,
                EXCHANGE,
                json.dumps({"eventType": "user.signup", "userId": f"invalid-{i}", "plan": "gold"}),
                pika.BasicProperties(
                    message_id=f"invalid-{i}", type=EXCHANGE, delivery_mode=2, headers={}
                ),
                mandatory=True,
            )


def test_every_confirmed_event_is_processed_exactly_once_through_kills_and_a_broker_restart(
    rabbitmq: Any, rabbitmq_vhost: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    rng = random.Random(int(os.environ.get("EVENTINFRA_CRASH_SEED", "11")))
    declare_topology(rabbitmq, rabbitmq_vhost, "mailer-pw")
    creds = write_credentials(tmp_path / "rabbitmq-creds", "mailer", "mailer-pw")
    redis_creds = write_credentials(tmp_path / "redis-creds", "default", redis_server.password)
    env = contract_env(rabbitmq, rabbitmq_vhost, creds, redis_server, redis_creds)
    store = redis.Redis(
        port=redis_server.port, password=redis_server.password, decode_responses=True
    )
    store.delete(EFFECTS_KEY)

    producer = producer_from_environment(env)
    with pytest.raises(InvalidEventError):
        producer.publish("user.signup", {"eventType": "user.signup", "userId": "x", "plan": "gold"})
    valid_ids = {
        producer.publish(
            "user.signup", {"eventType": "user.signup", "userId": f"u-{i}", "plan": "pro"}
        )
        for i in range(N_EVENTS)
    }
    poison_ids = {
        producer.publish(
            "user.signup", {"eventType": "user.signup", "userId": f"poison-{i}", "plan": "pro"}
        )
        for i in range(N_POISON)
    }
    publish_raw_invalid(rabbitmq, rabbitmq_vhost, N_INVALID)
    assert queue_depth(rabbitmq, rabbitmq_vhost, QUEUE) == N_EVENTS + N_POISON + N_INVALID

    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    consumers = Consumers(env, log_dir)
    kills = 0
    broker_restarts = 0
    try:
        for _ in range(CONSUMERS):
            consumers.start()
        while kills < KILLS:
            time.sleep(rng.uniform(0.3, 1.0))
            victim = rng.choice(consumers.alive())
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            kills += 1
            consumers.start()
            if kills == KILLS // 2:
                port = rabbitmq.amqp_port
                rabbitmq.restart()
                broker_restarts += 1
                assert rabbitmq.amqp_port == port, "the broker came back on another port"
        wait_until(lambda: store.hlen(EFFECTS_KEY) >= N_EVENTS, 90, "every valid event's effect")
        consumers.wait_consuming()

        # SIGTERM with messages in flight: the in-hand one is finished, the rest requeued.
        sigterm_ids = {
            producer.publish(
                "user.signup", {"eventType": "user.signup", "userId": f"t-{i}", "plan": "team"}
            )
            for i in range(N_AFTER_SIGTERM)
        }
        consumers.wait_consuming()
        time.sleep(0.3)
        terminated = consumers.alive()
        for process in terminated:
            process.send_signal(signal.SIGTERM)
        exit_codes = [process.wait(30) for process in terminated]
        consumers.start()
        wait_until(
            lambda: store.hlen(EFFECTS_KEY) >= N_EVENTS + N_AFTER_SIGTERM, 60, "the SIGTERM batch"
        )
        wait_until(lambda: queue_depth(rabbitmq, rabbitmq_vhost, QUEUE) == 0, 60, "an empty queue")
        wait_until(
            lambda: queue_depth(rabbitmq, rabbitmq_vhost, DEAD_LETTER) >= N_POISON + N_INVALID,
            30,
            "the dead letters",
        )
    finally:
        consumers.stop_all()
        producer.close()

    effects = {k: int(v) for k, v in store.hgetall(EFFECTS_KEY).items()}
    store.close()
    dead: dict[str, str] = {}
    with pika.BlockingConnection(rabbitmq.amqp_params(vhost=rabbitmq_vhost)) as connection:
        channel = connection.channel()
        while True:
            method, properties, _ = channel.basic_get(DEAD_LETTER, auto_ack=True)
            if method is None:
                break
            dead[properties.message_id] = properties.headers["x-death"][0]["reason"]
    outcomes = consumers.outcomes()
    reasons = {r: list(dead.values()).count(r) for r in sorted(set(dead.values()))}
    print(
        f"\nN={N_EVENTS}+{N_AFTER_SIGTERM} valid, {N_POISON} poison, {N_INVALID} invalid; "
        f"SIGKILLs={kills}, broker restarts={broker_restarts}, consumer processes started="
        f"{consumers.started}, SIGTERM exit codes={exit_codes}\n"
        f"effects: {len(effects)} events, counts {sorted(set(effects.values()))}; "
        f"dead letters by reason: {reasons}\n"
        f"delivery outcomes: {dict(sorted(outcomes.items()))}"
    )
    assert set(effects) == valid_ids | sigterm_ids
    assert all(count == 1 for count in effects.values()), {
        k: v for k, v in effects.items() if v != 1
    }
    assert exit_codes == [0] * len(terminated)
    assert {k: v for k, v in dead.items() if k in poison_ids} == dict.fromkeys(
        poison_ids, "delivery_limit"
    )
    assert {k: v for k, v in dead.items() if k.startswith("invalid-")} == {
        f"invalid-{i}": "rejected" for i in range(N_INVALID)
    }
    assert len(dead) == N_POISON + N_INVALID


def test_unroutable_event_raises(
    rabbitmq: Any, rabbitmq_vhost: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    declare_topology(rabbitmq, rabbitmq_vhost, "mailer-pw")
    v = rabbitmq.q(rabbitmq_vhost)
    rabbitmq.http(
        "PUT", f"/api/exchanges/{v}/nowhere", {"type": "topic", "durable": True}, expect=(201, 204)
    )
    rabbitmq.http(
        "PUT",
        f"/api/permissions/{v}/mailer",
        {"configure": "^$", "write": ".*", "read": "^$"},
        expect=(201, 204),
    )
    creds = write_credentials(tmp_path / "creds", "mailer", "mailer-pw")
    env = contract_env(rabbitmq, rabbitmq_vhost, creds, redis_server, creds)
    env[contract.EVENTS] = events_json({"user.signup": "nowhere"})
    producer = producer_from_environment(env)
    try:
        with pytest.raises(PublishError, match="routes it to no queue"):
            producer.publish(
                "user.signup", {"eventType": "user.signup", "userId": "u", "plan": "pro"}
            )
    finally:
        producer.close()


def test_health_endpoints_answer() -> None:
    ready = {"value": False}
    server = HealthServer(free_port(), lambda: True, lambda: ready["value"])
    server.start()

    def status(path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}") as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.close()
            return error.code

    try:
        assert (status("/healthz"), status("/readyz")) == (200, 503)
        ready["value"] = True
        assert status("/readyz") == 200
        assert status("/metrics") == 200
    finally:
        server.stop()
