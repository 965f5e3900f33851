"""KafkaPublisher: validated events, `acks=all` and idempotence on, keyed by the event's key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from confluent_kafka import KafkaError, Message, Producer

from eventinfra_runtime import envelope
from eventinfra_runtime.errors import PublishError
from eventinfra_runtime.kafka.settings import KafkaSettings
from eventinfra_runtime.validation import validate

__all__ = ["KafkaPublisher"]

FLUSH_SECONDS: Final = 30.0


class KafkaPublisher:
    """Publishes to the topic named like the event; returns once every replica in sync has it.

    `enable.idempotence` makes librdkafka's retries produce no duplicates and keeps the order
    per partition; `acks=all` waits for `min.insync.replicas`. The record key (the payload's
    `key_field`, else the event id) picks the partition, so one entity's events stay in order.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        schemas: Mapping[str, Mapping[str, Any]],
        *,
        schema_version: str = "1",
        key_fields: Mapping[str, str] | None = None,
    ) -> None:
        self.schemas = schemas
        self.schema_version = schema_version
        self.key_fields = dict(key_fields or {})
        self.producer = Producer(
            {**settings.client_config(), "acks": "all", "enable.idempotence": True}
        )

    def publish(self, event_type: str, payload: Mapping[str, Any], topic: str | None = None) -> str:
        validate(event_type, self.schemas[event_type], payload)
        event_id = str(uuid.uuid4())
        field = self.key_fields.get(event_type)
        key = str(payload[field]) if field and field in payload else event_id
        self.send(topic or event_type, envelope.encode(payload), key, event_type, event_id)
        return event_id

    def send(self, topic: str, value: bytes, key: str, event_type: str, event_id: str) -> None:
        """Send raw bytes with the envelope headers and wait for the acknowledgement."""
        errors: list[KafkaError] = []

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                errors.append(error)

        self.producer.produce(
            topic,
            value=value,
            key=key,
            headers=[
                (envelope.EVENT_ID, event_id),
                (envelope.EVENT_TYPE, event_type),
                (envelope.SCHEMA_VERSION, self.schema_version),
            ],
            on_delivery=delivered,
        )
        if self.producer.flush(FLUSH_SECONDS) or errors:
            raise PublishError(f"Kafka did not acknowledge {event_type} {event_id}: {errors!r}")

    def close(self) -> None:
        self.producer.flush(FLUSH_SECONDS)
