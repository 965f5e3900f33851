"""pytest fixtures for a real RabbitMQ broker (see tests/support/rabbitmq_broker.py).

tests/conftest.py registers them for the whole suite (``pytest_plugins``): test modules use the
fixtures by name and import nothing from here. The session has exactly ONE broker (per xdist
worker): the fixture wraps a module-level singleton.

``rabbitmq`` (session): a started ``LocalRabbitMQ``. When RabbitMQ is missing or cannot start,
every test using it ERRORS with the log tail; nothing is skipped. Run ``.ci/install-rabbitmq``
first. ``EVENTINFRA_RABBITMQ_DIR`` puts the node's data and logs under that directory instead of
pytest's tmp dir (handy for CI artifacts).

``rabbitmq_vhost`` (function): a fresh, uniquely named vhost on that broker, with full
permissions for the harness admin, deleted afterwards (its queues and policies go with it), and
so is every user the test created: users are node-wide, a vhost's deletion leaves them behind.
Afterwards it checks the node log: if a node-level supervisor gave up during the test (the node
is then broken for every later test), the broker is restarted and the test fails with the name.
"""

from __future__ import annotations

import atexit
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.rabbitmq_broker import LocalRabbitMQ

_broker: LocalRabbitMQ | None = None
_start_error: BaseException | None = None


def _get_broker(tmp_path_factory: pytest.TempPathFactory) -> LocalRabbitMQ:
    global _broker, _start_error
    if _start_error is not None:
        raise _start_error
    if _broker is None:
        root = os.environ.get("EVENTINFRA_RABBITMQ_DIR")
        if root:
            Path(root).mkdir(parents=True, exist_ok=True)
            base = Path(tempfile.mkdtemp(prefix="rabbitmq-", dir=root))
        else:
            base = tmp_path_factory.mktemp("rabbitmq")
        broker = LocalRabbitMQ(base)
        atexit.register(broker.stop)  # belt and braces if the session dies without teardown
        try:
            broker.start()
        except BaseException as exc:
            _start_error = exc
            raise
        _broker = broker
    return _broker


@pytest.fixture(scope="session")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRabbitMQ]:
    """The session's private RabbitMQ node (started once, stopped at session end)."""
    global _broker
    broker = _get_broker(tmp_path_factory)
    yield broker
    broker.stop()  # idempotent: a second registration of this fixture finds it stopped
    _broker = None


@pytest.fixture
def rabbitmq_vhost(rabbitmq: LocalRabbitMQ) -> Iterator[str]:
    """A fresh vhost (name ``t-<hex>``) with full permissions for the harness admin."""
    name = f"t-{secrets.token_hex(4)}"
    v = rabbitmq.q(name)
    log_offset = rabbitmq.log_size()
    users_before = rabbitmq.usernames()
    rabbitmq.http("PUT", f"/api/vhosts/{v}", expect=(201, 204))
    rabbitmq.http(
        "PUT",
        f"/api/permissions/{v}/{rabbitmq.q(rabbitmq.admin_user)}",
        {"configure": ".*", "write": ".*", "read": ".*"},
        expect=(201, 204),
    )
    yield name
    if rabbitmq.running:
        rabbitmq.http("DELETE", f"/api/vhosts/{v}", expect=(204, 404))
        for user in sorted(rabbitmq.usernames() - users_before):
            rabbitmq.http("DELETE", f"/api/users/{rabbitmq.q(user)}", expect=(204, 404))
    if rabbitmq.log_size() < log_offset:  # the log does not rotate; be safe anyway
        log_offset = 0
    broken = rabbitmq.fatal_log_errors(since=log_offset)
    if broken:
        rabbitmq.restart()  # do not let later tests inherit a broken node
        pytest.fail(
            f"RabbitMQ node-level supervisor(s) {broken} crashed during this test "
            f"(broker restarted); see {rabbitmq.log_file}"
        )
