"""`idempotency.key`: a JMESPath expression over the payload, parsed the way handlers read it."""

from __future__ import annotations

from typing import Any

import jmespath
import jmespath.exceptions


def idempotency_key_problem(key: str) -> str | None:
    """Why `key` is not a usable JMESPath expression, or None. Handlers evaluate it with
    `jmespath.search(key, payload)` (functions/welcome_email, examples/orders-service)."""
    if not key.strip():
        return "expected a JMESPath expression like `orderId` or `order.id`, not an empty one"
    try:
        jmespath.compile(key)
    except jmespath.exceptions.JMESPathError as error:
        position = getattr(error, "lex_position", None)
        where = f"invalid at column {position + 1}" if position is not None else "incomplete"
        return (
            f"expected a JMESPath expression like `orderId` or `order.id` ({where}; quote "
            "names with '-' in them, like `\"order-id\"`)"
        )
    return None


def idempotency_key_value(key: str, payload: Any) -> Any:
    """What identifies `payload`: the value at `key`; a payload without it is an error."""
    value = jmespath.search(key, payload)
    if value is None:
        raise KeyError(f"the payload has no value at the idempotency key {key!r}")
    return value
