"""W3C trace context: continue the incoming `traceparent`, or start a trace."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["TraceContext", "child_of", "current", "use"]

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


_current: ContextVar[TraceContext | None] = ContextVar("eventinfra_trace", default=None)


def current() -> TraceContext | None:
    return _current.get()


def use(context: TraceContext | None) -> object:
    """Make `context` current (a message being handled); returns the token to reset it."""
    return _current.set(context)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def child_of(traceparent: str | None) -> TraceContext:
    """A new span in the incoming trace; a new trace when the header is missing or malformed."""
    parent = _TRACEPARENT.match(traceparent or "")
    if parent is None or parent.group(1) == "0" * 32:
        return TraceContext(secrets.token_hex(16), secrets.token_hex(8))
    return TraceContext(parent.group(1), secrets.token_hex(8), parent.group(3))


def for_publish() -> TraceContext:
    """The context an outgoing event carries: a child of the current one, if any."""
    parent = current()
    return child_of(parent.traceparent if parent else None)
