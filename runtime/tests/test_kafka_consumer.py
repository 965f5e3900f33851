"""The Kafka consumer's outcomes, log lines, counters and retries, with a scripted Kafka client.

The records come from a stand-in for confluent-kafka's Consumer (poll, seek, commit) and the
dead-letter writes go to a stand-in Producer; Redis is the real local server. What a real
broker adds is proven in test_kafka_real.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from conftest import SCHEMAS_DIR, RedisServer, write_credentials
from prometheus_client import REGISTRY

from eventinfra_runtime import contract, envelope, lifecycle
from eventinfra_runtime.kafka import consumer as kafka_consumer
from eventinfra_runtime.kafka.consumer import DEAD_LETTER_REASON, KafkaEventConsumer
from eventinfra_runtime.rabbitmq.idempotency import Effects

TOPIC = "user.signup"


class Record:
    """What the consumer reads of a confluent_kafka.Message."""

    def __init__(self, offset: int, payload: object, event_id: str) -> None:
        self._offset = offset
        self._value = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self._headers = [
            (envelope.EVENT_ID, event_id.encode()),
            (envelope.EVENT_TYPE, TOPIC.encode()),
            (envelope.SCHEMA_VERSION, b"1"),
        ]

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b""

    def value(self) -> bytes:
        return self._value

    def headers(self) -> list[tuple[str, bytes]]:
        return list(self._headers)


class ErrorEvent:
    """What poll returns for a client-level event such as losing every broker."""

    def __init__(self, code: int) -> None:
        self._error = KafkaError(code)

    def error(self) -> KafkaError:
        return self._error


class ScriptedKafka:
    """One partition: `poll` returns its records in order, `seek` rewinds, `commit` records
    (or fails as often as `commit_failures` says); stops the consumer when all are committed."""

    def __init__(
        self, records: Sequence[Record | ErrorEvent], owner: Callable[[], KafkaEventConsumer]
    ) -> None:
        self.records, self.owner = records, owner
        self.position = 0
        self.commits: list[int] = []
        self.commit_failures = 0
        self.readiness: list[bool] = []
        self.idle_polls = 0  # empty polls after the records, before stopping the consumer
        self.unanswered_metadata = 0  # list_topics calls that time out

    def subscribe(self, topics: list[str]) -> None:
        assert topics == [TOPIC]

    def poll(self, timeout: float) -> Record | ErrorEvent | None:
        self.readiness.append(self.owner().lifecycle.is_ready())
        if self.position >= len(self.records):
            if self.idle_polls:
                self.idle_polls -= 1
            else:
                self.owner().stop()
            return None
        self.position += 1
        return self.records[self.position - 1]

    def seek(self, position: TopicPartition) -> None:
        self.position = next(
            i
            for i, r in enumerate(self.records)
            if isinstance(r, Record) and r.offset() == position.offset
        )

    def commit(self, message: Record, asynchronous: bool) -> None:
        if self.commit_failures:
            self.commit_failures -= 1
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        self.commits.append(message.offset())

    def list_topics(self, timeout: float) -> object:
        if self.unanswered_metadata:
            self.unanswered_metadata -= 1
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        return object()

    def close(self) -> None:
        pass


class DeadLetters:
    """The dead-letter producer: `unacknowledged` flushes report a record still queued."""

    def __init__(self) -> None:
        self.written: list[dict[str, str]] = []
        self.unacknowledged = 0
        self._pending: list[dict[str, str]] = []

    def produce(self, topic: str, **record: Any) -> None:
        headers = {name: str(value) for name, value in record["headers"]}
        self._pending.append({"topic": topic, **headers})

    def flush(self, timeout: float) -> int:
        if self.unacknowledged:
            self.unacknowledged -= 1
            self._pending.clear()  # lost with the connection
            return 1
        self.written += self._pending
        self._pending.clear()
        return 0


class FlakyRedis(redis.Redis):
    """A Redis client whose first `failures` SETs fail as if the server were gone."""

    failures = 0

    def set(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1. Connection refused.")
        return super().set(*args, **kwargs)


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[FlakyRedis]:
    client = FlakyRedis(
        port=redis_server.port, password=redis_server.password, decode_responses=True
    )
    client.flushall()
    yield client
    client.close()


def consumer_for(
    handler: Callable[[envelope.ReceivedEvent], Effects | None],
    records: Sequence[Record | ErrorEvent],
    redis_client: redis.Redis,
    folder: Path,
    service: str,
    extra: dict[str, str] | None = None,
) -> tuple[KafkaEventConsumer, ScriptedKafka, DeadLetters]:
    """The kafka-consumer contract the components inject (plus `extra`), with the Kafka clients
    scripted."""
    config = contract.load(
        "kafka-consumer",
        {
            contract.BROKER: "kafka",
            contract.SERVICE: service,
            contract.EVENTS: json.dumps({TOPIC: {"destination": None, "schema_version": "1"}}),
            contract.SCHEMAS_DIR: str(SCHEMAS_DIR),
            contract.KAFKA_BOOTSTRAP: "127.0.0.1:9",  # never reached: the clients are replaced
            contract.KAFKA_SECURITY: "plaintext",
            contract.KAFKA_TOPICS: TOPIC,
            contract.KAFKA_GROUP: service,
            contract.KAFKA_DEAD_LETTER_TOPIC: f"{service}.dead-letter",
            contract.REDIS_HOST: "127.0.0.1",
            contract.REDIS_PORT: "6379",
            contract.REDIS_TLS: "false",
            contract.REDIS_CREDENTIALS_DIR: str(write_credentials(folder, "default", "x")),
            contract.REDIS_KEY_PREFIX: f"{service}:",
            contract.IDEMPOTENCY_KEY: "userId",
            contract.HEALTH_PORT: "0",
            **(extra or {}),
        },
    )
    consumer = KafkaEventConsumer(handler, config, redis_client=redis_client)
    consumer.consumer.close()
    scripted = ScriptedKafka(records, lambda: consumer)
    dead_letters = DeadLetters()
    consumer.consumer = scripted  # type: ignore[assignment]
    consumer.dead_letters = dead_letters  # type: ignore[assignment]
    return consumer, scripted, dead_letters


def signup(offset: int, user: str) -> Record:
    return Record(offset, {"eventType": TOPIC, "userId": user, "plan": "pro"}, f"e-{offset}")


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"{name}_total", labels) or 0.0


def test_every_outcome_is_one_json_line_and_a_counter(
    store: FlakyRedis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def handle(event: envelope.ReceivedEvent) -> None:
        if event.payload["userId"] == "poison":
            raise RuntimeError("the mail service refused it")

    service = "outcomes"
    records = [
        signup(0, "u1"),
        signup(1, "u1"),  # the same user: a duplicate by the idempotency key
        Record(2, {"eventType": TOPIC}, "e-2"),  # no userId: invalid
        Record(3, b"not json", "e-3"),
        signup(4, "poison"),
    ]
    consumer, kafka, dead_letters = consumer_for(handle, records, store, tmp_path, service)
    outcomes = ["processed", "duplicate", "dead-lettered-invalid", "dead-lettered-poison"]
    before = {
        o: counter("eventinfra_consumed_events", service=service, event_type=TOPIC, outcome=o)
        for o in outcomes
    }

    consumer.run(install_signal_handlers=False)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    per_record = [line for line in lines if "offset" in line]
    assert [(line["offset"], line["outcome"], line["attempt"]) for line in per_record] == [
        (0, "processed", 1),
        (1, "duplicate", 1),
        (2, "dead-lettered-invalid", 1),
        (3, "dead-lettered-invalid", 1),
        (4, "failed", 1),
        (4, "failed", 2),
        (4, "failed", 3),
        (4, "dead-lettered-poison", 3),
    ]
    first = per_record[0]
    assert first["message"] == "event processed" and first["event_id"] == "e-0"
    assert (first["consumer"], first["event_type"], first["topic"]) == (service, TOPIC, TOPIC)
    assert first["duration_ms"] >= 0 and len(first["trace_id"]) == 32
    assert per_record[2]["field"] == "$.userId"
    assert per_record[3]["field"] == "$" and "not JSON" in per_record[3]["reason"]
    assert per_record[-1]["reason"] == "RuntimeError: the mail service refused it"

    after = {
        o: counter("eventinfra_consumed_events", service=service, event_type=TOPIC, outcome=o)
        for o in outcomes
    }
    assert {o: after[o] - before[o] for o in outcomes} == {
        "processed": 1,
        "duplicate": 1,
        "dead-lettered-invalid": 2,
        "dead-lettered-poison": 1,
    }
    dead = "eventinfra_dead_lettered_events"
    assert counter(dead, service=service, event_type=TOPIC, reason="invalid") == 2
    assert counter(dead, service=service, event_type=TOPIC, reason="poison") == 1
    invalid = "eventinfra_invalid_events"
    assert counter(invalid, service=service, event_type=TOPIC, side="consume") == 2
    assert [d[DEAD_LETTER_REASON].split(":")[0] for d in dead_letters.written] == [
        "invalid",
        "invalid",
        "poison",
    ]
    assert kafka.commits == [0, 1, 2, 3, 4]
    assert consumer.counts == {
        "processed": 1,
        "duplicate": 1,
        "dead-lettered-invalid": 2,
        "dead-lettered-poison": 1,
    }


@pytest.mark.parametrize("max_attempts", [1, 5])
def test_a_failing_record_is_tried_as_often_as_the_max_attempts_variable_says(
    store: FlakyRedis, tmp_path: Path, capsys: pytest.CaptureFixture[str], max_attempts: int
) -> None:
    """`flaky` succeeds at the handler's fifth run: processed with 5 attempts, dead-lettered with
    1 (the default 3 would dead-letter it too); `poison` always fails."""
    runs: dict[str, int] = {}

    def handle(event: envelope.ReceivedEvent) -> None:
        user = event.payload["userId"]
        runs[user] = runs.get(user, 0) + 1
        if user == "poison" or runs[user] < 5:
            raise RuntimeError(f"run {runs[user]} failed")

    service = f"attempts-{max_attempts}"
    consumer, kafka, dead_letters = consumer_for(
        handle,
        [signup(0, "flaky"), signup(1, "poison")],
        store,
        tmp_path,
        service,
        {contract.MAX_ATTEMPTS: str(max_attempts)},
    )

    consumer.run(install_signal_handlers=False)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    per_record = [
        (line["offset"], line["outcome"], line["attempt"]) for line in lines if "offset" in line
    ]
    flaky_outcome = "processed" if max_attempts == 5 else "dead-lettered-poison"
    assert per_record == [
        *((0, "failed", attempt) for attempt in range(1, min(max_attempts, 4) + 1)),
        (0, flaky_outcome, max_attempts),
        *((1, "failed", attempt) for attempt in range(1, max_attempts + 1)),
        (1, "dead-lettered-poison", max_attempts),
    ]
    assert runs == {"flaky": max_attempts, "poison": max_attempts}
    dead_lettered = len(dead_letters.written)
    assert dead_lettered == (1 if max_attempts == 5 else 2)
    assert kafka.commits == [0, 1]


def test_each_attempt_that_returns_keeps_the_consumer_live(
    store: FlakyRedis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five failing runs of 40 s each (200 s in all) never make /healthz report the consumer
    stuck: every run that returns is progress. A clock stands in for the 40 s."""
    clock = [1_000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    live_at_each_run: list[bool] = []

    def handle(event: envelope.ReceivedEvent) -> None:
        live_at_each_run.append(consumer.lifecycle.live())
        clock[0] += 40
        raise RuntimeError("slow and failing")

    consumer, _, dead_letters = consumer_for(
        handle, [signup(0, "slow")], store, tmp_path, "slow", {contract.MAX_ATTEMPTS: "5"}
    )

    consumer.run(install_signal_handlers=False)

    assert live_at_each_run == [True] * 5
    assert len(dead_letters.written) == 1


def test_redis_and_kafka_failures_neither_commit_nor_lose_a_record_and_unready_the_consumer(
    store: FlakyRedis,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lifecycle, "BACKOFF_SECONDS", (0.01,))
    handled: list[str] = []

    def handle(event: envelope.ReceivedEvent) -> Effects:
        if event.payload["userId"] == "poison":
            raise RuntimeError("always fails")
        handled.append(event.event_id)

        def count(pipe: redis.client.Pipeline) -> None:
            pipe.hincrby("effects", event.event_id, 1)

        return count

    service = "retries"
    consumer, kafka, dead_letters = consumer_for(
        handle, [signup(0, "u1"), signup(1, "poison"), signup(2, "u2")], store, tmp_path, service
    )
    store.failures = 2  # Redis refuses the first record's in-progress record twice
    kafka.commit_failures = 1  # then Kafka drops the commit of that record once
    dead_letters.unacknowledged = 1  # and the poison record's first dead-letter write
    retried = counter("eventinfra_transient_failures", service=service, dependency="redis")

    consumer.run(install_signal_handlers=False)  # no exception: nothing crashed

    assert kafka.commits == [0, 1, 2]
    # The commit failed after the effect: the second read is a duplicate, not a second effect.
    assert store.hgetall("effects") == {"e-0": "1", "e-2": "1"}
    assert handled == ["e-0", "e-2"]
    assert len(dead_letters.written) == 1
    assert counter("eventinfra_transient_failures", service=service, dependency="redis") == (
        retried + 2
    )
    assert counter("eventinfra_transient_failures", service=service, dependency="kafka") == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["offset"], line["outcome"]) for line in lines if "offset" in line] == [
        (0, "retried"),
        (0, "retried"),
        (0, "processed"),
        (0, "retried"),  # the commit
        (0, "duplicate"),
        (1, "failed"),
        (1, "failed"),
        (1, "failed"),
        (1, "retried"),  # the dead-letter write
        (1, "failed"),
        (1, "failed"),
        (1, "failed"),
        (1, "dead-lettered-poison"),
        (2, "processed"),
    ]
    # Polls right after a failure saw the consumer not ready; the last ones, ready again.
    assert kafka.readiness[:4] == [False, False, False, False]
    assert kafka.readiness[-1] is True


def test_losing_every_broker_unreadies_the_consumer_until_the_cluster_answers_again(
    store: FlakyRedis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka_consumer, "BROKER_CHECK_SECONDS", 0)
    records: list[Record | ErrorEvent] = [
        signup(0, "u1"),
        ErrorEvent(KafkaError._ALL_BROKERS_DOWN),
    ]
    consumer, kafka, _ = consumer_for(lambda _: None, records, store, tmp_path, "outage")
    kafka.idle_polls = 2
    kafka.unanswered_metadata = 1

    consumer.run(install_signal_handlers=False)  # no exception: the client reconnects itself

    # Ready after the record, not ready once every broker is lost and while the cluster does
    # not answer, ready again when it does.
    assert kafka.readiness == [False, True, False, False, True]
    assert kafka.commits == [0]


def test_a_fatal_kafka_error_ends_the_run(store: FlakyRedis, tmp_path: Path) -> None:
    consumer, _, _ = consumer_for(lambda _: None, [], store, tmp_path, "fatal")
    fatal = KafkaError(KafkaError._FENCED, "fenced by a newer instance", fatal=True)
    with pytest.raises(KafkaException):
        consumer._on_kafka_error(fatal)
