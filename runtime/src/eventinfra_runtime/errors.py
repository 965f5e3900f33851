"""The runtime's exceptions, all under one base class."""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "EventInfraRuntimeError",
    "InvalidEventError",
    "PublishError",
    "UnknownEventTypeError",
]


class EventInfraRuntimeError(Exception):
    """Base class of every error the runtime raises on purpose."""


class ConfigurationError(EventInfraRuntimeError, ValueError):
    """The injected environment variables or mounted files are missing or malformed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "The eventinfra runtime configuration is not usable: " + " ".join(problems)
        )


class UnknownEventTypeError(EventInfraRuntimeError, ValueError):
    """The event type is not one this process was configured for."""

    def __init__(self, event_type: str, known: list[str]) -> None:
        self.event_type = event_type
        super().__init__(
            f"Event type {event_type!r} is not configured for this process; "
            f"expected one of {sorted(known)!r} (see EVENTINFRA_EVENTS)."
        )


class InvalidEventError(EventInfraRuntimeError, ValueError):
    """A payload does not match its event's JSON Schema; `field` is the JSON path of the problem."""

    def __init__(self, event_type: str, field: str, reason: str) -> None:
        self.event_type = event_type
        self.field = field
        self.reason = reason
        super().__init__(f"Event {event_type!r} is invalid at {field!r}: {reason}.")


class PublishError(EventInfraRuntimeError):
    """The broker did not accept the event (no confirm, unroutable, or an API error)."""
