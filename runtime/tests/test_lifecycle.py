"""The consumers' shared lifecycle: probes, stop, backoff and the start and stop log lines."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request

import pytest

from eventinfra_runtime import health, lifecycle
from eventinfra_runtime.lifecycle import ConsumerLifecycle, backoff_seconds
from eventinfra_runtime.rabbitmq import health as former_health


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A monotonic clock that moves only when a test (or a fake sleep) moves it."""
    now = [1_000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


def status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def test_liveness_goes_stale_after_the_threshold_without_a_tick(clock: list[float]) -> None:
    state = ConsumerLifecycle("svc", 0)
    clock[0] += lifecycle.LIVENESS_STALE_SECONDS - 0.1
    assert state.live() is True
    clock[0] += 0.1
    assert state.live() is False
    state.tick()
    assert state.live() is True


def test_readiness_needs_ready_and_not_stopping() -> None:
    state = ConsumerLifecycle("svc", 0)
    assert state.is_ready() is False
    state.ready = True
    assert state.is_ready() is True
    state.stop(signal.SIGTERM, None)  # called as a signal handler is
    assert state.stopping is True
    assert state.is_ready() is False


def test_a_backoff_ends_early_on_stop_and_counts_as_progress(
    clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = ConsumerLifecycle("svc", 0)
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        clock[0] += seconds
        if len(naps) == 3:
            state.stop()

    monkeypatch.setattr(time, "sleep", nap)
    state.sleep_unless_stopping(60)
    assert naps == [0.1, 0.1, 0.1]
    # The tick before the last nap: a consumer backing off is not reported stuck.
    assert state.last_tick == pytest.approx(1_000.2)


def test_a_backoff_without_stop_lasts_its_time(
    clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    def nap(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr(time, "sleep", nap)
    ConsumerLifecycle("svc", 0).sleep_unless_stopping(2)
    assert 1_002.0 <= clock[0] < 1_002.2


def test_a_backoff_after_stop_does_not_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    naps: list[float] = []
    monkeypatch.setattr(time, "sleep", naps.append)
    state = ConsumerLifecycle("svc", 0)
    state.stop()
    state.sleep_unless_stopping(5)
    assert naps == []


def test_backoff_steps_up_then_stays_at_its_last_step() -> None:
    assert [backoff_seconds(failures) for failures in range(6)] == [0.5, 1, 2, 5, 5, 5]


def test_running_serves_the_probes_and_logs_start_and_stop_even_on_a_crash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = ConsumerLifecycle("mailer", 0)
    with (
        pytest.raises(RuntimeError, match="boom"),
        state.running(install_signal_handlers=False, queue="mailer.q", prefetch=10),
    ):
        starting = json.loads(capsys.readouterr().out)
        port = starting["health_port"]
        assert (status(port, "/healthz"), status(port, "/readyz")) == (200, 503)
        state.ready = True
        assert status(port, "/readyz") == 200
        raise RuntimeError("boom")
    assert state.ready is False
    with pytest.raises(urllib.error.URLError):
        status(port, "/healthz")  # the server is closed
    assert [key for key in starting if key not in ("level", "timestamp")] == [
        "message",
        "consumer",
        "queue",
        "prefetch",
        "health_port",
    ]
    assert (starting["message"], starting["consumer"], starting["queue"]) == (
        "consumer starting",
        "mailer",
        "mailer.q",
    )
    stopped = json.loads(capsys.readouterr().out)
    assert (stopped["level"], stopped["message"], stopped["consumer"]) == (
        "INFO",
        "consumer stopped",
        "mailer",
    )


def test_running_makes_sigterm_and_sigint_stop() -> None:
    previous = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        for number in previous:
            state = ConsumerLifecycle("svc", 0)
            with state.running(install_signal_handlers=True):
                signal.raise_signal(number)
                assert state.stopping is True
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def test_the_idempotency_warning_names_what_runs_the_handler_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ConsumerLifecycle("mailer", 0).warn_idempotency_off("every redelivery", queue="mailer.q")
    line = json.loads(capsys.readouterr().out)
    assert line["level"] == "WARNING"
    assert line["message"] == (
        "idempotency is off: no EVENTINFRA_REDIS_* variables, so every redelivery runs the "
        "handler again (at-least-once)"
    )
    assert (line["consumer"], line["queue"]) == ("mailer", "mailer.q")


def test_the_health_server_still_imports_from_its_former_rabbitmq_module() -> None:
    assert former_health.HealthServer is health.HealthServer
    assert former_health.READINESS_PATH == health.READINESS_PATH == "/readyz"
