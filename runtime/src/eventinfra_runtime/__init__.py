"""eventinfra's runtime: publish only valid events and consume each one once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventinfra_runtime.envelope import ReceivedEvent
from eventinfra_runtime.errors import (
    ConfigurationError,
    EventInfraRuntimeError,
    InvalidEventError,
    PublishError,
    UnknownEventTypeError,
)

if TYPE_CHECKING:
    from eventinfra_runtime.producer import Producer, publish

__all__ = [
    "ConfigurationError",
    "EventInfraRuntimeError",
    "InvalidEventError",
    "Producer",
    "PublishError",
    "ReceivedEvent",
    "UnknownEventTypeError",
    "publish",
]


def __getattr__(name: str) -> Any:
    # The producer pulls in jsonschema; `import eventinfra_runtime` alone stays cheap.
    if name in ("Producer", "publish"):
        from eventinfra_runtime import producer

        return getattr(producer, name)
    raise AttributeError(f"module 'eventinfra_runtime' has no attribute {name!r}")
