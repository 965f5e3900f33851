"""`idempotency.key` is refused unless it is a JMESPath expression, and what the loader accepts
is what the runtime (like Powertools on Lambda) evaluates: the same library, the same value."""

from __future__ import annotations

import pytest
from eventinfra_runtime.idempotency_key import identity

from eventinfra.idempotency_key import idempotency_key_problem

HINT = "quote names with '-' in them, like `\"order-id\"`"


@pytest.mark.parametrize(
    ("key", "where"),
    [
        ("a-b", "invalid at column 2"),
        ("order-id", "invalid at column 6"),
        ("items[?", "invalid at column 8"),
        ("user..id", "invalid at column 6"),
        ("orders[0", "invalid at column 9"),
        ('"order-id', "invalid at column 1"),
        ("a & b", "invalid at column 3"),
    ],
)
def test_a_key_that_is_no_jmespath_expression_is_refused(key: str, where: str) -> None:
    assert idempotency_key_problem(key) == (
        f"expected a JMESPath expression like `orderId` or `order.id` ({where}; {HINT})"
    )


@pytest.mark.parametrize("key", ["", " ", "\t"])
def test_an_empty_key_is_refused(key: str) -> None:
    assert idempotency_key_problem(key) == (
        "expected a JMESPath expression like `orderId` or `order.id`, not an empty one"
    )


PAYLOAD = {"orderId": "o-1", "order": {"id": 7}, "order-id": "q-9", "items": [{"sku": "s-3"}]}


@pytest.mark.parametrize(
    ("key", "identity_found"),
    [
        ("orderId", "o-1"),
        ("order.id", "7"),
        ('"order-id"', "q-9"),
        ("items[0].sku", "s-3"),
        ("order", '{"id":7}'),
    ],
)
def test_an_accepted_key_is_what_the_runtime_reads(key: str, identity_found: str) -> None:
    assert idempotency_key_problem(key) is None
    assert identity(key, "order.placed", PAYLOAD, "event-1") == identity_found
