"""Fixtures: event configuration, a private Redis server, and the repo's real RabbitMQ broker."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

# The repository's RabbitMQ harness, imported (not copied) through pytest's `pythonpath`.
from tests.support.broker_fixtures import rabbitmq, rabbitmq_vhost

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS_DIR = REPO_ROOT / "schemas"
__all__ = ["rabbitmq", "rabbitmq_vhost"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.password = "redis-test-password"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install -y redis-server")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._log = open(self.folder / "redis.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                self.password,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            client = redis.Redis(port=self.port, password=self.password, socket_timeout=1)
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
            finally:
                client.close()
        log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING on port {self.port}:\n{log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if self._log is not None:
            self._log.close()


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
