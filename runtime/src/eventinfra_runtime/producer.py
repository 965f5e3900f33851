"""`publish(event_type, payload)`: validate, then send with confirms, on SNS, RabbitMQ or Kafka."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from eventinfra_runtime import contract, envelope, logs, metrics, tracing
from eventinfra_runtime.errors import InvalidEventError, UnknownEventTypeError
from eventinfra_runtime.validation import validate

__all__ = ["Producer", "Transport", "producer_from_environment", "publish"]


class Transport(Protocol):
    """Sends one already-validated event; raises `PublishError` unless the broker confirmed it."""

    def send(
        self,
        event: contract.EventSettings,
        body: bytes,
        headers: Mapping[str, str],
        group_id: str | None,
        deduplication_id: str | None,
    ) -> None: ...

    def close(self) -> None: ...


class Producer:
    """Publishes the events of one producer's configuration over one transport."""

    def __init__(self, config: contract.RuntimeConfig, transport: Transport) -> None:
        self.config = config
        self.transport = transport

    def publish(
        self, event_type: str, payload: Mapping[str, Any], *, event_id: str | None = None
    ) -> str:
        """Validate `payload`, send it, and return its event id once the broker confirmed it.

        Raises `InvalidEventError` (nothing is sent), `UnknownEventTypeError` or `PublishError`.
        """
        event = self.config.events.get(event_type)
        if event is None:
            raise UnknownEventTypeError(event_type, list(self.config.events))
        try:
            validate(event_type, event.schema, payload)
        except InvalidEventError as error:
            logs.log(
                logging.ERROR,
                "invalid event not published",
                event_type=event_type,
                service=self.config.service,
                field=error.field,
                reason=error.reason,
                outcome="rejected-invalid",
            )
            metrics.record_invalid_event(
                self.config.broker, self.config.service, event_type, "publish"
            )
            raise
        event_id = event_id or str(uuid.uuid4())
        trace = tracing.for_publish()
        headers = {
            envelope.EVENT_ID: event_id,
            envelope.EVENT_TYPE: event_type,
            envelope.SCHEMA_VERSION: event.schema_version,
            envelope.TRACEPARENT: trace.traceparent,
        }
        group_id = str(payload[event.group_key]) if event.fifo and event.group_key else None
        self.transport.send(
            event,
            envelope.encode(payload),
            headers,
            group_id,
            event_id if event.fifo else None,
        )
        logs.log(
            logging.INFO,
            "event published",
            event_id=event_id,
            event_type=event_type,
            service=self.config.service,
            destination=event.destination,
            outcome="published",
            trace_id=trace.trace_id,
        )
        return event_id

    def close(self) -> None:
        self.transport.close()


def producer_from_environment(environ: Mapping[str, str] | None = None) -> Producer:
    """A producer for the broker named by EVENTINFRA_BROKER."""
    import os

    env = os.environ if environ is None else environ
    broker = env.get(contract.BROKER, "").strip()
    if broker == "kafka":
        from eventinfra_runtime.kafka.publisher import KafkaTransport

        config = contract.load("kafka-producer", env)
        assert config.kafka is not None
        return Producer(config, KafkaTransport(config.kafka))
    if broker == "rabbitmq":
        from eventinfra_runtime.rabbitmq.publisher import RabbitMQTransport

        config = contract.load("rabbitmq-producer", env)
        assert config.rabbitmq is not None
        return Producer(config, RabbitMQTransport(config.rabbitmq))
    from eventinfra_runtime.aws.publisher import SnsTransport

    config = contract.load("sns-producer", env)
    return Producer(config, SnsTransport())


_default: Producer | None = None
_default_lock = threading.Lock()


def publish(event_type: str, payload: Mapping[str, Any]) -> str:
    """Publish with the process's producer, built from the environment at first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = producer_from_environment()
        producer = _default
    return producer.publish(event_type, payload)
