"""Moving messages safely: send, then delete; bounded, rate-limited, audited, stoppable."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any, Final, Literal

from eventinfra.errors import EventInfraError
from eventinfra.ops.model import Backend, InHand, QueueRef

__all__ = [
    "Audit",
    "MoveResult",
    "StopRequest",
    "move",
    "peek",
    "redrive_with_task",
    "stop_on_interrupt",
]

Action = Literal["redrive", "replay"]
BATCH: Final = 10
# How long SQS hides a batch in hand: enough to send and delete it at the slowest rate asked
# for. Should it lapse, the message reappears and is moved again: a duplicate, not a loss.
HOLD_MARGIN_SECONDS: Final = 60
PEEK_HOLD_SECONDS: Final = 30
TASK_POLL_SECONDS: Final = 2.0


class StopRequest:
    """Set by Ctrl-C (or a test); the move loop finishes the message in flight, then stops."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when a stop was requested meanwhile."""
        return self._event.wait(seconds) if seconds > 0 else self.requested


@contextmanager
def stop_on_interrupt(stop: StopRequest) -> Iterator[StopRequest]:
    """The first SIGINT requests a clean stop; a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        stop.request("interrupted (Ctrl-C)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


class Audit:
    """One JSON line per message moved: event id, from, to, time; flushed and synced each."""

    def __init__(self, stream: IO[str], *, sync: bool = False) -> None:
        self.stream = stream
        self.sync = sync

    @classmethod
    @contextmanager
    def to_file(cls, path: Path) -> Iterator[Audit]:
        try:
            stream = path.open("a", encoding="utf-8")
        except OSError as error:
            raise EventInfraError(
                f"Cannot open the audit file {path}: {error.strerror or error}."
            ) from None
        with stream:
            yield cls(stream, sync=True)

    def record(self, entry: dict[str, Any]) -> None:
        line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        self.stream.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.stream.flush()
        if self.sync:
            os.fsync(self.stream.fileno())

    def message(
        self, action: str, message: InHand, source: QueueRef, destination: QueueRef
    ) -> None:
        self.record(
            {
                "action": action,
                "eventId": message.event_id,
                "eventType": message.event_type,
                "from": source.label,
                "fromQueue": source.address,
                "to": destination.label,
                "toQueue": destination.address,
            }
        )


@dataclass
class MoveResult:
    action: str
    source: QueueRef
    destination: QueueRef
    method: str
    dry_run: bool = False
    planned: int | None = None
    moved: int = 0
    stopped: str | None = None
    """Why the move ended early; None when it finished."""
    notes: list[str] = field(default_factory=list)
    would_move: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.stopped is None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "from": {"label": self.source.label, "queue": self.source.address},
            "to": {"label": self.destination.label, "queue": self.destination.address},
            "method": self.method,
            "dryRun": self.dry_run,
            "planned": self.planned,
            "moved": self.moved,
            "complete": self.complete,
            "stopped": self.stopped,
            "notes": self.notes,
            **({"wouldMove": self.would_move} if self.dry_run else {}),
        }


class RateLimit:
    """At most `rate` messages per second, spaced evenly; waits end early on a stop."""

    def __init__(self, rate: float | None, stop: StopRequest) -> None:
        self.interval = 1 / rate if rate else 0.0
        self.stop = stop
        self.next_start = time.monotonic()

    def wait(self) -> bool:
        """False when a stop came while waiting."""
        if self.interval:
            delay = self.next_start - time.monotonic()
            if self.stop.wait(delay):
                return False
            self.next_start = max(self.next_start, time.monotonic()) + self.interval
        return not self.stop.requested


def peek(backend: Backend, queue: QueueRef, max_messages: int) -> list[InHand]:
    """Up to `max_messages` messages, read and then made visible / ready again."""
    seen: list[InHand] = []
    try:
        while len(seen) < max_messages:
            batch = backend.take(queue, min(BATCH, max_messages - len(seen)), PEEK_HOLD_SECONDS)
            if not batch:
                break
            seen.extend(batch)
    finally:
        if seen:
            backend.release(seen)
    return seen


def move(
    backend: Backend,
    source: QueueRef,
    destination: QueueRef,
    *,
    action: Action,
    max_messages: int | None,
    rate: float | None,
    dry_run: bool,
    audit: Audit,
    stop: StopRequest,
    method: str,
    progress: Callable[[int, int | None], None] | None = None,
    after_send: Callable[[InHand], None] | None = None,
) -> MoveResult:
    """Send each message to `destination`, then delete it from `source`, one at a time.

    A crash between the two leaves the message in both queues (a duplicate, which idempotent
    consumers absorb); no order of failures loses one. Errors before the first message raise;
    errors later end the move with `stopped` set, and what is in hand goes back to `source`.
    """
    depth = backend.depth(source)
    planned = depth if max_messages is None else min(depth, max_messages)
    result = MoveResult(action, source, destination, method, dry_run=dry_run, planned=planned)
    if dry_run:
        would = peek(backend, source, planned)
        result.would_move = [m.summary() for m in would]
        for message in would:
            audit.message(f"would-{action}", message, source, destination)
        return result
    # Fail before the first message when the destination is wrong.
    backend.depth(destination)
    if progress:
        progress(0, planned)
    limit = RateLimit(rate, stop)
    hold = HOLD_MARGIN_SECONDS + (math.ceil(BATCH / rate) if rate else 0)
    in_hand: list[InHand] = []
    try:
        while max_messages is None or result.moved < max_messages:
            if stop.requested:
                break
            remaining = BATCH if max_messages is None else max_messages - result.moved
            in_hand = backend.take(source, min(BATCH, remaining), hold)
            if not in_hand:
                break
            while in_hand:
                if not limit.wait():
                    break
                message = in_hand[0]
                backend.send(message, destination)
                if after_send is not None:
                    after_send(message)
                backend.settle(message)
                in_hand.pop(0)
                result.moved += 1
                audit.message(action, message, source, destination)
                if progress:
                    progress(result.moved, planned)
    except EventInfraError as error:
        result.stopped = str(error)
    # Not in a `finally`: after a crash (any other exception) nothing is touched, as after a
    # real one; SQS shows the messages again after `hold`, RabbitMQ when the connection closes.
    if in_hand:
        _release_quietly(backend, in_hand, result)
    if result.stopped is None and stop.requested:
        result.stopped = stop.reason
    return result


def _release_quietly(backend: Backend, in_hand: list[InHand], result: MoveResult) -> None:
    try:
        backend.release(in_hand)
    except EventInfraError as error:
        result.notes.append(f"{len(in_hand)} messages not returned at once ({error})")


def redrive_with_task(
    backend: Any,
    source: QueueRef,
    destination: QueueRef,
    *,
    rate: float | None,
    audit: Audit,
    stop: StopRequest,
    progress: Callable[[int, int | None], None] | None = None,
    poll_seconds: float = TASK_POLL_SECONDS,
) -> MoveResult | None:
    """SQS's own StartMessageMoveTask; None where the service does not offer it."""
    planned = backend.depth(source)
    task = backend.start_move_task(source, destination, rate)
    if task is None:
        return None
    result = MoveResult("redrive", source, destination, "sqs-message-move-task", planned=planned)
    audit.record(
        {
            "action": "redrive-task-started",
            "taskHandle": task.handle,
            "from": source.label,
            "fromQueue": source.address,
            "to": destination.label,
            "toQueue": destination.address,
            "approximateMessages": planned,
        }
    )
    cancelled = False
    while True:
        status = backend.move_task_status(task)
        result.moved = status.moved
        if progress:
            progress(status.moved, status.to_move if status.to_move is not None else planned)
        if status.finished:
            break
        if stop.wait(poll_seconds) and not cancelled:
            backend.cancel_move_task(task)
            cancelled = True
    if status.status == "FAILED":
        result.stopped = f"the message move task failed: {status.failure or 'no reason given'}"
    elif status.status == "CANCELLED":
        result.stopped = stop.reason or "the message move task was cancelled"
    audit.record(
        {
            "action": "redrive-task-ended",
            "taskHandle": task.handle,
            "status": status.status,
            "from": source.label,
            "to": destination.label,
            "approximateMessagesMoved": status.moved,
        }
    )
    result.notes.append(
        "SQS moved the messages itself: the audit has one line per task, not per message."
    )
    return result
