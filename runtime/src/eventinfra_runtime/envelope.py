"""The message attributes / headers every event carries, and reading them back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from eventinfra_runtime import tracing

__all__ = [
    "EVENT_ID",
    "EVENT_TYPE",
    "REJECTION_REASON",
    "SCHEMA_VERSION",
    "TRACEPARENT",
    "ReceivedEvent",
]

# SNS/SQS message attribute names and AMQP header names (the same on both brokers).
EVENT_ID: Final = "event-id"
EVENT_TYPE: Final = "event-type"
SCHEMA_VERSION: Final = "schema-version"
TRACEPARENT: Final = "traceparent"
# Set on a message the runtime moved to a dead-letter queue itself (SQS poison messages).
REJECTION_REASON: Final = "eventinfra-rejection-reason"


@dataclass(frozen=True)
class ReceivedEvent:
    """What a consumer's handler gets: the validated payload and its envelope."""

    event_id: str
    event_type: str
    schema_version: str
    payload: Mapping[str, Any]
    attempt: int
    trace: tracing.TraceContext
    message_id: str


def encode(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
