"""The producer validates before sending, names the wrong field, logs and counts it."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from conftest import SCHEMAS_DIR, events_json

from eventinfra_runtime import contract, tracing
from eventinfra_runtime.errors import InvalidEventError, UnknownEventTypeError
from eventinfra_runtime.producer import Producer


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str], str | None, str | None]] = []

    def send(
        self,
        event: contract.EventSettings,
        body: bytes,
        headers: Mapping[str, str],
        group_id: str | None,
        deduplication_id: str | None,
    ) -> None:
        self.sent.append((event.event_type, body, dict(headers), group_id, deduplication_id))

    def close(self) -> None:
        pass


def sns_producer(fifo_group: str | None = None) -> tuple[Producer, RecordingTransport]:
    config = contract.load(
        "sns-producer",
        {
            contract.BROKER: "sns",
            contract.SERVICE: "checkout-api",
            contract.EVENTS: events_json(
                {"order.placed": "arn:aws:sns:eu-west-1:1:orders"}, fifo_group
            ),
            contract.SCHEMAS_DIR: str(SCHEMAS_DIR),
        },
    )
    transport = RecordingTransport()
    return Producer(config, transport), transport


ORDER = {"eventType": "order.placed", "orderId": "o-1", "userId": "u-1", "totalCents": 1200}


def test_valid_event_carries_id_type_version_and_traceparent() -> None:
    producer, transport = sns_producer()
    event_id = producer.publish("order.placed", ORDER)
    [(event_type, body, headers, group, dedup)] = transport.sent
    assert json.loads(body) == ORDER and event_type == "order.placed"
    assert headers["event-id"] == event_id and headers["event-type"] == "order.placed"
    assert headers["schema-version"] == "1"
    assert tracing.child_of(headers["traceparent"]).trace_id in headers["traceparent"]
    assert (group, dedup) == (None, None)


def test_fifo_event_gets_group_from_payload_and_dedup_from_event_id() -> None:
    producer, transport = sns_producer(fifo_group="userId")
    event_id = producer.publish("order.placed", ORDER)
    assert transport.sent[0][3:] == ("u-1", event_id)


def test_publish_inside_a_handled_message_continues_its_trace() -> None:
    producer, transport = sns_producer()
    incoming = tracing.child_of("00-" + "ab" * 16 + "-" + "cd" * 8 + "-01")
    token = tracing.use(incoming)
    try:
        producer.publish("order.placed", ORDER)
    finally:
        tracing.reset(token)
    assert transport.sent[0][2]["traceparent"].startswith("00-" + "ab" * 16 + "-")


def test_invalid_event_raises_names_the_field_logs_and_emits_emf(
    capsys: pytest.CaptureFixture[str],
) -> None:
    producer, transport = sns_producer()
    with pytest.raises(InvalidEventError) as caught:
        producer.publish("order.placed", {**ORDER, "totalCents": -5})
    assert caught.value.field == "$.totalCents"
    assert transport.sent == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [log] = [line for line in lines if line.get("outcome") == "rejected-invalid"]
    assert log["field"] == "$.totalCents" and log["event_type"] == "order.placed"
    [emf] = [line for line in lines if "_aws" in line]
    assert emf["InvalidEvents"] == 1 and emf["EventType"] == "order.placed"
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "eventinfra"


def test_missing_required_field_is_named() -> None:
    producer, _ = sns_producer()
    payload = {k: v for k, v in ORDER.items() if k != "orderId"}
    with pytest.raises(InvalidEventError) as caught:
        producer.publish("order.placed", payload)
    assert caught.value.field == "$.orderId"


def test_unknown_event_type_is_refused() -> None:
    producer, _ = sns_producer()
    with pytest.raises(UnknownEventTypeError):
        producer.publish("user.signup", {})


def test_sns_filter_attributes_copy_the_named_payload_fields_by_type() -> None:
    from eventinfra_runtime.aws.publisher import filter_attributes

    event = contract.EventSettings(
        "order.placed",
        {},
        "1",
        "arn",
        fifo=False,
        group_key=None,
        attributes=("plan", "total", "ratio", "tags", "vip", "missing", "empty", "nested", "none"),
    )
    payload = {
        "plan": "pro",
        "total": 42,
        "ratio": 1e-7,
        "tags": ["a", "b"],
        "vip": True,
        "empty": "",
        "nested": {"a": 1},
        "none": None,
        "other": "not named",
    }
    assert filter_attributes(event, payload) == {
        "plan": {"DataType": "String", "StringValue": "pro"},
        "total": {"DataType": "Number", "StringValue": "42"},
        "ratio": {"DataType": "Number", "StringValue": "0.0000001"},
        "tags": {"DataType": "String.Array", "StringValue": '["a", "b"]'},
        "vip": {"DataType": "String.Array", "StringValue": "[true]"},
    }
