"""KafkaEventConsumer: manual commits after processing, Redis idempotency, dead-letter topic."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import time
from collections.abc import Callable
from typing import Final

import redis
from confluent_kafka import Consumer, KafkaError, Message, Producer

from eventinfra_runtime import contract, envelope, idempotency_key, logs, tracing
from eventinfra_runtime.errors import InvalidEventError
from eventinfra_runtime.rabbitmq.health import HealthServer
from eventinfra_runtime.rabbitmq.idempotency import (
    AlreadyCompleted,
    Effects,
    RedisIdempotencyStore,
    client_for,
)
from eventinfra_runtime.validation import validate

__all__ = ["DEAD_LETTER_REASON", "Handler", "KafkaEventConsumer"]

Handler = Callable[[envelope.ReceivedEvent], Effects | None]
DEAD_LETTER_REASON: Final = envelope.REJECTION_REASON
"""Header with why a record went to the dead-letter topic (`invalid: ...`, `poison: ...`)."""
DEAD_LETTER_SOURCE: Final = "eventinfra-source"
"""Header with the source `topic/partition/offset` of a dead-lettered record."""
# Kafka has no redelivery counter: a failing record is retried in place this many times, then
# dead-lettered, so one poison record does not stop its partition for ever.
MAX_ATTEMPTS: Final = 3
_POLL_SECONDS: Final = 0.5
# A poll loop iteration older than this means the process is stuck: the liveness probe fails.
LIVENESS_STALE_SECONDS: Final = 60
log = logging.getLogger("eventinfra.kafka")


class KafkaEventConsumer:
    """Consumes its group's topics one record at a time until `stop()` or SIGTERM.

    Configured by `contract.load("kafka-consumer")` (runtime/CONTRACT.md) unless given a
    config. A record's offset is committed only after its outcome is durable: the completed
    idempotency record (with the handler's Redis effects, in one transaction), or the
    acknowledged write to the dead-letter topic. A consumer killed in between reads the record
    again; the idempotency store turns that into a duplicate, so effects happen once. With no
    `EVENTINFRA_REDIS_*` (idempotency off) every read runs the handler again (at-least-once).
    """

    def __init__(
        self,
        handler: Handler,
        config: contract.RuntimeConfig | None = None,
        *,
        redis_client: redis.Redis | None = None,
    ) -> None:
        self.config = config if config is not None else contract.load("kafka-consumer")
        settings = self.config.kafka
        if (
            settings is None
            or not settings.group
            or not settings.topics
            or not settings.dead_letter_topic
        ):
            raise ValueError("KafkaEventConsumer needs a kafka-consumer configuration.")
        self.handler, self.settings = handler, settings
        self.schemas = {name: event.schema for name, event in self.config.events.items()}
        self.service = self.config.service
        idempotency = self.config.idempotency
        self.idempotency_key = idempotency.key if idempotency is not None else None
        self.store: RedisIdempotencyStore | None = None
        if self.config.redis is not None and idempotency is not None:
            self.store = RedisIdempotencyStore(
                redis_client if redis_client is not None else client_for(self.config.redis),
                self.config.redis.key_prefix,
                idempotency.ttl_seconds,
                idempotency.in_progress_seconds,
            )
        self.dead_letter_topic = settings.dead_letter_topic
        self.counts: dict[str, int] = {}
        self._stopping = False
        self._ready = False
        self._last_tick = time.monotonic()
        client = settings.client_config()
        self.consumer = Consumer(
            {
                **client,
                "group.id": settings.group,
                "enable.auto.commit": False,
                # A new group starts from the oldest stored event: nothing published before the
                # consumer existed is skipped.
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
            }
        )
        self.dead_letters = Producer({**client, "acks": "all", "enable.idempotence": True})

    def stop(self, *_: object) -> None:
        self._stopping = True

    def run(self, install_signal_handlers: bool = True) -> None:
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        health = HealthServer(self.config.health_port, self._live, self._is_ready)
        health.start()
        logs.log(
            logging.INFO,
            "consumer starting",
            consumer=self.service,
            group=self.settings.group,
            topics=list(self.settings.topics),
            health_port=health.port,
        )
        if self.store is None:
            logs.log(
                logging.WARNING,
                "idempotency is off: no EVENTINFRA_REDIS_* variables, so every record read "
                "again runs the handler again (at-least-once)",
                consumer=self.service,
            )
        self.consumer.subscribe(list(self.settings.topics))
        try:
            while not self._stopping:
                self._last_tick = time.monotonic()
                message = self.consumer.poll(_POLL_SECONDS)
                # Subscribed and polling: librdkafka reconnects by itself, so a broker outage
                # shows as errors below, not as a stopped loop.
                self._ready = True
                if message is None:
                    continue
                if message.error() is not None:
                    log.warning("kafka error: %s", message.error())
                    continue
                outcome = self.process(message)
                self.counts[outcome] = self.counts.get(outcome, 0) + 1
                self.consumer.commit(message=message, asynchronous=False)
        finally:
            self._ready = False
            self.consumer.close()  # leaves the group at once: its partitions move now
            self.dead_letters.flush(30)
            health.stop()
            logs.log(logging.INFO, "consumer stopped", consumer=self.service)

    def _live(self) -> bool:
        return time.monotonic() - self._last_tick < LIVENESS_STALE_SECONDS

    def _is_ready(self) -> bool:
        return self._ready and not self._stopping

    def process(self, message: Message) -> str:
        headers = _headers(message)
        event_type = headers.get(envelope.EVENT_TYPE) or message.topic() or ""
        event_id = headers.get(envelope.EVENT_ID, "")
        try:
            payload = json.loads(message.value() or b"")
            if event_type not in self.schemas:
                raise InvalidEventError(event_type, "$", "no schema is configured for it")
            validate(event_type, self.schemas[event_type], payload)
            identity = idempotency_key.identity(self.idempotency_key, event_type, payload, event_id)
        except (ValueError, InvalidEventError) as error:
            self._dead_letter(message, f"invalid: {error}")
            return "dead-lettered-invalid"
        event = envelope.ReceivedEvent(
            event_id=event_id,
            event_type=event_type,
            schema_version=headers.get(envelope.SCHEMA_VERSION, ""),
            payload=payload,
            attempt=1,
            trace=tracing.child_of(headers.get(envelope.TRACEPARENT)),
            message_id=f"{message.topic()}/{message.partition()}/{message.offset()}",
        )
        if self.store is None:
            return self._process_at_least_once(message, event)
        key = self.store.key(self.service, identity)
        last_error: Exception | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                token = self.store.begin(key)
            except AlreadyCompleted:
                return "duplicate"
            try:
                effects = self.handler(dataclasses.replace(event, attempt=attempt))
            except Exception as error:  # the handler's failure, whatever it is
                self.store.release(key, token)
                last_error = error
                continue
            self.store.complete(key, token, effects)
            return "processed"
        self._dead_letter(message, f"poison: {type(last_error).__name__}: {last_error}")
        return "dead-lettered-poison"

    def _process_at_least_once(self, message: Message, event: envelope.ReceivedEvent) -> str:
        """Idempotency off: the handler runs for every read, retried in place like above."""
        last_error: Exception | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                effects = self.handler(dataclasses.replace(event, attempt=attempt))
            except Exception as error:  # the handler's failure, whatever it is
                last_error = error
                continue
            if effects is not None:
                # Effects are Redis writes committed with the completed record: without a store
                # there is nowhere to commit them, and a retry would not change that.
                self._dead_letter(
                    message, "poison: the handler returned Redis effects, but idempotency is off"
                )
                return "dead-lettered-poison"
            return "processed"
        self._dead_letter(message, f"poison: {type(last_error).__name__}: {last_error}")
        return "dead-lettered-poison"

    def _dead_letter(self, message: Message, reason: str) -> None:
        errors: list[KafkaError] = []

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                errors.append(error)

        source = f"{message.topic()}/{message.partition()}/{message.offset()}"
        self.dead_letters.produce(
            self.dead_letter_topic,
            value=message.value(),
            key=message.key(),
            headers=[
                *(message.headers() or []),
                (DEAD_LETTER_REASON, reason),
                (DEAD_LETTER_SOURCE, source),
            ],
            on_delivery=delivered,
        )
        if self.dead_letters.flush(30) or errors:
            # Not committed: the record is read again after the restart this causes.
            raise RuntimeError(f"the dead-letter topic did not acknowledge {source}: {errors!r}")


def _headers(message: Message) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in message.headers() or []:
        name, value = header[0], header[1]
        found[str(name)] = value.decode() if isinstance(value, bytes) else str(value or "")
    return found
