"""KafkaEventConsumer: manual commits after processing, Redis idempotency, dead-letter topic."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Final

import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from eventinfra_runtime import contract, envelope, idempotency_key, logs, metrics, tracing
from eventinfra_runtime.errors import InvalidEventError
from eventinfra_runtime.lifecycle import ConsumerLifecycle, backoff_seconds
from eventinfra_runtime.rabbitmq.idempotency import (
    AlreadyCompleted,
    Effects,
    IdempotencyConflict,
    store_for,
)
from eventinfra_runtime.validation import validate

__all__ = ["DEAD_LETTER_REASON", "DeadLetterUnacknowledged", "Handler", "KafkaEventConsumer"]

Handler = Callable[[envelope.ReceivedEvent], Effects | None]
DEAD_LETTER_REASON: Final = envelope.REJECTION_REASON
"""Header with why a record went to the dead-letter topic (`invalid: ...`, `poison: ...`)."""
DEAD_LETTER_SOURCE: Final = "eventinfra-source"
"""Header with the source `topic/partition/offset` of a dead-lettered record."""
_POLL_SECONDS: Final = 0.5
# While every broker is down, readiness asks the cluster for metadata this often.
BROKER_CHECK_SECONDS: Final = 5.0


class DeadLetterUnacknowledged(Exception):
    """The dead-letter topic did not acknowledge a record: it is not committed, and read again."""


# Failures of what the consumer depends on, not of the record: the record is not committed but
# read again after a backoff, and its idempotency record makes a second run a duplicate.
# NoPermissionError and ReadOnlyError are Redis ACL changes and replica failovers an operator
# fixes without restarting the consumer; AuthenticationError and BusyLoadingError are
# ConnectionErrors.
_REDIS_TRANSIENT: Final = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.NoPermissionError,
    redis.exceptions.ReadOnlyError,
    IdempotencyConflict,
)
_KAFKA_TRANSIENT: Final = (KafkaException, DeadLetterUnacknowledged)


class KafkaEventConsumer:
    """Consumes its group's topics one record at a time until `stop()` or SIGTERM.

    Configured by `contract.load("kafka-consumer")` (runtime/CONTRACT.md) unless given a
    config. A record's offset is committed only after its outcome is durable: the completed
    idempotency record (with the handler's Redis effects, in one transaction), or the
    acknowledged write to the dead-letter topic. A consumer killed in between reads the record
    again; the idempotency store turns that into a duplicate, so effects happen once. With no
    `EVENTINFRA_REDIS_*` (idempotency off) every read runs the handler again (at-least-once).

    Redis or Kafka failing (unreachable, a refused permission, the dead-letter topic or the
    commit unacknowledged) is no outcome: the record is not committed, its partition is rewound
    to it, /readyz answers 503, and it is read again after a backoff (0.5 s to 5 s), until a
    record goes through. Only a fatal librdkafka error ends `run()` (the pod restarts).
    Every record writes one JSON line (`event_id`, `event_type`, `consumer`, `topic`,
    `partition`, `offset`, `attempt`, `outcome`) and is counted on /metrics.
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
        self.store = store_for(self.config, redis_client)
        self.dead_letter_topic = settings.dead_letter_topic
        self.counts: dict[str, int] = {}
        self.lifecycle = ConsumerLifecycle(self.service, self.config.health_port)
        self._brokers_down = False
        self._next_broker_check = 0.0
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
        self.lifecycle.stop()

    def run(self, install_signal_handlers: bool = True) -> None:
        lifecycle = self.lifecycle
        with lifecycle.running(
            install_signal_handlers=install_signal_handlers,
            group=self.settings.group,
            topics=list(self.settings.topics),
        ):
            if self.store is None:
                lifecycle.warn_idempotency_off("every record read again")
            self.consumer.subscribe(list(self.settings.topics))
            self._consume()

    def _consume(self) -> None:
        """Poll, process and commit until stop(); the client closes however that ends."""
        lifecycle = self.lifecycle
        failures = 0
        try:
            while not lifecycle.stopping:
                lifecycle.tick()
                message = self.consumer.poll(_POLL_SECONDS)
                if message is None:
                    # Subscribed and polling; after a failed record, ready again once a record
                    # goes through; after losing every broker, once one answers.
                    if self._brokers_down and self._broker_answers():
                        self._brokers_down = False
                    lifecycle.ready = failures == 0 and not self._brokers_down
                    continue
                error = message.error()
                if error is not None:
                    self._on_kafka_error(error)
                    continue
                self._brokers_down = False
                try:
                    outcome = self.process(message)
                    self.consumer.commit(message=message, asynchronous=False)
                except (*_REDIS_TRANSIENT, *_KAFKA_TRANSIENT) as failure:
                    if isinstance(failure, KafkaException) and _fatal(failure):
                        raise  # the client cannot go on: the pod restarts
                    delay = backoff_seconds(failures)
                    failures += 1
                    lifecycle.ready = False
                    self._read_again(message)
                    dependency = "redis" if isinstance(failure, _REDIS_TRANSIENT) else "kafka"
                    metrics.record_transient_failure(self.service, dependency)
                    logs.log(
                        logging.WARNING,
                        f"{dependency} failed; the record is not committed and is read again",
                        **_position(message),
                        consumer=self.service,
                        outcome="retried",
                        error=repr(failure),
                        retry_in_seconds=delay,
                    )
                    lifecycle.sleep_unless_stopping(delay)
                    continue
                failures = 0
                lifecycle.ready = True
                self.counts[outcome] = self.counts.get(outcome, 0) + 1
        finally:
            lifecycle.ready = False  # not ready while the client closes
            self.consumer.close()  # leaves the group at once: its partitions move now
            self.dead_letters.flush(30)

    def _on_kafka_error(self, error: KafkaError) -> None:
        """librdkafka reconnects by itself and reports what it cannot reach as error events."""
        if error.fatal():
            raise KafkaException(error)
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self._brokers_down = True
            self.lifecycle.ready = False
            metrics.record_transient_failure(self.service, "kafka")
        logs.log(logging.WARNING, "kafka error", consumer=self.service, error=str(error))

    def _broker_answers(self) -> bool:
        """Whether the cluster answers a metadata request (at most every few seconds)."""
        now = time.monotonic()
        if now < self._next_broker_check:
            return False
        self._next_broker_check = now + BROKER_CHECK_SECONDS
        try:
            self.consumer.list_topics(timeout=1)
        except KafkaException:
            return False
        return True

    def _read_again(self, message: Message) -> None:
        """Rewind the record's partition to it, so the next poll returns it again."""
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:
            return  # only error events lack a position, and they are never processed
        position = TopicPartition(topic, partition, offset)
        # Not ours any more (a rebalance): its new owner starts from the last commit, before it.
        with contextlib.suppress(KafkaException, RuntimeError):
            self.consumer.seek(position)

    def process(self, message: Message) -> str:
        """Handle one record; return its outcome, logged as one JSON line and counted.

        Raises what `_REDIS_TRANSIENT` and `_KAFKA_TRANSIENT` name when Redis or the dead-letter
        topic cannot be reached: the caller must not commit, and reads the record again.
        """
        headers = _headers(message)
        event_type = headers.get(envelope.EVENT_TYPE) or message.topic() or ""
        event_id = headers.get(envelope.EVENT_ID, "")
        trace = tracing.child_of(headers.get(envelope.TRACEPARENT))
        token = tracing.use(trace)
        fields = {
            "event_id": event_id,
            "event_type": event_type,
            "consumer": self.service,
            **_position(message),
        }
        try:
            outcome = self._process(message, headers, trace, fields)
        finally:
            tracing.reset(token)
        metrics.record_consumed_event(self.service, event_type or "unknown", outcome)
        return outcome

    def _process(
        self,
        message: Message,
        headers: dict[str, str],
        trace: tracing.TraceContext,
        fields: dict[str, Any],
    ) -> str:
        event_type, event_id = fields["event_type"], fields["event_id"]
        try:
            try:
                payload = json.loads(message.value() or b"")
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise InvalidEventError(
                    event_type, "$", f"the body is not JSON ({error})"
                ) from None
            if event_type not in self.schemas:
                raise InvalidEventError(event_type, "$", "no schema is configured for it")
            validate(event_type, self.schemas[event_type], payload)
            identity = idempotency_key.identity(self.idempotency_key, event_type, payload, event_id)
        except (ValueError, InvalidEventError) as error:
            self._dead_letter(message, f"invalid: {error}")
            metrics.record_invalid_event("kafka", self.service, event_type or "unknown", "consume")
            metrics.record_dead_lettered_event(self.service, event_type or "unknown", "invalid")
            details = (
                {"field": error.field, "reason": error.reason}
                if isinstance(error, InvalidEventError)
                else {"reason": str(error)}
            )
            logs.log(
                logging.ERROR,
                "invalid event dead-lettered",
                **fields,
                attempt=1,
                outcome="dead-lettered-invalid",
                **details,
            )
            return "dead-lettered-invalid"
        event = envelope.ReceivedEvent(
            event_id=event_id,
            event_type=event_type,
            schema_version=headers.get(envelope.SCHEMA_VERSION, ""),
            payload=payload,
            attempt=1,
            trace=trace,
            message_id=f"{message.topic()}/{message.partition()}/{message.offset()}",
        )
        started = time.monotonic()
        last_error: Exception | None = None
        key = self.store.key(self.service, identity) if self.store is not None else None
        max_attempts = self.settings.max_attempts
        for attempt in range(1, max_attempts + 1):
            # A handler run that returned, even with an error, is progress: only one run that
            # hangs may make /healthz report the consumer stuck.
            self.lifecycle.tick()
            try:
                outcome = self._attempt(dataclasses.replace(event, attempt=attempt), key)
            except _REDIS_TRANSIENT:
                raise
            except Exception as error:  # the handler's failure, whatever it is
                last_error = error
                logs.log(
                    logging.ERROR,
                    "handler failed",
                    **fields,
                    attempt=attempt,
                    outcome="failed",
                    error=repr(error),
                )
                continue
            if outcome == "effects-without-store":
                return self._poison(
                    message,
                    fields,
                    attempt,
                    "the handler returned Redis effects, but idempotency is off",
                )
            log_line = "duplicate skipped" if outcome == "duplicate" else "event processed"
            extra = (
                {}
                if outcome == "duplicate"
                else {"duration_ms": round((time.monotonic() - started) * 1000, 1)}
            )
            logs.log(logging.INFO, log_line, **fields, attempt=attempt, outcome=outcome, **extra)
            return outcome
        return self._poison(
            message, fields, max_attempts, f"{type(last_error).__name__}: {last_error}"
        )

    def _attempt(self, event: envelope.ReceivedEvent, key: str | None) -> str:
        """One run of the handler: `processed`, `duplicate` or `effects-without-store`; the
        handler's own failure propagates, after the in-progress record is released."""
        if self.store is None or key is None:
            # Idempotency off: effects are Redis writes committed with the completed record;
            # without a store there is nowhere to commit them, and a retry would not change that.
            return "effects-without-store" if self.handler(event) is not None else "processed"
        try:
            token = self.store.begin(key)
        except AlreadyCompleted:
            return "duplicate"
        try:
            self.store.complete(key, token, self.handler(event))
        except _REDIS_TRANSIENT:
            # Free our in-progress record if Redis still answers, so the rerun does not wait
            # for its expiry; a record completed after all is not ours to delete (token).
            with contextlib.suppress(redis.RedisError):
                self.store.release(key, token)
            raise
        except Exception:
            self.store.release(key, token)
            raise
        return "processed"

    def _poison(self, message: Message, fields: dict[str, Any], attempt: int, reason: str) -> str:
        self._dead_letter(message, f"poison: {reason}")
        metrics.record_dead_lettered_event(
            self.service, fields["event_type"] or "unknown", "poison"
        )
        logs.log(
            logging.ERROR,
            "poison event dead-lettered",
            **fields,
            attempt=attempt,
            outcome="dead-lettered-poison",
            reason=reason,
        )
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
            # Not committed: the record is read again after a backoff.
            raise DeadLetterUnacknowledged(
                f"the dead-letter topic {self.dead_letter_topic!r} did not acknowledge {source}: "
                f"{errors!r}"
            )


def _headers(message: Message) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in message.headers() or []:
        name, value = header[0], header[1]
        found[str(name)] = value.decode() if isinstance(value, bytes) else str(value or "")
    return found


def _position(message: Message) -> dict[str, Any]:
    return {"topic": message.topic(), "partition": message.partition(), "offset": message.offset()}


def _fatal(failure: KafkaException) -> bool:
    error = failure.args[0] if failure.args else None
    return isinstance(error, KafkaError) and error.fatal()
