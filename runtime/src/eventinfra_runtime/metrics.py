"""Counters of invalid events (CloudWatch EMF on AWS) and of container consumers' outcomes."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Final

__all__ = [
    "EMF_NAMESPACE",
    "INVALID_EVENTS",
    "record_consumed_event",
    "record_dead_lettered_event",
    "record_invalid_event",
    "record_transient_failure",
]

EMF_NAMESPACE: Final = "eventinfra"
INVALID_EVENTS: Final = "InvalidEvents"
_PROMETHEUS_NAME: Final = "eventinfra_invalid_events"

_counter: Any = None
_container_counters: dict[str, Any] = {}
# name → (help, labels): Prometheus counters of the container consumers (RabbitMQ and Kafka),
# exposed as `<name>_total` on the health port's /metrics.
_CONTAINER_COUNTERS: Final = {
    "eventinfra_consumed_events": (
        "Messages a container consumer finished with, by outcome (the log line's `outcome`).",
        ("service", "event_type", "outcome"),
    ),
    "eventinfra_dead_lettered_events": (
        "Messages a container consumer dead-lettered itself, by reason (invalid, poison).",
        ("service", "event_type", "reason"),
    ),
    "eventinfra_transient_failures": (
        "Times a container consumer lost its broker or Redis and will read the message again.",
        ("service", "dependency"),
    ),
}


def _prometheus_counter() -> Any:
    global _counter
    if _counter is None:
        from prometheus_client import Counter

        _counter = Counter(
            _PROMETHEUS_NAME,
            "Events rejected by schema validation, by side (publish/consume) and event type.",
            ["service", "event_type", "side"],
        )
    return _counter


def record_invalid_event(broker: str, service: str, event_type: str, side: str) -> None:
    """One invalid event: an EMF line on stdout (sns) or a Prometheus increment (rabbitmq)."""
    if broker == "sns":
        line = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": EMF_NAMESPACE,
                        "Dimensions": [["Service", "EventType", "Side"]],
                        "Metrics": [{"Name": INVALID_EVENTS, "Unit": "Count"}],
                    }
                ],
            },
            "Service": service,
            "EventType": event_type,
            "Side": side,
            INVALID_EVENTS: 1,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
    else:
        _prometheus_counter().labels(service, event_type, side).inc()


def _container_counter(name: str) -> Any:
    counter = _container_counters.get(name)
    if counter is None:
        from prometheus_client import Counter

        description, labels = _CONTAINER_COUNTERS[name]
        counter = _container_counters[name] = Counter(name, description, list(labels))
    return counter


def record_consumed_event(service: str, event_type: str, outcome: str) -> None:
    """A container consumer finished with a message: `processed`, `duplicate`, ...."""
    _container_counter("eventinfra_consumed_events").labels(service, event_type, outcome).inc()


def record_dead_lettered_event(service: str, event_type: str, reason: str) -> None:
    """A container consumer sent a message to its dead-letter destination (`invalid`, `poison`)."""
    _container_counter("eventinfra_dead_lettered_events").labels(service, event_type, reason).inc()


def record_transient_failure(service: str, dependency: str) -> None:
    """The broker or Redis (`dependency`) failed; the message will be read again."""
    _container_counter("eventinfra_transient_failures").labels(service, dependency).inc()
