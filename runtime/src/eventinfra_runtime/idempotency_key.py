"""The identity an idempotency record is kept under: the topology's key, read as Powertools does."""

from __future__ import annotations

import json
from typing import Any

import jmespath

from eventinfra_runtime.errors import InvalidEventError


def identity(expression: str | None, event_type: str, payload: Any, event_id: str) -> str:
    """The value at `expression` (a JMESPath expression, as Powertools' `event_key_jmespath`
    reads it on Lambda), else the event id when the topology names no key.

    A payload with no value there is invalid: keeping every such event under one shared record
    would make each of them a "duplicate" of the first, and drop it.
    """
    if not expression:
        return event_id
    value = jmespath.search(expression, payload)
    if value is None or value in ("", [], {}):
        raise InvalidEventError(event_type, expression, "it has no value for the idempotency key")
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
