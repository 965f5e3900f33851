"""Alarm thresholds and the idempotency record lifetime given to the AWS components directly
(from another language, or untyped Python) are whole numbers in range, or refused at their arg."""

from __future__ import annotations

from typing import Any

import pytest

from eventinfra import EventConsumer
from eventinfra.check.synth import record
from tests.aws.test_contract import consumer, function, problems, refused
from tests.aws.test_hostile_values import lambda_consumer


def lambda_args(**overrides: Any) -> dict[str, Any]:
    return {"runtime": "lambda", "lambda_function": function(**overrides)}


@pytest.mark.parametrize("seconds", [900.5, 59, 1_209_601, True, "900"])
def test_a_queue_age_alarm_out_of_range_is_refused(seconds: object) -> None:
    error, graph = refused(
        lambda: EventConsumer("orders", consumer(queue_age_alarm_seconds=seconds))
    )
    assert problems(error) == [
        (
            "EventConsumer 'orders' args.queue_age_alarm_seconds",
            "expected an integer from 60 to 1209600 (seconds, within SQS retention: an older "
            f"message has already expired), found {seconds!r}.",
        )
    ]
    assert graph.resources == []


@pytest.mark.parametrize("threshold", [1.5, 0, True, 1_000_001])
def test_an_errors_threshold_out_of_range_is_refused_on_the_consumer(threshold: object) -> None:
    error, _ = refused(
        lambda: EventConsumer("orders", consumer(**lambda_args(errors_threshold=threshold)))
    )
    assert problems(error) == [
        (
            "EventConsumer 'orders' args.lambda_function.errors_threshold",
            "expected an integer from 1 to 1000000 (failed invocations per alarm period, a "
            f"count), found {threshold!r}.",
        )
    ]


def test_an_errors_threshold_out_of_range_is_refused_on_the_lambda_consumer() -> None:
    error, _ = refused(lambda: lambda_consumer(errors_threshold=2.5))
    assert problems(error) == [
        (
            "LambdaConsumer 'orders' args.errors_threshold",
            "expected an integer from 1 to 1000000 (failed invocations per alarm period, a "
            "count), found 2.5.",
        )
    ]


@pytest.mark.parametrize("ttl", [7200.5, 0, 31_536_001, "3600", False])
def test_an_idempotency_ttl_out_of_range_is_refused(ttl: object) -> None:
    idempotency = {"table_name": "dev-orders-idempotency", "ttl_seconds": ttl}
    error, graph = refused(lambda: EventConsumer("orders", consumer(idempotency=idempotency)))
    assert problems(error) == [
        (
            "EventConsumer 'orders' args.idempotency.ttl_seconds",
            "expected an integer from 1 to 31536000 (whole seconds, at most one year; DynamoDB "
            f"TTL reads epoch seconds), found {ttl!r}.",
        )
    ]
    assert graph.resources == []


def test_an_unknown_idempotency_key_is_refused_not_ignored() -> None:
    idempotency = {"table_name": "dev-orders-idempotency", "ttl": 60}
    error, _ = refused(lambda: EventConsumer("orders", consumer(idempotency=idempotency)))
    ((key_path, message),) = problems(error)
    assert key_path == "EventConsumer 'orders' args.idempotency.ttl"
    assert message == (
        "is not a known key of ConsumerIdempotencyArgs; expected one of: key, table_name, "
        "ttl_seconds."
    )


def test_the_bounds_themselves_reach_the_alarms_and_the_function() -> None:
    def build() -> None:
        EventConsumer(
            "orders",
            consumer(
                queue_age_alarm_seconds=1_209_600,
                idempotency={"table_name": "dev-orders-idempotency", "ttl_seconds": 31_536_000},
                **lambda_args(errors_threshold=1),
            ),
        )

    graph = record(build)
    assert graph.named("orders-age-alarm").inputs["threshold"] == 1_209_600
    assert graph.named("orders-errors-alarm").inputs["threshold"] == 1
    environment = graph.named("orders-function").inputs["environment"]["variables"]
    assert environment["EVENTINFRA_IDEMPOTENCY_TTL_SECONDS"] == "31536000"


def test_a_lambda_consumer_takes_an_errors_threshold_of_one() -> None:
    graph = record(lambda: lambda_consumer(errors_threshold=1))
    assert graph.named("orders-errors-alarm").inputs["threshold"] == 1
