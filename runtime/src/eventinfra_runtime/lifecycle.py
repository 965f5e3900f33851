"""What the container consumers share around their loops: stop, probes, signals, backoff."""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from typing import Any, Final

from eventinfra_runtime import logs
from eventinfra_runtime.health import HealthServer

__all__ = ["BACKOFF_SECONDS", "LIVENESS_STALE_SECONDS", "ConsumerLifecycle", "backoff_seconds"]

# Waits after consecutive failures of what a consumer depends on (the broker, Redis): quick
# for a blip, at most 5 s for an outage, and far below Kafka's max.poll.interval.ms (300 s), so
# a consumer group keeps the consumer meanwhile.
BACKOFF_SECONDS: Final = (0.5, 1, 2, 5)
# A loop iteration older than this means the process is stuck: the liveness probe fails.
LIVENESS_STALE_SECONDS: Final = 60
# How often a backoff wakes to see whether stop() came, so SIGTERM never waits a whole step.
_STOP_CHECK_SECONDS: Final = 0.1


def backoff_seconds(consecutive_failures: int) -> float:
    """The wait after this many failures in a row: the steps of `BACKOFF_SECONDS`, then its last."""
    return BACKOFF_SECONDS[min(consecutive_failures, len(BACKOFF_SECONDS) - 1)]


class ConsumerLifecycle:
    """A consumer's stop flag, readiness and liveness, and the health server that reports them.

    The consumer sets `ready` while it consumes and calls `tick()` each loop iteration (and
    whenever else it makes progress); `/healthz` fails once the last tick is
    `LIVENESS_STALE_SECONDS` old, and `/readyz` answers 200 only while ready and not stopping.
    """

    def __init__(self, service: str, health_port: int) -> None:
        self.service = service
        self.health_port = health_port
        self.stopping = False
        self.ready = False
        self.last_tick = time.monotonic()

    def stop(self, *_: object) -> None:
        """Ask the loop to end; also the SIGTERM/SIGINT handler, hence the ignored arguments."""
        self.stopping = True

    def tick(self) -> None:
        """Record progress: the process is not stuck."""
        self.last_tick = time.monotonic()

    def live(self) -> bool:
        return time.monotonic() - self.last_tick < LIVENESS_STALE_SECONDS

    def is_ready(self) -> bool:
        return self.ready and not self.stopping

    def sleep_unless_stopping(self, seconds: float) -> None:
        """Wait `seconds`, or less if stop() comes; the wait is progress, not a stuck process."""
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            self.tick()
            time.sleep(_STOP_CHECK_SECONDS)

    @contextlib.contextmanager
    def running(self, *, install_signal_handlers: bool, **start_fields: Any) -> Iterator[None]:
        """Serve the probes and log `consumer starting` (`consumer`, `start_fields`,
        `health_port`); on the way out, however it ends, unready, stop serving and log
        `consumer stopped`."""
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        health = HealthServer(self.health_port, self.live, self.is_ready)
        health.start()
        logs.log(
            logging.INFO,
            "consumer starting",
            consumer=self.service,
            **start_fields,
            health_port=health.port,
        )
        try:
            yield
        finally:
            self.ready = False
            health.stop()
            logs.log(logging.INFO, "consumer stopped", consumer=self.service)

    def warn_idempotency_off(self, rerun: str, **fields: Any) -> None:
        """The start-up warning of a consumer without a Redis store; `rerun` names what runs the
        handler again (`every redelivery`)."""
        logs.log(
            logging.WARNING,
            f"idempotency is off: no EVENTINFRA_REDIS_* variables, so {rerun} runs the handler "
            "again (at-least-once)",
            consumer=self.service,
            **fields,
        )
