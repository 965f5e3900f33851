"""Counters of invalid events: CloudWatch EMF lines on AWS, Prometheus in containers."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Final

__all__ = ["EMF_NAMESPACE", "INVALID_EVENTS", "record_invalid_event"]

EMF_NAMESPACE: Final = "eventinfra"
INVALID_EVENTS: Final = "InvalidEvents"
_PROMETHEUS_NAME: Final = "eventinfra_invalid_events"

_counter: Any = None


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
