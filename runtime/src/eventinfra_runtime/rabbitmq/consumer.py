"""The container consumer: manual acks, prefetch, Redis idempotency (unless it is off),
graceful SIGTERM."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import pika
import pika.exceptions
import redis

from eventinfra_runtime import contract, envelope, idempotency_key, logs, metrics, tracing
from eventinfra_runtime.errors import InvalidEventError
from eventinfra_runtime.lifecycle import ConsumerLifecycle, backoff_seconds
from eventinfra_runtime.rabbitmq.connection import parameters
from eventinfra_runtime.rabbitmq.idempotency import (
    AlreadyCompleted,
    Effects,
    IdempotencyConflict,
    store_for,
)
from eventinfra_runtime.validation import validate

__all__ = ["Handler", "RabbitMQConsumer"]

Handler = Callable[[envelope.ReceivedEvent], Effects | None]
"""Handles one event. May return `Effects`: Redis writes committed with the completed record."""

_POLL_SECONDS: Final = 0.5
_CONNECTION_ERRORS = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    pika.exceptions.StreamLostError,
    redis.ConnectionError,
    redis.TimeoutError,
)


class RabbitMQConsumer:
    """Consumes the configured queue until `stop()` (or SIGTERM/SIGINT), one message at a time.

    Outcomes per delivery: `processed` (ack), `duplicate` (ack, handler not run),
    `rejected-invalid` (reject without requeue: dead-lettered at once), `failed` (reject with
    requeue: the quorum queue's delivery-limit dead-letters it eventually),
    `requeued-on-shutdown` (prefetched but not started when SIGTERM came).
    """

    def __init__(
        self,
        handler: Handler,
        config: contract.RuntimeConfig | None = None,
        *,
        redis_client: redis.Redis | None = None,
    ) -> None:
        self.handler = handler
        self.config = config if config is not None else contract.load("container-consumer")
        if self.config.rabbitmq is None or not self.config.queue:
            raise ValueError("RabbitMQConsumer needs a container-consumer configuration.")
        self.store = store_for(self.config, redis_client)
        self.lifecycle = ConsumerLifecycle(self.config.service, self.config.health_port)
        self._connection: Any = None

    # ------------------------------------------------------------------ lifecycle

    def stop(self, *_: object) -> None:
        """Finish the message in hand, requeue the prefetched rest, close, return from run()."""
        self.lifecycle.stop()

    def run(self, *, install_signal_handlers: bool = True) -> None:
        lifecycle = self.lifecycle
        with lifecycle.running(
            install_signal_handlers=install_signal_handlers,
            queue=self.config.queue,
            prefetch=self.config.prefetch,
        ):
            if self.store is None:
                lifecycle.warn_idempotency_off("every redelivery", queue=self.config.queue)
            failures = 0
            while not lifecycle.stopping:
                try:
                    self._consume()
                    failures = 0
                except _CONNECTION_ERRORS as error:
                    lifecycle.ready = False
                    delay = backoff_seconds(failures)
                    failures += 1
                    logs.log(
                        logging.WARNING,
                        "connection lost; reconnecting",
                        consumer=self.config.service,
                        error=repr(error),
                        retry_in_seconds=delay,
                    )
                    lifecycle.sleep_unless_stopping(delay)

    def _consume(self) -> None:
        assert self.config.rabbitmq is not None
        connection = pika.BlockingConnection(parameters(self.config.rabbitmq))
        self._connection = connection
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=self.config.prefetch)
            channel.basic_consume(self.config.queue, self._on_message, auto_ack=False)
            self.lifecycle.ready = True
            while not self.lifecycle.stopping:
                self.lifecycle.tick()
                connection.process_data_events(time_limit=_POLL_SECONDS)
        finally:
            self.lifecycle.ready = False
            self._connection = None
            if connection.is_open:
                # Unacked (prefetched, not started) messages return to the queue.
                with contextlib.suppress(pika.exceptions.AMQPError):
                    connection.close()

    def _report(
        self, level: int, message: str, fields: dict[str, Any], outcome: str, **extra: Any
    ) -> None:
        """One JSON line and one `eventinfra_consumed_events` count per delivery outcome."""
        logs.log(level, message, **fields, outcome=outcome, **extra)
        event_type = str(fields.get("event_type") or "unknown")
        metrics.record_consumed_event(self.config.service, event_type, outcome)

    def _heartbeat_sleep(self, seconds: float) -> None:
        """Wait while another consumer holds the event, without starving AMQP heartbeats."""
        if self._connection is not None:
            self._connection.sleep(seconds)
        else:
            time.sleep(seconds)

    # ------------------------------------------------------------------ one message

    def _on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        headers: Mapping[str, Any] = properties.headers or {}
        event_id = str(properties.message_id or headers.get(envelope.EVENT_ID) or "")
        event_type = str(properties.type or headers.get(envelope.EVENT_TYPE) or "")
        # RabbitMQ counts earlier deliveries of this message in x-delivery-count (quorum queues).
        attempt = int(headers.get("x-delivery-count") or 0) + 1
        trace = tracing.child_of(_text(headers.get(envelope.TRACEPARENT)))
        token = tracing.use(trace)
        fields = {
            "event_id": event_id,
            "event_type": event_type,
            "consumer": self.config.service,
            "attempt": attempt,
        }
        try:
            if self.lifecycle.stopping:
                channel.basic_reject(method.delivery_tag, requeue=True)
                self._report(logging.INFO, "message requeued", fields, "requeued-on-shutdown")
                return
            try:
                received = self._parse(body, event_id, event_type, headers, attempt, trace)
                idempotency = self.config.idempotency
                identity = idempotency_key.identity(
                    idempotency.key if idempotency else None, event_type, received.payload, event_id
                )
            except InvalidEventError as error:
                channel.basic_reject(method.delivery_tag, requeue=False)
                self._report(
                    logging.ERROR,
                    "invalid event dead-lettered",
                    fields,
                    "rejected-invalid",
                    field=error.field,
                    reason=error.reason,
                )
                metrics.record_dead_lettered_event(
                    self.config.service, event_type or "unknown", "invalid"
                )
                metrics.record_invalid_event(
                    "rabbitmq", self.config.service, event_type or "unknown", "consume"
                )
                return
            self._process(channel, method.delivery_tag, received, fields, identity)
        finally:
            tracing.reset(token)

    def _parse(
        self,
        body: bytes,
        event_id: str,
        event_type: str,
        headers: Mapping[str, Any],
        attempt: int,
        trace: tracing.TraceContext,
    ) -> envelope.ReceivedEvent:
        event = self.config.events.get(event_type)
        if event is None:
            raise InvalidEventError(event_type, "$", "this consumer has no schema for the type")
        if not event_id:
            raise InvalidEventError(event_type, "$", f"the {envelope.EVENT_ID} header is missing")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidEventError(event_type, "$", f"the body is not JSON ({error})") from None
        validate(event_type, event.schema, payload)
        return envelope.ReceivedEvent(
            event_id=event_id,
            event_type=event_type,
            schema_version=_text(headers.get(envelope.SCHEMA_VERSION)) or "",
            payload=payload,
            attempt=attempt,
            trace=trace,
            message_id=event_id,
        )

    def _process(
        self,
        channel: Any,
        delivery_tag: int,
        event: envelope.ReceivedEvent,
        fields: dict[str, Any],
        identity: str,
    ) -> None:
        if self.store is None:
            self._process_at_least_once(channel, delivery_tag, event, fields)
            return
        key = self.store.key(self.config.service, identity)
        started = time.monotonic()
        try:
            token = self.store.begin(key, sleep=self._heartbeat_sleep)
        except AlreadyCompleted:
            channel.basic_ack(delivery_tag)
            self._report(logging.INFO, "duplicate skipped", fields, "duplicate")
            return
        try:
            effects = self.handler(event)
            self.store.complete(key, token, effects)
        except (redis.ConnectionError, redis.TimeoutError):
            raise  # the loop reconnects; the unacked message returns to the queue
        except IdempotencyConflict:
            channel.basic_reject(delivery_tag, requeue=True)
            self._report(logging.WARNING, "in-progress record lost", fields, "failed")
            return
        except Exception as error:
            self.store.release(key, token)
            channel.basic_reject(delivery_tag, requeue=True)
            self._report(
                logging.ERROR,
                "handler failed; message requeued",
                fields,
                "failed",
                error=repr(error),
            )
            return
        channel.basic_ack(delivery_tag)
        self._report(
            logging.INFO,
            "event processed",
            fields,
            "processed",
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )

    def _process_at_least_once(
        self,
        channel: Any,
        delivery_tag: int,
        event: envelope.ReceivedEvent,
        fields: dict[str, Any],
    ) -> None:
        """Idempotency off: run the handler for every delivery; ack on success."""
        started = time.monotonic()
        try:
            effects = self.handler(event)
        except Exception as error:
            channel.basic_reject(delivery_tag, requeue=True)
            self._report(
                logging.ERROR,
                "handler failed; message requeued",
                fields,
                "failed",
                error=repr(error),
            )
            return
        if effects is not None:
            # Effects are Redis writes committed with the completed record: without a store
            # there is nowhere to commit them, and a retry would not change that.
            channel.basic_reject(delivery_tag, requeue=False)
            self._report(
                logging.ERROR,
                "handler returned Redis effects, but idempotency is off; message dead-lettered",
                fields,
                "failed",
            )
            metrics.record_dead_lettered_event(
                self.config.service, event.event_type or "unknown", "poison"
            )
            return
        channel.basic_ack(delivery_tag)
        self._report(
            logging.INFO,
            "event processed",
            fields,
            "processed",
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return None if value is None else str(value)
