"""The Kafka producer's librdkafka settings and record keys, with a recording client."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from eventinfra_runtime import contract
from eventinfra_runtime.errors import PublishError
from eventinfra_runtime.kafka import publisher
from eventinfra_runtime.producer import producer_from_environment


class RecordingProducer:
    """confluent_kafka.Producer's produce/flush, acknowledging unless told to lose a record."""

    instances: ClassVar[list[RecordingProducer]] = []

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.records: list[dict[str, Any]] = []
        self.unacknowledged = False
        RecordingProducer.instances.append(self)

    def produce(self, topic: str, **record: Any) -> None:
        self.records.append({"topic": topic, **record})

    def flush(self, timeout: float) -> int:
        return 1 if self.unacknowledged else 0


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[RecordingProducer]:
    RecordingProducer.instances = []
    monkeypatch.setattr(publisher, "Producer", RecordingProducer)
    return RecordingProducer.instances


def environment() -> dict[str, str]:
    schemas = {
        "order.placed": {"type": "object", "required": ["orderId", "userId"]},
        "user.signup": {"type": "object", "required": ["userId"]},
    }
    return {
        contract.BROKER: "kafka",
        contract.SERVICE: "checkout-api",
        contract.EVENTS: json.dumps(
            {
                # Ordered per user: the user id is the record key, so one partition keeps them.
                "order.placed": {
                    "destination": "order.placed",
                    "schema_version": "1",
                    "fifo": True,
                    "group_key": "userId",
                },
                "user.signup": {"destination": "user.signup", "schema_version": "1"},
            }
        ),
        contract.SCHEMAS: json.dumps(schemas),
        contract.KAFKA_BOOTSTRAP: "127.0.0.1:9",
        contract.KAFKA_SECURITY: "plaintext",
    }


def test_records_wait_for_every_in_sync_replica_and_are_keyed_by_group_else_event_id(
    recorded: list[RecordingProducer],
) -> None:
    producer = producer_from_environment(environment())
    ordered = producer.publish("order.placed", {"orderId": "o-1", "userId": "u-7"})
    unordered = producer.publish("user.signup", {"userId": "u-8"})

    (client,) = recorded
    assert client.config["acks"] == "all"
    assert client.config["enable.idempotence"] is True
    assert [(r["topic"], r["key"]) for r in client.records] == [
        ("order.placed", "u-7"),
        ("user.signup", unordered),
    ]
    assert dict(client.records[0]["headers"])["event-id"] == ordered


def test_an_unacknowledged_record_is_a_publish_error_naming_event_and_topic(
    recorded: list[RecordingProducer],
) -> None:
    producer = producer_from_environment(environment())
    recorded[0].unacknowledged = True
    with pytest.raises(PublishError, match=r"user\.signup .* on topic 'user\.signup'"):
        producer.publish("user.signup", {"userId": "u-8"})
