"""What both broker backends hand the ops commands: queues, messages in hand, queue depths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

__all__ = [
    "EVENT_ID",
    "EVENT_TYPE",
    "REJECTION_REASON",
    "SCHEMA_VERSION",
    "TRACEPARENT",
    "Backend",
    "InHand",
    "MoveTask",
    "QueueRef",
    "QueueStat",
]

# The runtime's message attribute / header names (runtime/CONTRACT.md; a test keeps them equal
# to eventinfra_runtime.envelope's): the components package does not depend on the runtime.
EVENT_ID: Final = "event-id"
EVENT_TYPE: Final = "event-type"
SCHEMA_VERSION: Final = "schema-version"
TRACEPARENT: Final = "traceparent"
REJECTION_REASON: Final = "eventinfra-rejection-reason"


@dataclass(frozen=True)
class QueueRef:
    """One queue: the name users know it by (consumer or event) and the broker's address."""

    label: str
    """`orders` (a consumer's queue), `orders DLQ`, `invoice.paid parking`."""
    address: str
    """An SQS queue URL, or a RabbitMQ queue name."""
    arn: str | None = None
    """SQS only: what StartMessageMoveTask needs."""


@dataclass(frozen=True)
class QueueStat:
    consumer: str
    queue: QueueRef
    messages: int
    """Messages waiting (SQS: visible; RabbitMQ: ready)."""
    in_flight: int | None
    """SQS: received, not yet deleted; RabbitMQ: not known over AMQP (None)."""
    oldest_age_seconds: float | None
    age_source: str | None
    """`cloudwatch`, `sample` (the oldest of up to 10 received) or `head` (RabbitMQ's head)."""


@dataclass
class InHand:
    """A message received from a queue and not yet deleted / acknowledged."""

    body: bytes
    attributes: Mapping[str, str]
    """The message attributes (SQS) or headers (AMQP) as text, for display and audit."""
    event_id: str | None
    event_type: str | None
    reason: str | None
    """Why it was dead-lettered: the runtime's rejection reason, or the broker's own reason."""
    deliveries: int | None
    sent_at: datetime | None
    handle: Any
    """The receipt handle (SQS) or delivery tag (AMQP)."""
    native: Any = None
    """What the backend needs to send a faithful copy (SQS attributes, AMQP properties)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        body = self.body.decode("utf-8", errors="replace")
        return {
            "eventId": self.event_id,
            "eventType": self.event_type,
            "reason": self.reason,
            "deliveries": self.deliveries,
            "sentAt": self.sent_at.isoformat() if self.sent_at else None,
            "attributes": dict(self.attributes),
            "body": body,
        }


@dataclass(frozen=True)
class MoveTask:
    """An SQS message move task the service runs itself."""

    handle: str
    source: QueueRef
    destination: QueueRef


class Backend(Protocol):
    """The broker operations every ops command is made of."""

    def dead_letter_queue(self, consumer: str) -> QueueRef: ...

    def consumer_queue(self, consumer: str) -> QueueRef: ...

    def parking_queue(self, event: str) -> QueueRef: ...

    def stats(self, consumer: str, queue: QueueRef) -> QueueStat: ...

    def depth(self, queue: QueueRef) -> int: ...

    def take(self, queue: QueueRef, count: int, hold_seconds: int) -> list[InHand]:
        """Up to `count` messages, hidden from other readers until settled or released.

        SQS hides them for `hold_seconds` (then they reappear: a duplicate, never a loss);
        RabbitMQ holds them unacknowledged until settled, released or the connection closes.
        """
        ...

    def send(self, message: InHand, destination: QueueRef) -> None:
        """A faithful copy to `destination`, confirmed by the broker before this returns."""
        ...

    def settle(self, message: InHand) -> None:
        """Delete / acknowledge: only after `send` returned."""
        ...

    def release(self, messages: Sequence[InHand]) -> None:
        """Make them visible / ready again, unchanged."""
        ...

    def purge(self, queue: QueueRef) -> int: ...

    def close(self) -> None: ...
