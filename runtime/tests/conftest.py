"""Fixtures: event configuration, a private Redis server, and the repo's real RabbitMQ broker."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The repository's RabbitMQ, Redis and Tansu harnesses, imported (not copied) through pytest's
# `pythonpath`.
from tests.support.broker_fixtures import rabbitmq, rabbitmq_vhost
from tests.support.local_servers import RedisServer, TansuBroker, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS_DIR = REPO_ROOT / "schemas"
__all__ = ["RedisServer", "TansuBroker", "free_port", "rabbitmq", "rabbitmq_vhost"]


def write_credentials(folder: Path, username: str, password: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "username").write_text(username + "\n")
    (folder / "password").write_text(password + "\n")
    return folder


def events_json(destinations: dict[str, str | None], fifo_group: str | None = None) -> str:
    return json.dumps(
        {
            event: {
                "destination": destination,
                "schema_version": "1",
                "fifo": fifo_group is not None,
                "group_key": fifo_group,
            }
            for event, destination in destinations.items()
        }
    )


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server on loopback; the test errors (never skips) if it cannot start."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EVENTINFRA_"):
            monkeypatch.delenv(name)
