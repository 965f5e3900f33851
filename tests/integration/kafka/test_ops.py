"""`eventinfra dlq` on a real Kafka-protocol broker (Tansu): list, peek, redrive, a crash, purge,
two redrives at once.

The topics and the outputs are the planned kafka example stack's (stacks/Pulumi.kafka.yaml):
each consumer's `<consumer>.dead-letter` and `<consumer>.retry`, the ops group, created on Tansu
the way the Topic Operator would. The commands run as `eventinfra` does, with
`--kafka-bootstrap` pointing at Tansu and `--kafka-security plaintext`: Tansu has no TLS
listener, no SCRAM and no ACLs, so the ops user's least privilege is asserted on the plan
(tests/kafka/test_components.py), not enforced here.

Dead letters are produced one record per acknowledged write, as the runtime's consumer writes
them (it flushes each): Tansu answers ListOffsets with the last batch's base offset + 1, so a
batch of several records would read as one (docs/kafka.md, "Tansu's differences").
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from eventinfra.check.cli import main
from eventinfra.check.synth import synthesize
from eventinfra.errors import EventInfraError
from eventinfra.ops.kafka import KafkaBackend, client_config, connection
from eventinfra.ops.model import InHand
from eventinfra.ops.moves import Audit, MoveResult, StopRequest, move
from eventinfra.ops.outputs import parse_outputs
from tests.support import REPOSITORY
from tests.support.local_servers import TansuBroker

DEAD_LETTERS: Final = 8
FIRST_MOVE: Final = 3
CONCURRENT_DEAD_LETTERS: Final = 20


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    broker = TansuBroker(tmp_path_factory.mktemp("tansu-ops"))
    broker.start()  # a broker that cannot start fails the test; never a skip
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `pulumi stack output --json` gives for the planned stack (`__main__.py`)."""
    planned = synthesize(REPOSITORY, "kafka").named("events").outputs
    document = {
        "kafka_cluster": planned["cluster_name"],
        "bootstrap": planned["bootstrap"],
        "topics": planned["topics"],
        "dead_letter_topics": planned["dead_letter_topics"],
        "retry_topics": planned["retry_topics"],
        "ops_group": planned["ops_group"],
        "ops_secret": planned["ops_secret"],
    }
    file = tmp_path_factory.mktemp("outputs") / "kafka-outputs.json"
    file.write_text(json.dumps(document))
    return file


@pytest.fixture(scope="module")
def planned_topics(tansu: TansuBroker, outputs: Path) -> dict[str, Any]:
    """What the Topic Operator creates from the planned KafkaTopics (one partition each)."""
    planned: dict[str, Any] = json.loads(outputs.read_text())
    tansu.create_topics(
        *planned["dead_letter_topics"].values(), *planned["retry_topics"].values(), partitions=1
    )
    return planned


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("BOOTSTRAP", "SECURITY", "CREDENTIALS_DIR", "CA_FILE"):
        monkeypatch.delenv(f"EVENTINFRA_KAFKA_{name}", raising=False)


def dead_letter(producer: Producer, topic: str, index: int) -> None:
    """What the runtime writes: the event's key, value and headers, plus reason and source."""
    producer.produce(
        topic,
        key=f"user-{index}".encode(),
        value=json.dumps({"userId": f"user-{index}"}).encode(),
        headers=[
            ("event-id", f"event-{index}".encode()),
            ("event-type", b"user.signup"),
            ("schema-version", b"1"),
            ("eventinfra-rejection-reason", b"poison: RuntimeError: mail server down"),
            ("eventinfra-source", f"user.signup/0/{index}".encode()),
        ],
    )
    assert producer.flush(10) == 0


def read_all(broker: TansuBroker, topic: str, expected: int) -> list[Any]:
    """Every record of `topic` from the beginning, through a group of its own."""
    reader = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"reader-{topic}"})
    reader.assign([TopicPartition(topic, 0, 0)])
    records: list[Any] = []
    deadline = time.monotonic() + 10
    while len(records) < expected and time.monotonic() < deadline:
        record = reader.poll(0.2)
        if record is not None and record.error() is None:
            records.append(record)
    # Nothing more than expected: wait a moment for a record that should not be there.
    extra = reader.poll(0.5)
    reader.close()
    return records + ([extra] if extra is not None and extra.error() is None else [])


class SimulatedCrash(BaseException):
    """Not an Exception: nothing in the move may catch and tidy up after it."""


def test_dlq_lists_peeks_redrives_through_a_crash_and_purges_on_kafka(
    tansu: TansuBroker,
    outputs: Path,
    planned_topics: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    producer = Producer({"bootstrap.servers": tansu.bootstrap, "acks": "all"})
    for index in range(DEAD_LETTERS):
        dead_letter(producer, "mailer.dead-letter", index)
    sent = [f"event-{i}" for i in range(DEAD_LETTERS)]

    def run(*arguments: str) -> tuple[int, str, str]:
        where = ["--outputs", str(outputs), "--kafka-bootstrap", tansu.bootstrap]
        code = main([*arguments, *where, "--kafka-security", "plaintext"])
        out, err = capsys.readouterr()
        return code, out, err

    def waiting() -> dict[str, int]:
        code, out, err = run("dlq", "list", "--format", "json")
        assert code == 0, err
        return {q["consumer"]: q["messages"] for q in json.loads(out)["deadLetterQueues"]}

    # list: end offsets minus the ops group's committed offsets (none yet: from the start).
    code, out, err = run("dlq", "list", "--format", "json")
    assert code == 0, err
    listed = {q["consumer"]: q for q in json.loads(out)["deadLetterQueues"]}
    assert listed["mailer"]["messages"] == DEAD_LETTERS
    assert listed["mailer"]["queue"] == "mailer.dead-letter"
    assert listed["mailer"]["ageSource"] == "head"
    assert 0 <= listed["mailer"]["oldestAgeSeconds"] < 120
    assert (listed["analytics"]["messages"], listed["fulfilment"]["messages"]) == (0, 0)

    # peek: the oldest records with the runtime's headers; nothing committed.
    code, out, err = run("dlq", "peek", "mailer", "--max", "3", "--format", "json")
    assert code == 0, err
    shown = json.loads(out)["messages"]
    assert [m["eventId"] for m in shown] == sent[:3]
    assert {m["reason"] for m in shown} == {"poison: RuntimeError: mail server down"}
    assert [m["attributes"]["eventinfra-source"] for m in shown] == [
        f"user.signup/0/{i}" for i in range(3)
    ]
    assert waiting()["mailer"] == DEAD_LETTERS

    # --dry-run: what would move, nothing sent, nothing committed.
    code, out, err = run("dlq", "redrive", "mailer", "--max", "2", "--dry-run", "--format", "json")
    assert code == 0, err
    assert [m["eventId"] for m in json.loads(out)["wouldMove"]] == sent[:2]
    assert waiting()["mailer"] == DEAD_LETTERS

    # redrive --max: the first records go to the consumer's retry topic, the group moves past.
    audit = tmp_path / "audit.jsonl"
    code, out, err = run(
        "dlq", "redrive", "mailer", "--max", str(FIRST_MOVE), "--audit", str(audit),
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert (result["moved"], result["method"]) == (FIRST_MOVE, "fetch-produce-commit")
    assert waiting()["mailer"] == DEAD_LETTERS - FIRST_MOVE
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [line["eventId"] for line in lines] == sent[:FIRST_MOVE]
    assert {(line["fromQueue"], line["toQueue"]) for line in lines} == {
        ("mailer.dead-letter", "mailer.retry")
    }

    # A crash after the second record of the next move was acknowledged by the retry topic,
    # before its offset was committed: the first is committed, the second is sent again.
    chosen = connection(
        parse_outputs(json.loads(outputs.read_text()), "test"),
        bootstrap=tansu.bootstrap,
        security="plaintext",
        environ={},
    )
    backend = KafkaBackend(
        parse_outputs(json.loads(outputs.read_text()), "test"),
        client_config(chosen),
        holds="mailer.dead-letter",  # a mover, as `dlq redrive` is: a member of the ops group
    )
    published: list[InHand] = []

    def crash_on_second(message: InHand) -> None:
        published.append(message)
        if len(published) == 2:
            raise SimulatedCrash

    with pytest.raises(SimulatedCrash), (tmp_path / "crash-audit").open("w") as stream:
        move(
            backend, backend.dead_letter_queue("mailer"), backend.consumer_queue("mailer"),
            action="redrive", max_messages=None, rate=None, dry_run=False, audit=Audit(stream),
            stop=StopRequest(), method="test", after_send=crash_on_second,
        )  # fmt: skip
    backend.close()  # auto-commit is off: closing commits nothing, like a killed process
    assert waiting()["mailer"] == DEAD_LETTERS - FIRST_MOVE - 1

    # The rest, the uncommitted record again among them.
    code, out, err = run("dlq", "redrive", "mailer", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["moved"] == DEAD_LETTERS - FIRST_MOVE - 1
    assert waiting()["mailer"] == 0

    retried = read_all(tansu, "mailer.retry", DEAD_LETTERS + 1)
    ids = [dict(r.headers())["event-id"].decode() for r in retried]
    assert sorted(set(ids)) == sorted(sent)  # nothing lost
    duplicate = published[1].event_id
    assert sorted(ids) == sorted([*sent, str(duplicate)])  # one duplicate: the crash's
    first = retried[0]
    assert (first.key(), json.loads(first.value())) == (b"user-0", {"userId": "user-0"})
    assert dict(first.headers())["event-type"] == b"user.signup"
    assert read_all(tansu, "analytics.retry", 0) == []  # no other consumer gets them
    # The dry run sent nothing: event-0 and event-1 are in the retry topic once each.
    assert (ids.count("event-0"), ids.count("event-1")) == (1, 1)

    # purge: the group moves to the end; the records stay until retention.
    for index in range(DEAD_LETTERS, DEAD_LETTERS + 2):
        dead_letter(producer, "mailer.dead-letter", index)
    assert waiting()["mailer"] == 2
    code, out, err = run("dlq", "purge", "mailer", "--yes")
    assert code == 0, err
    assert " ".join(out.split()) == (
        "Purged 2 message(s) from mailer dead-letter topic; they stay in the topic until its "
        "retention ends, skipped by the ops group."
    )
    assert waiting()["mailer"] == 0
    assert len(read_all(tansu, "mailer.dead-letter", DEAD_LETTERS + 2)) == DEAD_LETTERS + 2


def test_two_redrives_at_once_copy_each_dead_letter_once(
    tansu: TansuBroker, outputs: Path, planned_topics: dict[str, Any], tmp_path: Path
) -> None:
    """The second run joins the ops group while the first moves: one of them holds the
    partition, the other is refused (or stops), and no record is copied by both."""
    producer = Producer({"bootstrap.servers": tansu.bootstrap, "acks": "all"})
    for index in range(CONCURRENT_DEAD_LETTERS):
        dead_letter(producer, "fulfilment.dead-letter", index)
    sent = [f"event-{i}" for i in range(CONCURRENT_DEAD_LETTERS)]
    stack = parse_outputs(json.loads(outputs.read_text()), "test")
    config = client_config(
        connection(stack, bootstrap=tansu.bootstrap, security="plaintext", environ={})
    )
    first_is_moving = threading.Event()
    results: dict[str, MoveResult | str] = {}

    def redrive(run: str) -> None:
        backend = KafkaBackend(stack, config, holds="fulfilment.dead-letter")
        try:
            with (tmp_path / f"{run}.jsonl").open("w") as stream:
                results[run] = move(
                    backend, backend.dead_letter_queue("fulfilment"),
                    backend.consumer_queue("fulfilment"), action="redrive", max_messages=None,
                    # 10 s of moving: the second run's join (a rebalance round, about 3 s)
                    # lands while the first moves, with room for a loaded CI machine.
                    rate=2, dry_run=False, audit=Audit(stream), stop=StopRequest(),
                    method="test", after_send=lambda _: first_is_moving.set(),
                )  # fmt: skip
        except EventInfraError as refusal:  # what `eventinfra dlq redrive` prints as error:
            results[run] = str(refusal)
        finally:
            backend.close()

    first = threading.Thread(target=redrive, args=("first",))
    first.start()
    assert first_is_moving.wait(15)
    second = threading.Thread(target=redrive, args=("second",))
    second.start()
    first.join(60)
    second.join(60)

    assert set(results) == {"first", "second"}
    # Which member the group gives the one partition is the broker's choice: the other run
    # is refused before moving anything, or stops after what it committed.
    why_not = {
        run: found if isinstance(found, str) else found.stopped
        for run, found in results.items()
        if isinstance(found, str) or found.stopped
    }
    assert len(why_not) == 1, results
    message = str(next(iter(why_not.values())))
    assert "`eventinfra dlq redrive` or `eventinfra dlq purge`" in message
    assert "Kafka consumer group 'eventinfra-ops'" in message
    moved = {run: found.moved for run, found in results.items() if isinstance(found, MoveResult)}
    assert sum(moved.values()) == CONCURRENT_DEAD_LETTERS

    retried = read_all(tansu, "fulfilment.retry", CONCURRENT_DEAD_LETTERS)
    ids = [dict(r.headers())["event-id"].decode() for r in retried]
    assert sorted(ids) == sorted(sent)  # every dead letter exactly once
    audited = [
        json.loads(line)["eventId"]
        for run in ("first", "second")
        for line in (tmp_path / f"{run}.jsonl").read_text().splitlines()
    ]
    assert sorted(audited) == sorted(sent)
