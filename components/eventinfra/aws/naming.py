"""Physical names, derived in one place so validation checks exactly what gets created."""

from __future__ import annotations

FIFO_SUFFIX = ".fifo"


def _fifo(name: str, fifo: bool) -> str:
    return name + FIFO_SUFFIX if fifo else name


def event_slug(event: str) -> str:
    """SNS and SQS names allow no '.', so `user.signup` becomes `user-signup`."""
    return event.replace(".", "-")


def topic_name(prefix: str, event: str, fifo: bool) -> str:
    return _fifo(f"{prefix}-{event_slug(event)}", fifo)


def queue_name(prefix: str, consumer: str, fifo: bool) -> str:
    return _fifo(f"{prefix}-{consumer}", fifo)


def dead_letter_queue_name(prefix: str, consumer: str, fifo: bool) -> str:
    return _fifo(f"{prefix}-{consumer}-dlq", fifo)


def parking_queue_name(prefix: str, event: str, fifo: bool) -> str:
    return _fifo(f"{prefix}-{event_slug(event)}-parking", fifo)


def function_name(prefix: str, consumer: str) -> str:
    return f"{prefix}-{consumer}"
