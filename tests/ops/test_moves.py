"""The move loop against an in-memory broker: the SQS move-task path, errors mid-way, layering."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

from eventinfra.errors import EventInfraError
from eventinfra.ops.model import InHand, MoveTask, QueueRef, QueueStat
from eventinfra.ops.moves import Audit, StopRequest, move, redrive_with_task
from eventinfra.ops.sqs import MoveTaskStatus
from tests.support import REPOSITORY

SOURCE, DESTINATION = QueueRef("orders DLQ", "dlq", "arn:dlq"), QueueRef("orders", "q", "arn:q")


class MemoryBroker:
    """Queues as lists; `fail_send_at` makes the n-th send raise like a lost connection."""

    def __init__(self, messages: int, fail_send_at: int | None = None) -> None:
        self.queues: dict[str, list[str]] = {"dlq": [f"e{i}" for i in range(messages)], "q": []}
        self.held: list[str] = []
        self.sends = 0
        self.fail_send_at = fail_send_at
        self.task_polls: list[MoveTaskStatus] = []
        self.cancelled = False

    def dead_letter_queue(self, consumer: str) -> QueueRef:
        return SOURCE

    def consumer_queue(self, consumer: str) -> QueueRef:
        return DESTINATION

    def parking_queue(self, event: str) -> QueueRef:
        raise NotImplementedError

    def stats(self, consumer: str, queue: QueueRef) -> QueueStat:
        raise NotImplementedError

    def depth(self, queue: QueueRef) -> int:
        return len(self.queues[queue.address])

    def take(self, queue: QueueRef, count: int, hold_seconds: int) -> list[InHand]:
        taken = self.queues[queue.address][:count]
        del self.queues[queue.address][:count]
        self.held += taken
        return [
            InHand(b"{}", {}, e, "order.placed", None, 1, None, e, extra={"queue": queue})
            for e in taken
        ]

    def send(self, message: InHand, destination: QueueRef) -> None:
        self.sends += 1
        if self.sends == self.fail_send_at:
            raise EventInfraError("The connection was lost.")
        self.queues[destination.address].append(str(message.event_id))

    def settle(self, message: InHand) -> None:
        self.held.remove(message.handle)

    def release(self, messages: Sequence[InHand]) -> None:
        for message in messages:
            self.held.remove(message.handle)
            self.queues[message.extra["queue"].address].append(message.handle)

    def purge(self, queue: QueueRef) -> int:
        raise NotImplementedError

    def close(self) -> None:
        pass

    # SQS's move task, scripted
    def start_move_task(
        self, source: QueueRef, destination: QueueRef, rate: float | None
    ) -> MoveTask:
        return MoveTask("handle-1", source, destination)

    def move_task_status(self, task: MoveTask) -> MoveTaskStatus:
        return self.task_polls.pop(0)

    def cancel_move_task(self, task: MoveTask) -> None:
        self.cancelled = True


def run_move(broker: MemoryBroker, **kwargs: object) -> tuple[object, list[dict[str, object]]]:
    stream = io.StringIO()
    options: dict[str, object] = {
        "action": "redrive", "max_messages": None, "rate": None, "dry_run": False,
        "audit": Audit(stream), "stop": StopRequest(), "method": "test", **kwargs,
    }  # fmt: skip
    result = move(broker, SOURCE, DESTINATION, **options)  # type: ignore[arg-type]
    return result, [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_error_mid_way_stops_the_move_and_returns_what_was_in_hand() -> None:
    broker = MemoryBroker(25, fail_send_at=13)

    result, audit = run_move(broker)

    assert result.moved == 12  # type: ignore[attr-defined]
    assert result.stopped == "The connection was lost."  # type: ignore[attr-defined]
    assert broker.held == []
    assert sorted(broker.queues["dlq"] + broker.queues["q"]) == sorted(f"e{i}" for i in range(25))
    assert len(audit) == 12


def test_max_bounds_the_move_across_batches() -> None:
    broker = MemoryBroker(25)

    result, audit = run_move(broker, max_messages=13)

    assert (result.moved, len(broker.queues["dlq"]), len(audit)) == (13, 12, 13)  # type: ignore[attr-defined]


def test_the_move_task_is_audited_per_task_and_cancelled_on_stop() -> None:
    broker = MemoryBroker(0)
    broker.task_polls = [
        MoveTaskStatus({"Status": "RUNNING", "ApproximateNumberOfMessagesMoved": 3}),
        MoveTaskStatus({"Status": "CANCELLED", "ApproximateNumberOfMessagesMoved": 5}),
    ]
    stop = StopRequest()
    stop.request("interrupted (Ctrl-C)")
    stream = io.StringIO()

    result = redrive_with_task(
        broker, SOURCE, DESTINATION, rate=None, audit=Audit(stream), stop=stop, poll_seconds=0
    )

    assert result is not None
    assert (result.moved, result.stopped, result.method) == (
        5,
        "interrupted (Ctrl-C)",
        "sqs-message-move-task",
    )
    assert broker.cancelled
    actions = [json.loads(line)["action"] for line in stream.getvalue().splitlines()]
    assert actions == ["redrive-task-started", "redrive-task-ended"]


def test_ops_imports_no_component_backend_but_the_naming_rules() -> None:
    package = REPOSITORY / "components" / "eventinfra" / "ops"
    imported = {
        line.split()[1]
        for path in package.glob("*.py")
        for line in path.read_text().splitlines()
        if line.startswith(("from eventinfra", "import eventinfra"))
    }
    assert {
        name for name in imported if name.startswith(("eventinfra.aws", "eventinfra.rabbitmq"))
    } == {
        "eventinfra.rabbitmq"  # `from eventinfra.rabbitmq import naming`: names only
    }
