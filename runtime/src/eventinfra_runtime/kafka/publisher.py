"""KafkaTransport: the producer's Kafka sender, `acks=all` and idempotence on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from confluent_kafka import KafkaError, Message, Producer

from eventinfra_runtime import envelope
from eventinfra_runtime.contract import EventSettings, KafkaSettings
from eventinfra_runtime.errors import PublishError

__all__ = ["KafkaTransport"]

FLUSH_SECONDS: Final = 30.0


class KafkaTransport:
    """Sends to the event's topic (its `destination`); returns once every in-sync replica has it.

    `enable.idempotence` makes librdkafka's retries produce no duplicates and keeps the order
    per partition; `acks=all` waits for `min.insync.replicas`. The record key is the event's
    message group (its `group_key` field, so one entity's events share a partition and stay
    in order), else the event id (spread over the partitions).
    """

    def __init__(self, settings: KafkaSettings) -> None:
        self.producer = Producer(
            {**settings.client_config(), "acks": "all", "enable.idempotence": True}
        )

    def send(
        self,
        event: EventSettings,
        body: bytes,
        headers: Mapping[str, str],
        group_id: str | None,
        deduplication_id: str | None,
    ) -> None:
        # Kafka has no deduplication id: idempotence covers the producer's own retries, and the
        # consumer's idempotency store covers the rest.
        del deduplication_id
        assert event.destination is not None  # contract.load requires it for producers
        event_id = headers.get(envelope.EVENT_ID, "")
        errors: list[KafkaError] = []

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                errors.append(error)

        self.producer.produce(
            event.destination,
            value=body,
            key=group_id or event_id,
            headers=list(headers.items()),
            on_delivery=delivered,
        )
        if self.producer.flush(FLUSH_SECONDS) or errors:
            raise PublishError(
                f"Kafka did not acknowledge {event.event_type} {event_id} on topic "
                f"{event.destination!r}: {errors!r}"
            )

    def close(self) -> None:
        self.producer.flush(FLUSH_SECONDS)
