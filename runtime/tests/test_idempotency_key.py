"""The idempotency key is read as the topology documents it: a JMESPath expression."""

from __future__ import annotations

from typing import Any

import pytest

from eventinfra_runtime.errors import InvalidEventError
from eventinfra_runtime.idempotency_key import identity


@pytest.mark.parametrize(
    ("expression", "payload", "expected"),
    [
        (None, {"orderId": "o-1"}, "event-1"),
        ("orderId", {"orderId": "o-1"}, "o-1"),
        ("order.id", {"order": {"id": "o-2"}}, "o-2"),
        ("[customerId, orderId]", {"customerId": "c", "orderId": 7}, '["c",7]'),
        ("amount", {"amount": 12}, "12"),
    ],
)
def test_the_identity_is_the_value_at_the_expression(
    expression: str | None, payload: dict[str, Any], expected: str
) -> None:
    assert identity(expression, "order.placed", payload, "event-1") == expected


@pytest.mark.parametrize("payload", [{}, {"orderId": None}, {"orderId": ""}, {"other": "x"}])
def test_a_payload_without_the_key_is_invalid_not_a_shared_record(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventError) as raised:
        identity("orderId", "order.placed", payload, "event-1")
    assert (raised.value.field, raised.value.reason) == (
        "orderId",
        "it has no value for the idempotency key",
    )
