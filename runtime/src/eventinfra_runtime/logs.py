"""One structured JSON line per outcome, with the current trace."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from eventinfra_runtime import tracing

__all__ = ["log"]

_logger = logging.getLogger("eventinfra_runtime")


class _StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is now (Lambda and Kubernetes collect stdout)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stdout.write(record.getMessage() + "\n")
        sys.stdout.flush()


def _ensure_handler() -> None:
    if not _logger.handlers:
        _logger.addHandler(_StdoutHandler())
        _logger.setLevel(logging.INFO)
        # Lambda's root handler would print the line a second time, wrapped.
        _logger.propagate = False


def log(level: int, message: str, **fields: Any) -> None:
    """Write `{"level", "message", "timestamp", "trace_id", **fields}` as one JSON line."""
    _ensure_handler()
    record: dict[str, Any] = {
        "level": logging.getLevelName(level),
        "message": message,
        "timestamp": round(time.time(), 3),
    }
    trace = tracing.current()
    if trace is not None:
        record["trace_id"] = trace.trace_id
        record["span_id"] = trace.span_id
    record.update(fields)
    _logger.log(level, json.dumps(record, default=str, sort_keys=False))
