"""The Kafka backend's connection settings, refusals and ops-group membership, without a broker."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from eventinfra.errors import EventInfraError
from eventinfra.ops.cli import add_ops_parsers, run_ops
from eventinfra.ops.kafka import REPLAY_REFUSAL, KafkaBackend, client_config, connection
from eventinfra.ops.moves import Audit, MoveResult, StopRequest, move
from eventinfra.ops.outputs import parse_outputs
from tests.ops.test_outputs import KAFKA

OUTPUTS = parse_outputs(KAFKA, "out.json")


def test_a_tls_secret_folder_gives_the_runtimes_client_settings(tmp_path: Path) -> None:
    (tmp_path / "user.crt").write_text("cert")
    (tmp_path / "user.key").write_text("key")
    ca = tmp_path / "ca.crt"

    chosen = connection(
        OUTPUTS, bootstrap="localhost:9093", credentials_dir=tmp_path, ca_file=ca, environ={}
    )

    assert chosen.security == "tls"  # told by user.crt in the folder
    assert client_config(chosen) == {
        "bootstrap.servers": "localhost:9093",
        "security.protocol": "SSL",
        "ssl.ca.location": str(ca),
        "ssl.certificate.location": str(tmp_path / "user.crt"),
        "ssl.key.location": str(tmp_path / "user.key"),
    }


def test_a_scram_secret_folder_and_the_runtimes_variables(tmp_path: Path) -> None:
    (tmp_path / "username").write_text("kfk-eventinfra-ops\n")
    (tmp_path / "password").write_text("s3cret\n")
    environ = {
        "EVENTINFRA_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
        "EVENTINFRA_KAFKA_CREDENTIALS_DIR": str(tmp_path),
    }

    config = client_config(connection(OUTPUTS, environ=environ))

    assert config == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "kfk-eventinfra-ops",
        "sasl.password": "s3cret",
    }


def test_without_a_bootstrap_flag_the_stacks_bootstrap_is_used() -> None:
    chosen = connection(OUTPUTS, security="plaintext", environ={})

    assert client_config(chosen) == {
        "bootstrap.servers": "kfk-kafka-kafka-bootstrap.events.svc:9093"
    }


def test_missing_credentials_name_the_ops_users_secret() -> None:
    with pytest.raises(EventInfraError) as raised:
        connection(OUTPUTS, environ={})

    assert "the ops user's Secret `kfk-eventinfra-ops` in namespace 'events'" in str(raised.value)


def test_tls_without_the_cluster_ca_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(EventInfraError) as raised:
        connection(OUTPUTS, security="tls", credentials_dir=tmp_path, environ={})

    assert str(raised.value) == (
        "--kafka-security tls needs --kafka-ca FILE (the cluster CA, `ca.crt`)."
    )


def test_replay_on_kafka_says_why_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "out.json"
    outputs.write_text(__import__("json").dumps(KAFKA))
    parser = argparse.ArgumentParser()
    add_ops_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["replay", "user.signup", "--to", "mailer", "--outputs", str(outputs)])

    assert run_ops(args) == 2
    assert " ".join(capsys.readouterr().err.split()) == "error: " + REPLAY_REFUSAL


# --- the ops group's membership, against a scripted broker -------------------------------


class FakeKafkaError:
    _MAX_POLL_EXCEEDED = -147

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


class FakeKafkaException(Exception):
    pass


@dataclass
class FakeTopicPartition:
    topic: str
    partition: int
    offset: int = -1001  # librdkafka's OFFSET_INVALID: "from the committed offset"


@dataclass
class FakeRecord:
    _topic: str
    _partition: int
    _offset: int

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def error(self) -> None:
        return None

    def key(self) -> bytes:
        return b"key"

    def value(self) -> bytes:
        return b"{}"

    def headers(self) -> list[tuple[str, bytes]]:
        return [("event-id", f"e{self._partition}-{self._offset}".encode())]

    def timestamp(self) -> tuple[int, int]:
        return (0, -1)


Rebalance = tuple[str, list[int]]  # ("assign", partitions) or ("revoke", [])


@dataclass
class FakeBroker:
    """One dead-letter topic of `records[p]` records per partition, the ops group's commits,
    what each client did, and the group's rebalances: on a join, after the n-th commit, or
    at the n-th poll of a member."""

    records: dict[int, int]
    on_join: list[Rebalance]
    after_commits: dict[int, list[Rebalance]] = field(default_factory=dict)
    at_polls: dict[int, list[Rebalance]] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)
    commits: int = 0
    produced: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


class FakeConsumer:
    def __init__(self, broker: FakeBroker) -> None:
        self.broker = broker
        self.events: list[Rebalance] = []
        self.callbacks: dict[str, Callable[[Any, list[Any]], None]] = {}
        self.positions: dict[int, int] = {}
        self.polls = 0

    def list_topics(self, topic: str, timeout: float) -> Any:
        found = SimpleNamespace(partitions=dict.fromkeys(self.broker.records), error=None)
        return SimpleNamespace(topics={topic: found})

    def committed(self, partitions: list[Any], timeout: float) -> list[Any]:
        return [
            FakeTopicPartition(
                tp.topic, tp.partition, self.broker.committed.get(tp.partition, -1001)
            )
            for tp in partitions
        ]

    def get_watermark_offsets(self, tp: Any, timeout: float, cached: bool) -> tuple[int, int]:
        return (0, self.broker.records[tp.partition])

    def assign(self, partitions: list[Any]) -> None:
        self.broker.calls.append("assign")
        self.positions = {tp.partition: tp.offset for tp in partitions}

    def subscribe(self, topics: list[str], **callbacks: Callable[[Any, list[Any]], None]) -> None:
        self.broker.calls.append("subscribe")
        self.callbacks = callbacks
        self.events += self.broker.on_join

    def poll(self, timeout: float) -> FakeRecord | None:
        self.polls += 1
        self.events += self.broker.at_polls.pop(self.polls, [])
        if self.events:
            kind, partitions = self.events.pop(0)
            given = [FakeTopicPartition("mailer.dead-letter", p) for p in partitions]
            if kind == "assign":
                # A new assignment fetches from the committed offsets.
                self.positions = {p: self.broker.committed.get(p, 0) for p in partitions}
                self.callbacks["on_assign"](self, given)
            else:
                self.positions = {}
                self.callbacks["on_revoke"](self, given)
            return None
        for partition, position in sorted(self.positions.items()):
            start = max(position, 0)
            if start < self.broker.records[partition]:
                self.positions[partition] = start + 1
                return FakeRecord("mailer.dead-letter", partition, start)
        return None

    def commit(self, offsets: list[Any], asynchronous: bool) -> None:
        for tp in offsets:
            self.broker.committed[tp.partition] = tp.offset
        self.broker.commits += 1
        self.events += self.broker.after_commits.pop(self.broker.commits, [])

    def seek(self, tp: Any) -> None:
        self.positions[tp.partition] = tp.offset

    def close(self) -> None:
        pass


class FakeProducer:
    def __init__(self, broker: FakeBroker) -> None:
        self.broker = broker

    def produce(
        self, topic: str, *, value: bytes, key: bytes, headers: Any, on_delivery: Any
    ) -> None:
        self.broker.produced.append(dict(headers)["event-id"].decode())
        on_delivery(None, None)

    def flush(self, timeout: float) -> int:
        return 0


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    """The scripted broker behind every KafkaBackend the test makes (one topic: mailer's)."""
    scripted = FakeBroker(records={0: 0}, on_join=[])
    module = SimpleNamespace(
        Consumer=lambda config: FakeConsumer(scripted),
        Producer=lambda config: FakeProducer(scripted),
        TopicPartition=FakeTopicPartition,
        KafkaException=FakeKafkaException,
        KafkaError=FakeKafkaError,
        TIMESTAMP_NOT_AVAILABLE=0,
    )
    monkeypatch.setattr("eventinfra.ops.kafka.import_confluent_kafka", lambda: module)
    return scripted


def run_cli(tmp_path: Path, *arguments: str) -> int:
    outputs = tmp_path / "out.json"
    outputs.write_text(json.dumps(KAFKA))
    parser = argparse.ArgumentParser()
    add_ops_parsers(parser.add_subparsers(dest="command"))
    where = [
        "--outputs",
        str(outputs),
        "--kafka-bootstrap",
        "b:9092",
        "--kafka-security",
        "plaintext",
    ]
    return run_ops(parser.parse_args([*arguments, *where]))


def test_a_redrive_is_refused_while_another_holds_part_of_the_dead_letter_topic(
    broker: FakeBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broker.records = {0: 4, 1: 4, 2: 4}
    broker.on_join = [("assign", [2])]  # the other mover kept partitions 0 and 1

    assert run_cli(tmp_path, "dlq", "redrive", "mailer") == 2

    assert " ".join(capsys.readouterr().err.split()) == (
        "error: Another `eventinfra dlq redrive` or `eventinfra dlq purge` is running for Kafka "
        "consumer group 'eventinfra-ops': the group gave this run 1 of the 3 partition(s) of "
        "'mailer.dead-letter', so it moved nothing; run it again once the other has finished."
    )
    assert (broker.produced, broker.committed) == ([], {})


def test_a_purge_is_refused_while_another_mover_holds_the_dead_letter_topic(
    broker: FakeBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broker.records = {0: 4}
    broker.on_join = [("assign", [])]

    assert run_cli(tmp_path, "dlq", "purge", "mailer", "--yes") == 2

    assert "the group gave this run 0 of the 1 partition(s)" in capsys.readouterr().err
    assert broker.committed == {}


def test_a_redrive_joins_the_ops_group_and_moves_once_it_holds_every_partition(
    broker: FakeBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broker.records = {0: 2, 1: 1}
    broker.on_join = [("assign", [0, 1])]

    assert run_cli(tmp_path, "dlq", "redrive", "mailer") == 0

    assert broker.calls == ["subscribe"]  # never `assign`: that would bypass the group
    assert sorted(broker.produced) == ["e0-0", "e0-1", "e1-0"]
    assert broker.committed == {0: 2, 1: 1}


@pytest.mark.parametrize(
    "command",
    [
        ("dlq", "list"),
        ("dlq", "peek", "mailer"),
        ("dlq", "redrive", "mailer", "--dry-run"),
    ],
)
def test_read_only_commands_never_join_the_ops_group(
    broker: FakeBroker, tmp_path: Path, command: tuple[str, ...]
) -> None:
    broker.records = {0: 3}
    broker.on_join = [("revoke", [])]  # what joining would do to a running mover

    assert run_cli(tmp_path, *command) == 0

    assert "subscribe" not in broker.calls
    assert "assign" in broker.calls  # they did read the topic
    assert (broker.produced, broker.committed) == ([], {})


def mover(broker: FakeBroker) -> KafkaBackend:
    return KafkaBackend(OUTPUTS, {}, holds="mailer.dead-letter", join_wait_seconds=0.2)


def redrive(backend: KafkaBackend) -> MoveResult:
    return move(
        backend, backend.dead_letter_queue("mailer"), backend.consumer_queue("mailer"),
        action="redrive", max_messages=None, rate=None, dry_run=False,
        audit=Audit(io.StringIO()), stop=StopRequest(), method="test",
    )  # fmt: skip


def test_a_mover_whose_partition_is_taken_stops_with_what_it_committed(
    broker: FakeBroker,
) -> None:
    broker.records = {0: 15}
    broker.on_join = [("assign", [0])]
    # After the first batch of 10: another run joined and the group gave it the partition.
    broker.after_commits = {10: [("revoke", []), ("assign", [])]}

    result = redrive(mover(broker))

    assert (result.moved, broker.committed) == (10, {0: 10})
    assert broker.produced == [f"e0-{i}" for i in range(10)]
    assert result.stopped == (
        "Another `eventinfra dlq redrive` or `eventinfra dlq purge` joined Kafka consumer group "
        "'eventinfra-ops' and took partitions of 'mailer.dead-letter' from this run: what it "
        "moved is committed, the rest is left for the next run."
    )


def test_a_rebalance_in_the_middle_of_a_take_restarts_it_from_the_committed_offset(
    broker: FakeBroker,
) -> None:
    broker.records = {0: 15}
    broker.on_join = [("assign", [0])]
    backend = mover(broker)
    consumer = backend.consumer
    assert isinstance(consumer, FakeConsumer)
    original_commit = consumer.commit

    def commit_then_script(offsets: list[Any], asynchronous: bool) -> None:
        original_commit(offsets, asynchronous)
        # The next take's third poll, after it fetched two records: a newcomer joined (and
        # was refused and left); the group gives this run every partition back.
        if broker.commits == 10:
            broker.at_polls = {consumer.polls + 3: [("revoke", []), ("assign", [0])]}

    consumer.commit = commit_then_script  # type: ignore[method-assign]
    result = redrive(backend)

    assert (result.moved, result.stopped) == (15, None)
    assert broker.produced == [f"e0-{i}" for i in range(15)]  # each once, none skipped
    assert broker.committed == {0: 15}


def test_a_commit_the_group_refuses_ends_the_move_and_keeps_the_record(
    broker: FakeBroker,
) -> None:
    broker.records = {0: 5}
    broker.on_join = [("assign", [0])]
    backend = mover(broker)
    consumer = backend.consumer
    assert isinstance(consumer, FakeConsumer)
    original_commit = consumer.commit

    def fenced_after_two(offsets: list[Any], asynchronous: bool) -> None:
        if broker.commits == 2:
            raise FakeKafkaException(FakeKafkaError("Broker: Unknown member"))
        original_commit(offsets, asynchronous)

    consumer.commit = fenced_after_two  # type: ignore[method-assign]
    result = redrive(backend)

    assert (result.moved, broker.committed) == (2, {0: 2})
    assert result.stopped == (
        "Kafka did not commit group 'eventinfra-ops' past mailer.dead-letter/0/2: Broker: "
        "Unknown member; the record is sent again next time (a duplicate)."
    )
