"""The consumers' Redis client gives up fast when Redis is gone: the consumer's own backoff and
readiness handle an outage, not minutes inside one redis-py call."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from eventinfra_runtime.contract import CREDENTIAL_FILES, RedisSettings
from eventinfra_runtime.rabbitmq.idempotency import client_for


class DroppingServer:
    """Accepts TCP connections on loopback and closes each at once, counting them."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def dropping_server() -> Iterator[DroppingServer]:
    server = DroppingServer()
    yield server
    server.close()


def test_a_redis_that_drops_every_connection_is_tried_twice_then_reported(
    dropping_server: DroppingServer, tmp_path: Path
) -> None:
    for name in CREDENTIAL_FILES:
        (tmp_path / name).write_text("mailer\n")
    settings = RedisSettings(
        host="127.0.0.1",
        port=dropping_server.port,
        tls=False,
        credentials_dir=tmp_path,
        key_prefix="mailer:",
    )
    client = client_for(settings)

    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        client.ping()
    elapsed = time.monotonic() - started

    # The call and one immediate retry (a pooled connection closed while idle); redis-py's
    # default would try 11 times with backoff.
    assert dropping_server.accepted == 2
    assert elapsed < 2
