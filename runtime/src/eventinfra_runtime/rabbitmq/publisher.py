"""Publishing to RabbitMQ: publisher confirms and `mandatory`, so nothing vanishes unnoticed."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from typing import Any

import pika
import pika.exceptions

from eventinfra_runtime.contract import EventSettings, RabbitMQSettings
from eventinfra_runtime.errors import PublishError
from eventinfra_runtime.rabbitmq.connection import parameters

__all__ = ["RabbitMQTransport"]

_RECONNECTABLE = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.ChannelClosed,
    pika.exceptions.StreamLostError,
)


class RabbitMQTransport:
    """One connection and confirm-mode channel, opened lazily and reopened once on loss."""

    def __init__(self, settings: RabbitMQSettings) -> None:
        self.settings = settings
        self._connection: Any = None
        self._channel: Any = None
        # pika's BlockingConnection is not thread-safe.
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._channel is None or not self._channel.is_open:
            self.close()
            self._connection = pika.BlockingConnection(parameters(self.settings))
            self._channel = self._connection.channel()
            self._channel.confirm_delivery()
        return self._channel

    def send(
        self,
        event: EventSettings,
        body: bytes,
        headers: Mapping[str, str],
        group_id: str | None,
        deduplication_id: str | None,
    ) -> None:
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=headers["event-id"],
            type=event.event_type,
            timestamp=int(time.time()),
            headers=dict(headers),
        )
        with self._lock:
            for attempt in (1, 2):
                try:
                    self._open().basic_publish(
                        exchange=event.destination or "",
                        routing_key=event.event_type,
                        body=body,
                        properties=properties,
                        mandatory=True,
                    )
                    return
                except pika.exceptions.UnroutableError as error:
                    raise PublishError(
                        f"RabbitMQ returned event {event.event_type!r}: exchange "
                        f"{event.destination!r} routes it to no queue and has no alternate "
                        "exchange."
                    ) from error
                except pika.exceptions.NackError as error:
                    raise PublishError(
                        f"RabbitMQ refused event {event.event_type!r} (negative confirm); "
                        "a queue may be full (overflow reject-publish)."
                    ) from error
                except pika.exceptions.ChannelClosedByBroker as error:
                    self.close()
                    raise PublishError(
                        f"RabbitMQ refused event {event.event_type!r} on exchange "
                        f"{event.destination!r}: {error.reply_code} {error.reply_text}."
                    ) from error
                except _RECONNECTABLE as error:
                    self.close()
                    if attempt == 2:
                        raise PublishError(
                            f"RabbitMQ connection lost while publishing {event.event_type!r} "
                            f"to {event.destination!r}: {error!r}"
                        ) from error

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.close()
