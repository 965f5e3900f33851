"""The consumer the crash test runs in subprocesses: its effect is a Redis counter per event."""

from __future__ import annotations

import random
import time

import redis.client

from eventinfra_runtime import ReceivedEvent
from eventinfra_runtime.rabbitmq.idempotency import Effects

EFFECTS_KEY = "test:effects"


def handle(event: ReceivedEvent) -> Effects:
    if str(event.payload["userId"]).startswith("poison"):
        raise RuntimeError("this event always fails")
    time.sleep(random.uniform(0.005, 0.03))  # the work; SIGKILL lands here most often

    def count(pipe: redis.client.Pipeline) -> None:
        pipe.hincrby(EFFECTS_KEY, event.event_id, 1)

    return count
