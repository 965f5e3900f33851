"""A private, throw-away RabbitMQ node for the test suite.

``LocalRabbitMQ`` runs Debian's ``rabbitmq-server`` (installed by ``.ci/install-rabbitmq``) as the
current user, entirely inside one directory, bound to 127.0.0.1 only:

* free loopback ports are picked at start for AMQP, the management HTTP API, epmd and Erlang
  distribution (the CLI tools get OS-chosen distribution ports, also on loopback);
* data (mnesia, Ra/quorum WAL), logs, config, enabled-plugins file, Erlang cookie and HOME live
  under ``base_dir``; the system files in /etc/rabbitmq and /var/lib/rabbitmq are never read;
* the management plugin is enabled offline (``enabled_plugins`` file);
* the node name is unique (``rabbit-<hex>@localhost``) and kept across restarts (mnesia is keyed
  by node name);
* the broker is booted with a harness administrator as its *default user*, so ``guest`` is never
  created (and is deleted if an older data directory still has it): nothing may rely on guest;
* we start ``epmd`` ourselves (foreground, our own PID, loopback, private port) before the node and
  stop it by PID afterwards; otherwise the first ``rabbitmqctl`` call daemonises an ``epmd`` that
  outlives the tests;
* every process we spawn carries a marker environment variable, so ``leftover_pids()`` finds
  anything still running (including grandchildren) and ``stop()`` kills such leftovers by PID.

When the node cannot start, ``start()`` raises ``BrokerStartError`` with the tail of the node's
log and of its stdout/stderr: tests must fail, never skip.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import requests

RABBITMQ_BIN_DIR = Path(os.environ.get("EVENTINFRA_RABBITMQ_BIN_DIR", "/usr/lib/rabbitmq/bin"))
EPMD = os.environ.get("EVENTINFRA_EPMD", "epmd")
LOOPBACK = "127.0.0.1"
MARKER_ENV = "EVENTINFRA_RABBITMQ_BROKER_ID"
INSTALL_HINT = "install it with `.ci/install-rabbitmq` (Debian's rabbitmq-server package)"


_PR_SET_PDEATHSIG = 1

# Waits (inside the node) until every quorum queue's Ra server is leader and every at-least-once
# dead-letter worker has finished its start-up checkout. RabbitMQ 3.10.8 bug: deleting a queue
# (or its vhost) while its worker is still in that checkout, which happens within ~0.5 s of a boot,
# crashes the worker twice, `rabbit_fifo_dlx_sup` reaches its restart intensity and is gone, and
# from then on every at-least-once quorum queue fails (541 INTERNAL_ERROR) until the next restart.
_SETTLE_QUORUM_QUEUES = r"""
Deadline = erlang:monotonic_time(millisecond) + %(timeout_ms)d,
Ids = [amqqueue:get_pid(Q) || Q <- rabbit_amqqueue:list(),
                              amqqueue:get_type(Q) =:= rabbit_quorum_queue],
Wait = fun W(Id) ->
    case catch ra:ping(Id, 1000) of
        {pong, leader} -> ok;
        Other ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> {Id, Other};
                false -> timer:sleep(50), W(Id)
            end
    end
end,
NotLeader = [R || R <- [Wait(Id) || Id <- Ids], R =/= ok],
Workers = [P || {_, P, _, _} <- supervisor:which_children(rabbit_fifo_dlx_sup), is_pid(P)],
_ = [catch sys:get_state(P, 10000) || P <- Workers],
{length(Ids), length(Workers), NotLeader}.
"""

_FATAL_SUPERVISOR = re.compile(
    r"supervisor: \{local,(?P<name>[\w.]+)\}\s*\n.*errorContext: shutdown\s*\n"
    r".*reason: reached_max_restart_intensity"
)


try:  # resolved here, not in the forked child (preexec_fn must stay trivial)
    _prctl: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux/glibc: no parent-death signal
    _prctl = None


def _die_with_parent() -> None:
    """preexec_fn: SIGTERM the child when the test process dies (even by SIGKILL)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


class BrokerStartError(RuntimeError):
    """The private RabbitMQ node did not start (or did not become ready) in time."""


@dataclass(frozen=True)
class BrokerPorts:
    amqp: int
    management: int
    epmd: int
    dist: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.amqp, self.management, self.epmd, self.dist)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Like Erlang's listeners: TIME_WAIT leftovers from our own clients do not block reuse.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _free_loopback_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (held open together so they differ)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except (OSError, IndexError):
        return False


class LocalRabbitMQ:
    """One private RabbitMQ node. See the module docstring.

    Typical use::

        broker = LocalRabbitMQ(tmp_dir)
        broker.start()                      # picks ports, boots, waits, checks the HTTP API
        broker.http("PUT", f"/api/vhosts/{broker.q('v1')}")
        conn = pika.BlockingConnection(broker.amqp_params("app", "secret", "v1"))
        broker.restart()                    # same data dir, node name, ports (if still free)
        broker.stop()                       # nothing left running
    """

    def __init__(
        self,
        base_dir: str | os.PathLike[str],
        *,
        start_timeout: float = 120.0,
        stop_timeout: float = 60.0,
        admin_user: str = "eventinfra-harness-admin",
        collect_statistics_interval_ms: int = 500,
        quorum_tick_interval_ms: int = 1000,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.collect_statistics_interval_ms = collect_statistics_interval_ms
        self.quorum_tick_interval_ms = quorum_tick_interval_ms

        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.mnesia_base = self.base_dir / "mnesia"
        self.log_dir = self.base_dir / "log"
        self.home_dir = self.base_dir / "home"
        self.config_file = self.base_dir / "rabbitmq.conf"
        self.advanced_config_file = self.base_dir / "advanced.config"
        self.conf_env_file = self.base_dir / "rabbitmq-env.conf"  # empty on purpose
        self.enabled_plugins_file = self.base_dir / "enabled_plugins"
        self.log_file = self.log_dir / "rabbit.log"
        self.stdout_file = self.log_dir / "server-stdout.log"
        self.epmd_log_file = self.log_dir / "epmd.log"

        # Identity survives restarts and re-creating the object on the same directory: mnesia
        # is keyed by node name and the default user is only created on a fresh database.
        state_file = self.base_dir / "harness-state.json"
        if state_file.exists():
            state = json.loads(state_file.read_text())
        else:
            state = {
                "node_name": f"rabbit-{secrets.token_hex(6)}@localhost",
                "cookie": secrets.token_hex(20).upper(),
                "admin_user": admin_user,
                "admin_password": secrets.token_urlsafe(18),
                "broker_id": secrets.token_hex(8),
            }
            state_file.write_text(json.dumps(state, indent=2))
            state_file.chmod(0o600)
        self.node_name: str = state["node_name"]
        self.admin_user: str = state["admin_user"]
        self.admin_password: str = state["admin_password"]
        self.broker_id: str = state["broker_id"]
        self._cookie: str = state["cookie"]

        self.ports: BrokerPorts | None = None
        self.start_seconds: float | None = None  # duration of the last successful start()
        self._server: subprocess.Popen[bytes] | None = None
        self._epmd: subprocess.Popen[bytes] | None = None
        self._session: requests.Session | None = None
        self._version: str | None = None

    # ------------------------------------------------------------------ properties

    @property
    def amqp_port(self) -> int:
        return self._require_ports().amqp

    @property
    def management_port(self) -> int:
        return self._require_ports().management

    @property
    def management_url(self) -> str:
        return f"http://{LOOPBACK}:{self.management_port}"

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.poll() is None

    @property
    def version(self) -> str:
        """RabbitMQ version of the running node, e.g. ``"3.10.8"``."""
        if self._version is None:
            resp = self.http("GET", "/api/overview")
            resp.raise_for_status()
            self._version = str(resp.json()["rabbitmq_version"])
        return self._version

    @property
    def version_info(self) -> tuple[int, ...]:
        """``version`` as a tuple of ints, e.g. ``(3, 10, 8)``; compare with ``>= (4, 0)``."""
        return tuple(int(p) for p in self.version.split("-")[0].split(".") if p.isdigit())

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start epmd and the node; return once it is ready (raises ``BrokerStartError``)."""
        if self.running:
            raise RuntimeError(f"broker {self.node_name} is already running")
        self._check_installed()
        t0 = time.monotonic()
        self._prepare_ports()
        self._write_files()
        try:
            self._start_epmd()
            self._start_server()
            self.wait_ready(self.start_timeout)
            self._ensure_no_guest()
        except BaseException:
            with contextlib.suppress(Exception):
                self.stop()
            raise
        self.start_seconds = time.monotonic() - t0

    def stop(self, *, kill: bool = False) -> None:
        """Stop the node gracefully (SIGTERM; ~6 s), then epmd; kill any leftover by PID.

        ``kill=True`` SIGKILLs the node instead (a crash: instant, nothing flushed on the way
        out). Idempotent. Afterwards ``leftover_pids()`` is empty.
        """
        if self._session is not None:
            self._session.close()
            self._session = None
        server, self._server = self._server, None
        if server is not None:
            if kill:
                for pid in self.leftover_pids():
                    if self._epmd is None or pid != self._epmd.pid:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
            self._terminate(server, self.stop_timeout)
        epmd, self._epmd = self._epmd, None
        if epmd is not None:
            self._terminate(epmd, 10.0)
        # Anything still carrying our marker (e.g. an orphaned child) is ours: kill it by PID.
        leftovers = self.leftover_pids()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while leftovers and time.monotonic() < deadline:
            leftovers = [p for p in leftovers if _pid_alive(p)]
            time.sleep(0.05)
        self._version = None

    def restart(self, *, kill: bool = False) -> None:
        """Stop (graceful, or SIGKILL with ``kill=True``), then start on the same data dir:
        durable definitions and quorum queue data survive.

        The node name and credentials are unchanged; the ports are unchanged unless one was taken
        in the meantime, so re-read ``amqp_params()`` / ``management_url`` after a restart.
        """
        self.stop(kill=kill)
        self.start()

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the node has booted: HTTP API answers, ``rabbitmqctl await_startup``
        succeeds, AMQP accepts TCP connections, and quorum queues are settled.

        The HTTP API is polled first (cheap): calling ``await_startup`` while the node is still
        booting makes it re-check only every 10 s, and a CLI call while the node is registering
        its distribution listener can hang for ~40 s.
        """
        timeout = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            self._raise_if_server_died()
            try:
                resp = self.http("GET", "/api/overview", timeout=2)
                if resp.status_code == 200:
                    self._version = str(resp.json()["rabbitmq_version"])
                    break
                last = f"HTTP {resp.status_code}: {resp.text[:500]}"
            except requests.RequestException as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise self._start_error(f"management API not ready after {timeout:.0f}s: {last}")
            time.sleep(0.1)
        while True:
            self._raise_if_server_died()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._start_error(f"not ready after {timeout:.0f}s; last CLI output: {last}")
            # Bounded attempts: under heavy load a CLI call occasionally hangs (seen: 40-50 s)
            # even though the node is up; a fresh attempt then answers in about a second.
            attempt = min(remaining, 20.0)
            res = self.rabbitmqctl(
                "await_startup",
                "--timeout",
                str(max(1, int(attempt) - 5)),
                check=False,
                timeout=attempt,
            )
            if res.returncode == 0:
                break
            last = (res.stdout + res.stderr).strip()[-2000:]
            time.sleep(0.25)
        while True:
            with socket.socket() as s:
                s.settimeout(2)
                if s.connect_ex((LOOPBACK, self.amqp_port)) == 0:
                    break
            self._raise_if_server_died()
            if time.monotonic() > deadline:
                raise self._start_error(f"AMQP port {self.amqp_port} not listening")
            time.sleep(0.1)
        self.settle_quorum_queues(max(5.0, deadline - time.monotonic()))

    def settle_quorum_queues(self, timeout: float = 30.0) -> None:
        """Wait until every quorum queue has a leader and its dead-letter worker is running.

        Called by ``wait_ready()`` (so after every start/restart) when quorum queues exist; works
        around a 3.10.8 crash when a queue is deleted right after a boot (see module source).
        """
        queues = self.http("GET", "/api/queues?columns=name,type", expect=200).json()
        if not any(q.get("type") == "quorum" for q in queues):
            return
        res = self.rabbitmqctl(
            "eval",
            _SETTLE_QUORUM_QUEUES % {"timeout_ms": int(timeout * 1000)},
            timeout=timeout + 30,
        )
        out = res.stdout.strip()
        if not re.search(r",\s*\[\]\}$", out):
            raise self._start_error(f"quorum queues did not all elect a leader: {out}")

    # ------------------------------------------------------------------ clients

    @staticmethod
    def q(name: str) -> str:
        """Percent-encode one path segment for the HTTP API (vhost ``/`` -> ``%2F``)."""
        return urllib.parse.quote(name, safe="")

    def http(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        expect: int | Iterable[int] | None = None,
        timeout: float = 30.0,
    ) -> requests.Response:
        """Call the management HTTP API as the harness admin; returns the ``Response``.

        ``path`` starts with ``/api/``; encode names with ``q()``. With ``expect`` (a status or
        statuses) a different status raises ``AssertionError`` showing the response body.
        """
        if not path.startswith("/"):
            path = "/" + path
        if self._session is None:
            self._session = requests.Session()
            self._session.auth = (self.admin_user, self.admin_password)
        resp = self._session.request(
            method.upper(), self.management_url + path, json=json, timeout=timeout
        )
        if expect is not None:
            allowed = {expect} if isinstance(expect, int) else set(expect)
            if resp.status_code not in allowed:
                raise AssertionError(
                    f"{method.upper()} {path} -> {resp.status_code} (expected {sorted(allowed)}): "
                    f"{resp.text[:2000]}"
                )
        return resp

    def usernames(self) -> set[str]:
        """Every user on the node (users are node-wide, not per vhost)."""
        return {user["name"] for user in self.http("GET", "/api/users", expect=200).json()}

    def amqp_params(
        self, user: str | None = None, password: str | None = None, vhost: str = "/", **kwargs: Any
    ) -> pika.ConnectionParameters:
        """pika parameters for this node; without ``user`` the harness admin is used."""
        if user is None:
            user, password = self.admin_user, self.admin_password
        if password is None:
            raise ValueError("password is required when user is given")
        kwargs.setdefault("connection_attempts", 1)
        kwargs.setdefault("socket_timeout", 10)
        kwargs.setdefault("blocked_connection_timeout", 30)
        return pika.ConnectionParameters(
            host=LOOPBACK,
            port=self.amqp_port,
            virtual_host=vhost,
            credentials=pika.PlainCredentials(user, password, erase_on_connect=False),
            **kwargs,
        )

    def rabbitmqctl(
        self, *args: str, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``rabbitmqctl -n <node> <args>`` against this node (same env, cookie, epmd)."""
        return self._cli("rabbitmqctl", *args, check=check, timeout=timeout)

    def rabbitmq_diagnostics(
        self, *args: str, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        return self._cli("rabbitmq-diagnostics", *args, check=check, timeout=timeout)

    # ------------------------------------------------------------------ introspection

    def leftover_pids(self) -> list[int]:
        """PIDs of live processes spawned by this broker (found by the marker env variable)."""
        marker = f"{MARKER_ENV}={self.broker_id}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if marker in env and _pid_alive(int(entry)):
                found.append(int(entry))
        return sorted(found)

    def listening_sockets(self) -> list[tuple[str, int]]:
        """``(address, port)`` of every TCP socket in LISTEN state owned by our processes."""
        inodes: set[str] = set()
        for pid in self.leftover_pids():
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        target = os.readlink(f"/proc/{pid}/fd/{fd}")
                        if target.startswith("socket:["):
                            inodes.add(target[8:-1])
        result = []
        for table, family in (
            ("/proc/net/tcp", socket.AF_INET),
            ("/proc/net/tcp6", socket.AF_INET6),
        ):
            with contextlib.suppress(OSError), open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state != "0A" or inode not in inodes:  # 0A = LISTEN
                        continue
                    hex_addr, hex_port = local.split(":")
                    raw = bytes.fromhex(hex_addr)
                    if family == socket.AF_INET:
                        addr = socket.inet_ntop(family, raw[::-1])
                    else:
                        words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
                        addr = socket.inet_ntop(family, b"".join(words))
                    result.append((addr, int(hex_port, 16)))
        return sorted(result)

    def log_size(self) -> int:
        """Current size of the node log: pass it to ``fatal_log_errors(since=...)``."""
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def fatal_log_errors(self, since: int = 0) -> list[str]:
        """Node-level supervisors that gave up (``reached_max_restart_intensity``) since offset.

        Per-connection/channel supervisors are not reported (a test sees those as errors on its
        own connection); a node-level one (e.g. ``rabbit_fifo_dlx_sup``) breaks the node for
        every later test, which should restart the broker.
        """
        try:
            with open(self.log_file, "rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError:
            return []
        return [m.group("name") for m in _FATAL_SUPERVISOR.finditer(text)]

    def log_tail(self, lines: int = 60) -> str:
        parts = [f"--- {self.log_file} (last {lines} lines) ---", _tail(self.log_file, lines)]
        parts += [f"--- {self.stdout_file} (last 50 lines) ---", _tail(self.stdout_file, 50)]
        return "\n".join(parts)

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> LocalRabbitMQ:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _require_ports(self) -> BrokerPorts:
        if self.ports is None:
            raise RuntimeError("broker has not been started")
        return self.ports

    def _check_installed(self) -> None:
        server = RABBITMQ_BIN_DIR / "rabbitmq-server"
        if not server.exists():
            raise BrokerStartError(f"{server} not found: RabbitMQ is not installed; {INSTALL_HINT}")
        if shutil.which(EPMD) is None:
            raise BrokerStartError(f"`{EPMD}` not found on PATH (Erlang); {INSTALL_HINT}")

    def _prepare_ports(self) -> None:
        # Keep the previous ports across a restart when they are all still free.
        if self.ports is not None and all(_port_is_free(p) for p in self.ports.as_tuple()):
            return
        amqp, management, epmd, dist = _free_loopback_ports(4)
        self.ports = BrokerPorts(amqp=amqp, management=management, epmd=epmd, dist=dist)

    def _write_files(self) -> None:
        ports = self._require_ports()
        for d in (self.mnesia_base, self.log_dir, self.home_dir):
            d.mkdir(parents=True, exist_ok=True)
        cookie = self.home_dir / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(self._cookie)
        cookie.chmod(0o400)
        self.conf_env_file.write_text("# intentionally empty: the harness sets the environment\n")
        self.enabled_plugins_file.write_text("[rabbitmq_management].\n")
        conf = f"""\
# Generated by tests/support/rabbitmq_broker.py; rewritten on every start.
listeners.tcp.1 = {LOOPBACK}:{ports.amqp}
management.tcp.ip = {LOOPBACK}
management.tcp.port = {ports.management}
# Created on a fresh database only, instead of guest (guest is never created).
default_user = {self.admin_user}
default_pass = {self.admin_password}
default_vhost = /
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users = none
# Fresher queue/message counters in the HTTP API (default 5000 ms).
collect_statistics_interval = {self.collect_statistics_interval_ms}
log.file.level = info
log.console = false
"""
        self.config_file.write_text(conf)
        self.config_file.chmod(0o600)
        # Quorum queues publish their stats (message counts, policy, leader) to the HTTP API on
        # each Ra tick: 5000 ms by default, which makes the HTTP view lag up to ~10 s.
        self.advanced_config_file.write_text(
            f"[{{rabbit, [{{quorum_tick_interval, {self.quorum_tick_interval_ms}}}]}}].\n"
        )

    def _env(self) -> dict[str, str]:
        ports = self._require_ports()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RABBITMQ_", "ERL_", "CONF_ENV_FILE"))
        }
        env.update(
            {
                MARKER_ENV: self.broker_id,
                "HOME": str(self.home_dir),
                "LANG": env.get("LANG", "C.UTF-8"),
                "LC_ALL": "C.UTF-8",
                "RABBITMQ_CONF_ENV_FILE": str(self.conf_env_file),
                "RABBITMQ_NODENAME": self.node_name,
                "RABBITMQ_USE_LONGNAME": "false",
                "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
                "RABBITMQ_NODE_PORT": str(ports.amqp),
                "RABBITMQ_DIST_PORT": str(ports.dist),
                "RABBITMQ_CONFIG_FILE": str(self.config_file),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.advanced_config_file),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.enabled_plugins_file),
                "RABBITMQ_MNESIA_BASE": str(self.mnesia_base),
                "RABBITMQ_LOG_BASE": str(self.log_dir),
                "RABBITMQ_LOGS": str(self.log_file),
                "RABBITMQ_PID_FILE": str(self.base_dir / "rabbit.pid"),
                # Server distribution listener on loopback only.
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
                # CLI tools: OS-chosen distribution port (0/0), loopback only.
                "RABBITMQ_CTL_DIST_PORT_MIN": "0",
                "RABBITMQ_CTL_DIST_PORT_MAX": "0",
                "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
                "ERL_EPMD_PORT": str(ports.epmd),
                "ERL_EPMD_ADDRESS": LOOPBACK,
            }
        )
        return env

    def _start_epmd(self) -> None:
        ports = self._require_ports()
        with open(self.epmd_log_file, "ab") as log:
            self._epmd = subprocess.Popen(
                [EPMD, "-port", str(ports.epmd), "-address", LOOPBACK],
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                cwd=self.base_dir,
            )
        deadline = time.monotonic() + 10
        while True:
            if self._epmd.poll() is not None:
                raise BrokerStartError(
                    f"epmd exited with {self._epmd.returncode} on port {ports.epmd}:\n"
                    + _tail(self.epmd_log_file, 20)
                )
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((LOOPBACK, ports.epmd)) == 0:
                    return
            if time.monotonic() > deadline:
                raise BrokerStartError(f"epmd did not listen on {LOOPBACK}:{ports.epmd} in 10s")
            time.sleep(0.02)

    def _start_server(self) -> None:
        with open(self.stdout_file, "ab") as out:
            self._server = subprocess.Popen(
                [str(RABBITMQ_BIN_DIR / "rabbitmq-server")],
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: a Ctrl-C in pytest does not hit it
                preexec_fn=_die_with_parent,  # SIGTERM -> graceful stop if pytest is killed
                cwd=self.base_dir,
            )

    def _cli(
        self, tool: str, *args: str, check: bool, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        if self._epmd is None or self._epmd.poll() is not None:
            # Without our epmd the CLI would daemonise a stray one; refuse instead.
            raise RuntimeError(f"{tool}: broker {self.node_name} is not running")
        cmd = [str(RABBITMQ_BIN_DIR / tool), "-n", self.node_name, *args]
        try:
            res = subprocess.run(
                cmd,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=self.base_dir,
            )
        except subprocess.TimeoutExpired as exc:  # run() has killed the CLI's VM

            def text(b: bytes | str | None) -> str:
                return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")

            res = subprocess.CompletedProcess(
                cmd, 124, text(exc.stdout), text(exc.stderr) + f"\n<timed out after {timeout}s>"
            )
        if check and res.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
            )
        return res

    def _raise_if_server_died(self) -> None:
        if self._server is None:
            raise BrokerStartError("broker is not running")
        rc = self._server.poll()
        if rc is not None:
            raise self._start_error(f"rabbitmq-server exited with status {rc} during startup")

    def _start_error(self, message: str) -> BrokerStartError:
        return BrokerStartError(
            f"RabbitMQ node {self.node_name} ({self.base_dir}) failed to start: {message}\n"
            + self.log_tail()
        )

    def _ensure_no_guest(self) -> None:
        if self.http("GET", "/api/users/guest").status_code == 200:
            self.http("DELETE", "/api/users/guest", expect=204)

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        # Children in the process group (beam.smp, erl_child_setup, inet_gethost) normally
        # exit with the VM; stop() kills anything still carrying our marker.


@contextlib.contextmanager
def running_broker(base_dir: str | os.PathLike[str], **kwargs: Any) -> Iterator[LocalRabbitMQ]:
    broker = LocalRabbitMQ(base_dir, **kwargs)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
