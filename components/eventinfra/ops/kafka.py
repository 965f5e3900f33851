"""The Kafka backend of the ops commands: the ops group's offsets, the retry topics."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, cast

from eventinfra.errors import EventInfraError
from eventinfra.ops.model import (
    EVENT_ID,
    EVENT_TYPE,
    REJECTION_REASON,
    InHand,
    QueueRef,
    QueueStat,
)
from eventinfra.ops.outputs import StackOutputs

__all__ = [
    "MOVE_METHOD",
    "REPLAY_REFUSAL",
    "KafkaBackend",
    "KafkaConnection",
    "client_config",
    "connection",
    "import_confluent_kafka",
]

INSTALL_HINT: Final = "pip install 'eventinfra[ops]'"
# The runtime's own variables (runtime/CONTRACT.md, role kafka-consumer): the same names let an
# operator reuse a consumer's environment, pointed at the ops user's Secret.
BOOTSTRAP_ENV: Final = "EVENTINFRA_KAFKA_BOOTSTRAP"
SECURITY_ENV: Final = "EVENTINFRA_KAFKA_SECURITY"
CREDENTIALS_DIR_ENV: Final = "EVENTINFRA_KAFKA_CREDENTIALS_DIR"
CA_FILE_ENV: Final = "EVENTINFRA_KAFKA_CA_FILE"
Security = Literal["tls", "scram-sha-512", "plaintext"]
SECURITY_MODES: Final = ("tls", "scram-sha-512", "plaintext")
SOURCE_HEADER: Final = "eventinfra-source"
"""The runtime's header with the dead-lettered record's `topic/partition/offset`."""
MOVE_METHOD: Final = "fetch-produce-commit"
TIMEOUT_SECONDS: Final = 10.0
# How long one `take` waits for records the end offsets say are there. Records can be fewer
# than the offsets (transaction markers, compaction): then the take ends with what it has.
TAKE_WAIT_SECONDS: Final = 5.0
POLL_SECONDS: Final = 0.2
# A mover (redrive, purge) is a member of the ops group. Kafka's smallest session timeout by
# default (group.min.session.timeout.ms): a killed mover's membership ends within it, so the next
# run is not refused for long; heartbeats every third of it, as Kafka advises.
SESSION_TIMEOUT_MS: Final = 6_000
HEARTBEAT_INTERVAL_MS: Final = 2_000
# Eager: every rebalance takes every partition away and gives them anew, fetched again from the
# committed offsets, so a mover never goes on from a position another member moved.
ASSIGNMENT_STRATEGY: Final = "range"
# How long a mover waits for the group to give it the dead-letter topic's partitions: a join
# round, a killed mover's session, another mover finishing the batch in hand.
JOIN_WAIT_SECONDS: Final = 30.0
REPLAY_REFUSAL: Final = (
    "`eventinfra replay` does not apply to a Kafka stack: an event's topic keeps every event "
    "for its retention whether or not a group reads it, and a consumer group added later "
    "starts at the earliest offset, so it reads them without a replay (docs/kafka.md)."
)


def import_confluent_kafka() -> Any:
    try:
        import confluent_kafka
    except ImportError:
        raise EventInfraError(
            "The Kafka commands need confluent-kafka, which is not installed: run "
            f"`{INSTALL_HINT}`."
        ) from None
    return confluent_kafka


@dataclass(frozen=True)
class KafkaConnection:
    """Where and how to connect, from flags, else the runtime's variables, else the stack."""

    bootstrap: str
    security: Security
    credentials_dir: Path | None
    ca_file: Path | None


def connection(
    outputs: StackOutputs,
    *,
    bootstrap: str | None = None,
    security: str | None = None,
    credentials_dir: Path | None = None,
    ca_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> KafkaConnection:
    env = os.environ if environ is None else environ
    chosen_bootstrap = bootstrap or env.get(BOOTSTRAP_ENV) or outputs.kafka_bootstrap or ""
    folder = credentials_dir or (
        Path(env[CREDENTIALS_DIR_ENV]) if env.get(CREDENTIALS_DIR_ENV) else None
    )
    ca = ca_file or (Path(env[CA_FILE_ENV]) if env.get(CA_FILE_ENV) else None)
    mode = security or env.get(SECURITY_ENV) or None
    if mode is None and folder is not None:
        # The Secret says which: Strimzi writes user.crt for TLS users, eventinfra writes
        # username and password for SCRAM users.
        mode = "tls" if (folder / "user.crt").is_file() else "scram-sha-512"
    if mode is None:
        where = (
            f"the ops user's Secret `{outputs.ops_secret}`"
            + (f" in namespace {outputs.namespace!r}" if outputs.namespace else "")
            if outputs.ops_secret
            else "the ops user's Secret"
        )
        raise EventInfraError(
            "Expected Kafka credentials: --kafka-credentials DIR (or "
            f"${CREDENTIALS_DIR_ENV}), a folder with the files of {where} (`user.crt` and "
            "`user.key` for TLS, `username` and `password` for SCRAM-SHA-512), and "
            "--kafka-ca FILE with the cluster CA; or --kafka-security plaintext for a broker "
            "without authentication."
        )
    if mode not in SECURITY_MODES:
        raise EventInfraError(
            f"The Kafka security mode must be one of {', '.join(SECURITY_MODES)}, but it is "
            f"{mode!r}."
        )
    problems = []
    if mode != "plaintext" and folder is None:
        problems.append(f"--kafka-security {mode} needs --kafka-credentials DIR")
    if mode == "tls" and ca is None:
        problems.append("--kafka-security tls needs --kafka-ca FILE (the cluster CA, `ca.crt`)")
    if problems:
        raise EventInfraError("; ".join(problems) + ".")
    return KafkaConnection(chosen_bootstrap, cast(Security, mode), folder, ca)


def client_config(chosen: KafkaConnection) -> dict[str, Any]:
    """librdkafka settings, as the runtime builds them (runtime/CONTRACT.md)."""
    config: dict[str, Any] = {"bootstrap.servers": chosen.bootstrap}
    folder = chosen.credentials_dir
    if chosen.security == "tls" and folder is not None:
        for name in ("user.crt", "user.key"):
            if not (folder / name).is_file():
                raise EventInfraError(
                    f"The Kafka credentials folder {folder} must hold `user.crt` and `user.key` "
                    f"(a TLS KafkaUser's Secret), but {name} is missing."
                )
        config |= {
            "security.protocol": "SSL",
            "ssl.ca.location": str(chosen.ca_file),
            "ssl.certificate.location": str(folder / "user.crt"),
            "ssl.key.location": str(folder / "user.key"),
        }
    elif chosen.security == "scram-sha-512" and folder is not None:
        username, password = _read(folder, "username"), _read(folder, "password")
        if not username or not password:
            raise EventInfraError(
                f"The Kafka credentials folder {folder} must hold the files `username` and "
                "`password` (a SCRAM-SHA-512 KafkaUser's Secret), but one is missing or empty."
            )
        config |= {
            "security.protocol": "SASL_SSL" if chosen.ca_file else "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": username,
            "sasl.password": password,
        }
        if chosen.ca_file:
            config["ssl.ca.location"] = str(chosen.ca_file)
    return config


def _read(folder: Path, name: str) -> str | None:
    try:
        return (folder / name).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class RecordHandle:
    topic: str
    partition: int
    offset: int


@dataclass
class Membership:
    """What the ops group gave this run; changed only by the rebalance callbacks, in `poll`."""

    assigned: frozenset[int] | None = None
    """The held topic's partitions this run was given; None while it waits for an assignment."""
    rebalances: int = 0
    held_all: bool = False
    """This run held every partition once: it is the mover, not a newcomer."""


class KafkaBackend:
    """Dead-letter topics read through the ops group; redrives written to retry topics.

    Kafka deletes nothing on read: how far the ops commands have taken a dead-letter topic is
    the ops group's committed offset on it. `settle` commits past a record only after `send`
    had it acknowledged by every in-sync replica of the retry topic (acks=all, idempotent
    producer), so a crash in between sends it again (a duplicate the consumer's idempotency
    absorbs), never loses it. A consumer's group is never touched.

    Readers (list, peek, a dry run) never join the ops group (`assign`, not `subscribe`), so
    they never rebalance a mover. A mover (`holds`: the dead-letter topic a redrive or purge
    changes the offsets of) joins it and works only while it holds every partition of that
    topic: a run not given them all on joining is refused, a mover whose partitions go to
    another stops after the batch it settled, and a commit by a member the group has fenced off
    fails. Two movers never copy the same record.
    """

    move_method: Final = MOVE_METHOD
    purge_keeps_records: Final = True

    def __init__(
        self,
        outputs: StackOutputs,
        config: Mapping[str, Any],
        *,
        holds: str | None = None,
        join_wait_seconds: float = JOIN_WAIT_SECONDS,
    ) -> None:
        kafka = import_confluent_kafka()
        self._kafka = kafka
        self.outputs = outputs
        self.group = outputs.ops_group or ""
        self.holds = holds
        self.join_wait_seconds = join_wait_seconds
        membership_settings = (
            {
                "session.timeout.ms": SESSION_TIMEOUT_MS,
                "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
                "partition.assignment.strategy": ASSIGNMENT_STRATEGY,
            }
            if holds is not None
            else {}
        )
        self.consumer = kafka.Consumer(
            {
                **membership_settings,
                **config,
                "group.id": self.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
            }
        )
        self.producer = kafka.Producer(
            {**config, "acks": "all", "enable.idempotence": True, "linger.ms": 0}
        )
        self._topic: str | None = None
        self._positions: dict[int, int] = {}
        self.membership = Membership()
        self._subscribed = False
        # Records a poll returned after a (re)assignment before a take wanted them: the fetcher
        # has gone past them, so dropping them would make a later commit skip them.
        self._pending: list[Any] = []
        self._stuck: str | None = None

    # --- where -----------------------------------------------------------------------------

    def dead_letter_queue(self, consumer: str) -> QueueRef:
        self.outputs.consumer(consumer)
        return QueueRef(f"{consumer} dead-letter topic", self.outputs.dead_letter_queues[consumer])

    def consumer_queue(self, consumer: str) -> QueueRef:
        self.outputs.consumer(consumer)
        return QueueRef(f"{consumer} retry topic", self.outputs.queues[consumer])

    def parking_queue(self, event: str) -> QueueRef:
        raise EventInfraError(REPLAY_REFUSAL)

    # --- offsets ---------------------------------------------------------------------------

    def _partitions(self, topic: str) -> list[int]:
        try:
            metadata = self.consumer.list_topics(topic, timeout=TIMEOUT_SECONDS)
        except self._kafka.KafkaException as error:
            raise EventInfraError(
                f"Kafka at {self._bootstrap()} did not answer for topic {topic!r}: {error.args[0]}."
            ) from None
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            reason = found.error.str() if found is not None and found.error else "no partitions"
            raise EventInfraError(
                f"Kafka topic {topic!r} cannot be read ({reason}): expected the topic the "
                f"stack's outputs ({self.outputs.source}) name, and the ops user's Describe "
                "ACL on it."
            )
        return sorted(found.partitions)

    def _bootstrap(self) -> str:
        return self.outputs.kafka_bootstrap or "the bootstrap address"

    def _ranges(self, topic: str) -> dict[int, tuple[int, int]]:
        """Partition -> (the ops group's position, the end offset)."""
        kafka = self._kafka
        partitions = [kafka.TopicPartition(topic, p) for p in self._partitions(topic)]
        try:
            committed = {
                tp.partition: tp.offset
                for tp in self.consumer.committed(partitions, timeout=TIMEOUT_SECONDS)
            }
            ranges = {}
            for tp in partitions:
                low, high = self.consumer.get_watermark_offsets(
                    tp, timeout=TIMEOUT_SECONDS, cached=False
                )
                # No commit yet: from the oldest record kept. A commit older than retention:
                # from the oldest kept too (the rest is gone).
                start = max(committed.get(tp.partition, -1), low)
                ranges[tp.partition] = (start, max(high, start))
        except kafka.KafkaException as error:
            raise EventInfraError(
                f"Kafka did not give the offsets of topic {topic!r} for group {self.group!r}: "
                f"{error.args[0]}."
            ) from None
        return ranges

    def depth(self, queue: QueueRef) -> int:
        # A mover's first call (redrive and purge count first): it joins here, so a refusal
        # comes before anything is moved or confirmed.
        if queue.address == self.holds:
            self._hold(queue.address)
        return sum(end - start for start, end in self._ranges(queue.address).values())

    def stats(self, consumer: str, queue: QueueRef) -> QueueStat:
        ranges = self._ranges(queue.address)
        oldest: float | None = None
        for partition, (start, end) in ranges.items():
            if end > start:
                head = self._read_at(queue.address, partition, start)
                if head is not None and head.sent_at is not None:
                    age = (datetime.now(UTC) - head.sent_at).total_seconds()
                    oldest = age if oldest is None else max(oldest, age)
        return QueueStat(
            consumer=consumer,
            queue=queue,
            messages=sum(end - start for start, end in ranges.values()),
            in_flight=None,
            oldest_age_seconds=oldest,
            age_source="head" if oldest is not None else None,
        )

    def _read_at(self, topic: str, partition: int, offset: int) -> InHand | None:
        self._topic = None  # the next take assigns afresh
        self.consumer.assign([self._kafka.TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + TAKE_WAIT_SECONDS
        while time.monotonic() < deadline:
            record = self.consumer.poll(POLL_SECONDS)
            if record is None:
                continue
            self._raise_for(record, topic)
            return self._in_hand(record)
        return None

    # --- moving ----------------------------------------------------------------------------

    def take(self, queue: QueueRef, count: int, hold_seconds: int) -> list[InHand]:
        """Up to `count` records from the ops group's position; nothing is committed here.

        `hold_seconds` has no meaning on Kafka: nothing is hidden from anyone, the position
        only moves on `settle`."""
        topic = queue.address
        if self._stuck is not None and topic == self.holds:
            raise EventInfraError(self._stuck)
        while True:
            if topic == self.holds:
                self._hold(topic)
            taken = self._take_once(topic, count)
            if taken is not None:
                return taken
            # A rebalance during the take: what it fetched is dropped, uncommitted; the
            # partitions come back (or not) fetched from the committed offsets.

    def _take_once(self, topic: str, count: int) -> list[InHand] | None:
        """None when a rebalance came in the middle."""
        holding = topic == self.holds
        rebalances = self.membership.rebalances
        ranges = self._ranges(topic)
        if self._topic != topic:
            self._positions = {p: start for p, (start, _) in ranges.items()}
            if holding:
                self._topic = topic  # the group's assignment fetches from the committed offsets
            else:
                self._assign(topic)
        # A partition added since the first take starts at the group's position.
        waiting = sum(
            max(end - self._positions.get(p, start), 0) for p, (start, end) in ranges.items()
        )
        wanted = min(count, waiting)
        taken: list[InHand] = []
        deadline = time.monotonic() + TAKE_WAIT_SECONDS
        while len(taken) < wanted and time.monotonic() < deadline:
            record = self._pending.pop(0) if self._pending else self.consumer.poll(POLL_SECONDS)
            if holding and self.membership.rebalances != rebalances:
                if record is not None:
                    self._pending.append(record)  # polled after the new assignment: keep it
                return None
            if record is None:
                continue
            self._raise_for(record, topic)
            if holding and record.partition() not in (self.membership.assigned or ()):
                continue
            if record.offset() < self._positions.get(record.partition(), 0):
                continue  # fetched before a release moved the position back
            self._positions[record.partition()] = record.offset() + 1
            taken.append(self._in_hand(record))
        return taken

    # --- the mover's membership of the ops group -------------------------------------------

    def _hold(self, topic: str) -> None:
        """Return once this run holds every partition of `topic`; else raise why not."""
        partitions = frozenset(self._partitions(topic))
        if not self._subscribed:
            self.consumer.subscribe(
                [topic],
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_revoke,
            )
            self._subscribed = True
        deadline = time.monotonic() + self.join_wait_seconds
        while True:
            held = self.membership.assigned
            if held is not None and held >= partitions:
                self.membership.held_all = True
                return
            if held is not None and not self.membership.held_all:
                raise EventInfraError(self._refusal(topic, len(held & partitions), len(partitions)))
            if held is not None and not held:
                raise EventInfraError(self._taken_over(topic))
            if time.monotonic() >= deadline:
                if self.membership.held_all:
                    raise EventInfraError(self._taken_over(topic))
                raise EventInfraError(
                    f"Kafka consumer group {self.group!r} gave this run no partition of "
                    f"{topic!r} within {self.join_wait_seconds:g} s: another `eventinfra dlq "
                    "redrive` or `eventinfra dlq purge` is probably running for it (or its "
                    "group coordinator does not answer); nothing was moved."
                )
            # Partly held after a rebalance: the other member was refused and leaves, then
            # the next rebalance gives this run everything again; or the deadline ends it.
            record = self.consumer.poll(POLL_SECONDS)
            if record is not None:
                self._raise_for(record, topic)
                self._pending.append(record)

    def _refusal(self, topic: str, given: int, partitions: int) -> str:
        return (
            f"Another `eventinfra dlq redrive` or `eventinfra dlq purge` is running for Kafka "
            f"consumer group {self.group!r}: the group gave this run {given} of the "
            f"{partitions} partition(s) of {topic!r}, so it moved nothing; run it again once "
            "the other has finished."
        )

    def _taken_over(self, topic: str) -> str:
        return (
            f"Another `eventinfra dlq redrive` or `eventinfra dlq purge` joined Kafka consumer "
            f"group {self.group!r} and took partitions of {topic!r} from this run: what it "
            "moved is committed, the rest is left for the next run."
        )

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self.membership.assigned = frozenset(
            tp.partition for tp in partitions if tp.topic == self.holds
        )
        self._changed()

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        self.membership.assigned = None
        self._changed()

    def _changed(self) -> None:
        self.membership.rebalances += 1
        # The (re)assigned partitions are fetched from the committed offsets again.
        self._pending.clear()
        self._topic = None

    def _assign(self, topic: str) -> None:
        self._topic = topic
        self.consumer.assign(
            [self._kafka.TopicPartition(topic, p, o) for p, o in sorted(self._positions.items())]
        )

    def _raise_for(self, record: Any, topic: str) -> None:
        if (
            record.error() is not None
            and record.error().code() == self._kafka.KafkaError._MAX_POLL_EXCEEDED
        ):
            raise EventInfraError(
                f"This run left Kafka consumer group {self.group!r} because it did not poll "
                f"{topic!r} within max.poll.interval.ms (a slow --rate); what it moved is "
                "committed, the rest is left for the next run."
            )
        if record.error() is not None:
            raise EventInfraError(f"Kafka refused to read topic {topic!r}: {record.error()}.")

    def _in_hand(self, record: Any) -> InHand:
        raw = list(record.headers() or [])
        text = {
            str(name): value.decode("utf-8", errors="replace")
            if isinstance(value, bytes)
            else str(value or "")
            for name, value in raw
        }
        kind, stamp = record.timestamp()
        sent_at = (
            datetime.fromtimestamp(stamp / 1000, UTC)
            if kind != self._kafka.TIMESTAMP_NOT_AVAILABLE and stamp >= 0
            else None
        )
        handle = RecordHandle(record.topic(), record.partition(), record.offset())
        return InHand(
            body=record.value() or b"",
            attributes=text,
            event_id=text.get(EVENT_ID),
            event_type=text.get(EVENT_TYPE),
            reason=text.get(REJECTION_REASON),
            deliveries=None,
            sent_at=sent_at,
            handle=handle,
            native={"key": record.key(), "headers": raw},
            extra={
                "source": text.get(SOURCE_HEADER),
                "record": f"{handle.topic}/{handle.partition}/{handle.offset}",
            },
        )

    def send(self, message: InHand, destination: QueueRef) -> None:
        """Key, value and headers as they are, acknowledged by every in-sync replica."""
        errors: list[Any] = []

        def delivered(error: Any, _record: Any) -> None:
            if error is not None:
                errors.append(error)

        try:
            self.producer.produce(
                destination.address,
                value=message.body,
                key=message.native["key"],
                headers=message.native["headers"],
                on_delivery=delivered,
            )
        except (self._kafka.KafkaException, BufferError) as error:
            raise EventInfraError(
                f"Kafka refused the copy of {message.extra['record']} for topic "
                f"{destination.address!r}: {error}."
            ) from None
        if self.producer.flush(TIMEOUT_SECONDS) or errors:
            found = errors[0] if errors else f"no acknowledgement within {TIMEOUT_SECONDS:g} s"
            raise EventInfraError(
                f"Kafka did not acknowledge the copy of {message.extra['record']} on topic "
                f"{destination.address!r} ({found}); it stays in the dead-letter topic."
            )

    def settle(self, message: InHand) -> None:
        """Commit the ops group's offset past the record: only after `send` returned."""
        handle: RecordHandle = message.handle
        offset = self._kafka.TopicPartition(handle.topic, handle.partition, handle.offset + 1)
        try:
            self.consumer.commit(offsets=[offset], asynchronous=False)
        except self._kafka.KafkaException as error:
            raise EventInfraError(
                f"Kafka did not commit group {self.group!r} past {message.extra['record']}: "
                f"{error.args[0]}; the record is sent again next time (a duplicate)."
            ) from None

    def release(self, messages: Sequence[InHand]) -> None:
        """Take them again next time: the position goes back; nothing was committed."""
        for message in messages:
            handle: RecordHandle = message.handle
            if handle.topic == self._topic:
                current = self._positions.get(handle.partition, handle.offset)
                self._positions[handle.partition] = min(current, handle.offset)
        if self._topic is None:
            return
        if self._topic != self.holds:
            self._assign(self._topic)
            return
        # A member must not reassign what the group gave it: it moves its fetch position back.
        self._pending.clear()
        try:
            for partition, offset in sorted(self._positions.items()):
                self.consumer.seek(self._kafka.TopicPartition(self._topic, partition, offset))
        except self._kafka.KafkaException as error:
            # The fetcher may be past the records in hand: a later take would skip them.
            self._stuck = (
                f"Kafka did not move group {self.group!r} back on {self.holds!r}: "
                f"{error.args[0]}; nothing was committed past the records in hand, so the "
                "next run takes them."
            )
            raise EventInfraError(self._stuck) from None

    def purge(self, queue: QueueRef) -> int:
        """Commit the ops group's offset to the end: the records stay until retention deletes
        them, but no `eventinfra dlq` command shows or redrives them again."""
        if queue.address == self.holds:
            self._hold(queue.address)
        ranges = self._ranges(queue.address)
        ends = [self._kafka.TopicPartition(queue.address, p, end) for p, (_, end) in ranges.items()]
        try:
            self.consumer.commit(offsets=ends, asynchronous=False)
        except self._kafka.KafkaException as error:
            raise EventInfraError(
                f"Kafka did not commit group {self.group!r} to the end of {queue.address!r}: "
                f"{error.args[0]}."
            ) from None
        self._topic = None
        return sum(end - start for start, end in ranges.values())

    def close(self) -> None:
        # No commit here: enable.auto.commit is off, so only `settle` and `purge` move the group.
        self.consumer.close()
        self.producer.flush(TIMEOUT_SECONDS)
