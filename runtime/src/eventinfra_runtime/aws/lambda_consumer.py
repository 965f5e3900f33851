"""The Lambda (SQS) consumer: Powertools batch processing and idempotency, poison to the DLQ."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from eventinfra_runtime import contract, envelope, logs, metrics, tracing
from eventinfra_runtime.errors import InvalidEventError
from eventinfra_runtime.validation import validate

__all__ = ["LambdaHandler", "sqs_consumer"]

Handler = Callable[[envelope.ReceivedEvent], None]
LambdaHandler = Callable[[Mapping[str, Any], Any], dict[str, Any]]


class _Consumer:
    def __init__(self, handler: Handler, config: contract.RuntimeConfig) -> None:
        idempotency = config.idempotency
        assert idempotency is not None and idempotency.table is not None
        self.handler = handler
        self.config = config
        self.sqs = boto3.client("sqs")
        key = f'payload."{idempotency.key}"' if idempotency.key else "event_id"
        self.idempotency_config = IdempotencyConfig(
            event_key_jmespath=key,
            expires_after_seconds=idempotency.ttl_seconds,
            raise_on_no_idempotency_key=True,
        )
        persistence = DynamoDBPersistenceLayer(table_name=idempotency.table)

        @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
            data_keyword_argument="event",
            persistence_store=persistence,
            config=self.idempotency_config,
        )
        def run_once(event: dict[str, Any]) -> None:
            self.handler(self._received[event["event_id"]])

        self._run_once = run_once
        self._received: dict[str, envelope.ReceivedEvent] = {}

    def __call__(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self.idempotency_config.register_lambda_context(context)
        records = event.get("Records", [])
        fifo = any(str(r.get("eventSourceARN", "")).endswith(".fifo") for r in records)
        # FIFO: after a failure, the rest of that message group in the batch is not processed
        # (it is returned as failed too), so the group's order holds.
        processor = (
            SqsFifoPartialProcessor(skip_group_on_error=True)
            if fifo
            else BatchProcessor(event_type=EventType.SQS)
        )
        return dict(
            process_partial_response(
                event=dict(event),
                record_handler=self._record,
                processor=processor,
                context=context,
            )
        )

    def _record(self, record: SQSRecord) -> None:
        attributes = {
            name: value.get("stringValue")
            for name, value in (record.raw_event.get("messageAttributes") or {}).items()
        }
        event_id = attributes.get(envelope.EVENT_ID) or ""
        event_type = attributes.get(envelope.EVENT_TYPE) or ""
        attempt = int(record.attributes.approximate_receive_count or 1)
        trace = tracing.child_of(attributes.get(envelope.TRACEPARENT))
        token = tracing.use(trace)
        fields = {
            "event_id": event_id,
            "event_type": event_type,
            "consumer": self.config.service,
            "attempt": attempt,
            "message_id": record.message_id,
        }
        try:
            try:
                received = self._parse(record, event_id, event_type, attributes, attempt, trace)
            except InvalidEventError as error:
                self._dead_letter(record, error)
                logs.log(
                    logging.ERROR,
                    "invalid event sent to the dead-letter queue",
                    **fields,
                    outcome="rejected-invalid",
                    field=error.field,
                    reason=error.reason,
                )
                metrics.record_invalid_event(
                    "sns", self.config.service, event_type or "unknown", "consume"
                )
                return  # reported as processed: deleted from the queue, no retries burnt
            self._received[event_id] = received
            try:
                self._run_once(event={"event_id": event_id, "payload": dict(received.payload)})
            except Exception as error:
                logs.log(
                    logging.ERROR,
                    "handler failed; SQS redelivers the message",
                    **fields,
                    outcome="failed",
                    error=repr(error),
                )
                raise
            finally:
                self._received.pop(event_id, None)
            logs.log(logging.INFO, "event processed", **fields, outcome="processed")
        finally:
            tracing.reset(token)

    def _parse(
        self,
        record: SQSRecord,
        event_id: str,
        event_type: str,
        attributes: Mapping[str, str | None],
        attempt: int,
        trace: tracing.TraceContext,
    ) -> envelope.ReceivedEvent:
        event = self.config.events.get(event_type)
        if event is None:
            raise InvalidEventError(event_type, "$", "this consumer has no schema for the type")
        if not event_id:
            raise InvalidEventError(
                event_type, "$", f"the {envelope.EVENT_ID} attribute is missing"
            )
        try:
            payload = json.loads(record.body or "")
        except json.JSONDecodeError as error:
            raise InvalidEventError(event_type, "$", f"the body is not JSON ({error})") from None
        validate(event_type, event.schema, payload)
        return envelope.ReceivedEvent(
            event_id=event_id,
            event_type=event_type,
            schema_version=attributes.get(envelope.SCHEMA_VERSION) or "",
            payload=payload,
            attempt=attempt,
            trace=trace,
            message_id=record.message_id,
        )

    def _dead_letter(self, record: SQSRecord, error: InvalidEventError) -> None:
        """Send the record, its attributes and the reason to the consumer's own DLQ."""
        attributes: dict[str, Any] = {
            name: {"DataType": value.get("dataType", "String"), "StringValue": value["stringValue"]}
            for name, value in (record.raw_event.get("messageAttributes") or {}).items()
            if value.get("stringValue") is not None
        }
        attributes[envelope.REJECTION_REASON] = {"DataType": "String", "StringValue": str(error)}
        request: dict[str, Any] = {
            "QueueUrl": self.config.dead_letter_queue_url,
            "MessageBody": record.body or "",
            "MessageAttributes": attributes,
        }
        if record.attributes.message_group_id:
            request["MessageGroupId"] = record.attributes.message_group_id
            request["MessageDeduplicationId"] = record.message_id
        # A failure here raises: the record is then reported failed and retried, never lost.
        self.sqs.send_message(**request)


def sqs_consumer(handler: Handler) -> LambdaHandler:
    """Wrap `handler(ReceivedEvent)` as a Lambda handler for an SQS event source mapping.

    The configuration is read from the environment at the first invocation (cold start).
    """
    consumer: _Consumer | None = None

    @functools.wraps(handler)
    def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        nonlocal consumer
        if consumer is None:
            consumer = _Consumer(handler, contract.load("lambda-consumer"))
        return consumer(event, context)

    return lambda_handler
