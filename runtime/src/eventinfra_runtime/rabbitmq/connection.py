"""AMQP connection parameters from the contract (credentials re-read at every connection)."""

from __future__ import annotations

import ssl
from typing import Final

import pika

from eventinfra_runtime.contract import RabbitMQSettings

__all__ = ["parameters"]

# Below Kubernetes' default 30 s grace + our own; a dead peer is noticed within two intervals.
HEARTBEAT_SECONDS: Final = 30


def parameters(settings: RabbitMQSettings) -> pika.ConnectionParameters:
    username, password = settings.credentials()
    ssl_options = None
    if settings.tls:
        ssl_options = pika.SSLOptions(ssl.create_default_context(), settings.host)
    return pika.ConnectionParameters(
        host=settings.host,
        port=settings.port,
        virtual_host=settings.vhost,
        credentials=pika.PlainCredentials(username, password),
        ssl_options=ssl_options,
        heartbeat=HEARTBEAT_SECONDS,
        connection_attempts=1,
    )
