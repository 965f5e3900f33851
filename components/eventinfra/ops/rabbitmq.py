"""The RabbitMQ backend of the ops commands (pika; publisher confirms; default exchange only)."""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from eventinfra.errors import EventInfraError
from eventinfra.ops.model import (
    EVENT_ID,
    EVENT_TYPE,
    REJECTION_REASON,
    InHand,
    QueueRef,
    QueueStat,
)
from eventinfra.ops.outputs import StackOutputs

__all__ = ["RabbitMQBackend", "connection_parameters", "import_pika"]

INSTALL_HINT: Final = "pip install 'eventinfra[ops]'"
URL_ENV: Final = "EVENTINFRA_RABBITMQ_URL"
# The runtime's own variables (runtime/CONTRACT.md): a mounted Secret folder and where to connect.
CREDENTIALS_DIR_ENV: Final = "EVENTINFRA_RABBITMQ_CREDENTIALS_DIR"
HOST_ENV: Final = "EVENTINFRA_RABBITMQ_HOST"
PORT_ENV: Final = "EVENTINFRA_RABBITMQ_PORT"
TLS_ENV: Final = "EVENTINFRA_RABBITMQ_TLS"
AMQP_PORT: Final = 5672
AMQPS_PORT: Final = 5671
# A quorum queue counts deliveries in this header; a copy must start its count afresh.
DELIVERY_COUNT_HEADER: Final = "x-delivery-count"
DEFAULT_EXCHANGE: Final = ""  # routes by queue name to exactly that queue


def import_pika() -> Any:
    try:
        import pika
    except ImportError:
        raise EventInfraError(
            f"The RabbitMQ commands need pika, which is not installed: run `{INSTALL_HINT}`."
        ) from None
    return pika


def connection_parameters(
    outputs: StackOutputs,
    *,
    url: str | None = None,
    credentials_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """pika parameters from --rabbitmq-url, $EVENTINFRA_RABBITMQ_URL or a credentials folder."""
    pika = import_pika()
    env = os.environ if environ is None else environ
    url = url or env.get(URL_ENV) or None
    folder = credentials_dir or (
        Path(env[CREDENTIALS_DIR_ENV]) if env.get(CREDENTIALS_DIR_ENV) else None
    )
    if url:
        return _from_url(pika, url, outputs.vhost or "/")
    if folder is not None:
        return _from_folder(pika, folder, outputs.vhost or "/", env)
    secret = (
        f"the cluster's `{outputs.rabbitmq_cluster}-default-user` Secret"
        if outputs.rabbitmq_cluster
        else "an administrator's credentials"
    )
    raise EventInfraError(
        "Expected RabbitMQ credentials: --rabbitmq-url amqps://USER:PASSWORD@HOST:5671, "
        f"${URL_ENV}, or --rabbitmq-credentials DIR (a folder with the files `username` and "
        f"`password`, like a mounted Secret), with a user allowed to read the dead-letter and "
        f"parking queues and to write to the consumers' queues: {secret}"
        + (f" in namespace {outputs.namespace!r}" if outputs.namespace else "")
        + " has that access."
    )


def _from_url(pika: Any, url: str, vhost: str) -> Any:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise EventInfraError(
            f"The RabbitMQ URL must look like 'amqps://user:password@host:5671', but it is "
            f"{_without_password(url)!r}."
        )
    try:
        parameters = pika.URLParameters(url)
    except Exception as error:
        raise EventInfraError(
            f"The RabbitMQ URL {_without_password(url)!r} cannot be used: {error}."
        ) from None
    if parts.path in ("", "/"):  # no vhost in the URL: the stack's
        parameters.virtual_host = vhost
    parameters.connection_attempts = 1
    return parameters


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _from_folder(pika: Any, folder: Path, vhost: str, env: Mapping[str, str]) -> Any:
    if folder.exists() and not folder.is_dir():
        raise EventInfraError(
            f"The RabbitMQ credentials folder {folder} is a file; expected a folder with the "
            "files `username` and `password` (a mounted Secret)."
        )

    def read(name: str) -> str | None:
        try:
            return (folder / name).read_text(encoding="utf-8").strip() or None
        except UnicodeDecodeError as error:
            raise EventInfraError(
                f"{folder / name}: the RabbitMQ credentials file is not UTF-8 text (invalid "
                f"byte at offset {error.start})."
            ) from None
        except OSError:
            return None

    username, password = read("username"), read("password")
    if not username or not password:
        raise EventInfraError(
            f"The RabbitMQ credentials folder {folder} must hold the files `username` and "
            "`password` (a mounted Secret), but "
            + ("it does not exist." if not folder.is_dir() else "one of them is missing or empty.")
        )
    host = env.get(HOST_ENV) or read("host")
    if not host:
        raise EventInfraError(
            f"Expected the broker's host in ${HOST_ENV} or in the file {folder / 'host'}."
        )
    tls_text = (env.get(TLS_ENV) or "").lower()
    if tls_text not in ("", "true", "false"):
        raise EventInfraError(f"${TLS_ENV} must be 'true' or 'false', but it is {tls_text!r}.")
    port_text = env.get(PORT_ENV) or read("port")
    try:
        port = int(port_text) if port_text else (AMQPS_PORT if tls_text == "true" else AMQP_PORT)
    except ValueError:
        raise EventInfraError(
            f"The RabbitMQ port must be a number, but it is {port_text!r}."
        ) from None
    tls = tls_text == "true" if tls_text else port == AMQPS_PORT
    ssl_options = None
    if tls:
        import ssl

        ssl_options = pika.SSLOptions(ssl.create_default_context(), host)
    return pika.ConnectionParameters(
        host=host,
        port=port,
        virtual_host=vhost,
        credentials=pika.PlainCredentials(username, password),
        ssl_options=ssl_options,
        connection_attempts=1,
    )


class RabbitMQBackend:
    """One connection and one confirm-mode channel; copies go to queues by name, never exchanges."""

    def __init__(self, outputs: StackOutputs, parameters: Any) -> None:
        self.outputs = outputs
        self.pika = import_pika()
        self.parameters = parameters
        where = f"{parameters.host}:{parameters.port} (vhost {parameters.virtual_host!r})"
        self.where = where
        try:
            self.connection = self.pika.BlockingConnection(parameters)
            self.channel = self.connection.channel()
            self.channel.confirm_delivery()
        except self.pika.exceptions.ProbableAuthenticationError:
            raise EventInfraError(
                f"RabbitMQ at {where} refused the user name or password."
            ) from None
        except self.pika.exceptions.ProbableAccessDeniedError:
            raise EventInfraError(
                f"RabbitMQ at {where}: the user has no access to the virtual host."
            ) from None
        except self.pika.exceptions.AMQPError as error:
            raise EventInfraError(f"Cannot connect to RabbitMQ at {where}: {error!r}.") from None

    @contextlib.contextmanager
    def _errors(self, action: str, queue: QueueRef | None) -> Iterator[None]:
        exceptions = self.pika.exceptions
        where = f" {queue.label} (queue {queue.address!r})" if queue else ""
        try:
            yield
        except exceptions.ChannelClosedByBroker as error:
            self._reopen_channel()
            if error.reply_code == 404:
                raise EventInfraError(
                    f"Cannot {action}{where}: RabbitMQ has no such queue in vhost "
                    f"{self.parameters.virtual_host!r}."
                ) from None
            raise EventInfraError(
                f"RabbitMQ refused to {action}{where}: {error.reply_code} {error.reply_text}."
            ) from None
        except exceptions.AMQPError as error:
            raise EventInfraError(
                f"The RabbitMQ connection to {self.where} was lost while trying to {action}"
                f"{where} ({error!r}); unacknowledged messages return to their queue."
            ) from None

    def _reopen_channel(self) -> None:
        with contextlib.suppress(self.pika.exceptions.AMQPError):
            if self.connection.is_open:
                self.channel = self.connection.channel()
                self.channel.confirm_delivery()

    # ------------------------------------------------------------------ where the queues are

    def dead_letter_queue(self, consumer: str) -> QueueRef:
        self.outputs.consumer(consumer)
        name = self.outputs.dead_letter_queues.get(consumer)
        if name is None:
            raise EventInfraError(
                f"Consumer {consumer!r} has no dead-letter queue in the stack's outputs "
                f"({self.outputs.source})."
            )
        return QueueRef(f"{consumer} DLQ", name)

    def consumer_queue(self, consumer: str) -> QueueRef:
        return QueueRef(consumer, self.outputs.queues[self.outputs.consumer(consumer)])

    def parking_queue(self, event: str) -> QueueRef:
        return QueueRef(f"{event} parking", self.outputs.parking_queue(event))

    # ------------------------------------------------------------------ reading

    def depth(self, queue: QueueRef) -> int:
        with self._errors("read the depth of", queue):
            declared = self.channel.queue_declare(queue=queue.address, passive=True)
        return int(declared.method.message_count)

    def stats(self, consumer: str, queue: QueueRef) -> QueueStat:
        ready = self.depth(queue)
        age: float | None = None
        if ready:
            # AMQP has no age attribute: read the head message and return it at once.
            head = self.take(queue, 1, 0)
            self.release(head)
            if head and head[0].sent_at is not None:
                age = (datetime.now(UTC) - head[0].sent_at).total_seconds()
        return QueueStat(consumer, queue, ready, None, age, "head" if age is not None else None)

    def take(self, queue: QueueRef, count: int, hold_seconds: int) -> list[InHand]:
        taken: list[InHand] = []
        with self._errors("receive from", queue):
            while len(taken) < count:
                method, properties, body = self.channel.basic_get(queue.address, auto_ack=False)
                if method is None:
                    break
                taken.append(_in_hand(queue, method.delivery_tag, properties, body))
        return taken

    # ------------------------------------------------------------------ moving

    def send(self, message: InHand, destination: QueueRef) -> None:
        original = message.native
        headers = {k: v for k, v in (original.headers or {}).items() if k != DELIVERY_COUNT_HEADER}
        properties = self.pika.BasicProperties(
            content_type=original.content_type,
            content_encoding=original.content_encoding,
            headers=headers,
            delivery_mode=self.pika.DeliveryMode.Persistent,
            priority=original.priority,
            correlation_id=original.correlation_id,
            reply_to=original.reply_to,
            message_id=original.message_id,
            timestamp=original.timestamp,
            type=original.type,
            app_id=original.app_id,
        )
        exceptions = self.pika.exceptions
        try:
            with self._errors("send to", destination):
                # Confirm mode: returns once the broker confirmed; `mandatory` turns a missing
                # queue into an error instead of a silent drop.
                self.channel.basic_publish(
                    exchange=DEFAULT_EXCHANGE,
                    routing_key=destination.address,
                    body=message.body,
                    properties=properties,
                    mandatory=True,
                )
        except exceptions.UnroutableError:
            raise EventInfraError(
                f"RabbitMQ returned the copy for {destination.label}: vhost "
                f"{self.parameters.virtual_host!r} has no queue {destination.address!r}."
            ) from None
        except exceptions.NackError:
            raise EventInfraError(
                f"RabbitMQ refused the copy for {destination.label} (negative confirm): the "
                "queue may be full (overflow reject-publish)."
            ) from None

    def settle(self, message: InHand) -> None:
        with self._errors("acknowledge a moved message from", message.extra["queue"]):
            self.channel.basic_ack(message.handle)

    def release(self, messages: Sequence[InHand]) -> None:
        for message in messages:
            with self._errors("return a message to", message.extra["queue"]):
                self.channel.basic_nack(message.handle, requeue=True)

    def purge(self, queue: QueueRef) -> int:
        with self._errors("purge", queue):
            purged = self.channel.queue_purge(queue.address)
        return int(purged.method.message_count)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.connection.is_open:
                self.connection.close()


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return None if value is None else str(value)


def _in_hand(queue: QueueRef, delivery_tag: int, properties: Any, body: bytes) -> InHand:
    headers: Mapping[str, Any] = properties.headers or {}
    shown = {
        k: text for k, v in headers.items() if not isinstance(v, list | dict) and (text := _text(v))
    }
    count = headers.get(DELIVERY_COUNT_HEADER)
    return InHand(
        body=body,
        attributes=shown,
        event_id=_text(properties.message_id) or shown.get(EVENT_ID),
        event_type=_text(properties.type) or shown.get(EVENT_TYPE),
        reason=shown.get(REJECTION_REASON) or shown.get("x-first-death-reason"),
        deliveries=int(count) + 1 if isinstance(count, int) else 1,
        sent_at=datetime.fromtimestamp(properties.timestamp, UTC) if properties.timestamp else None,
        handle=delivery_tag,
        native=properties,
        extra={"queue": queue},
    )
