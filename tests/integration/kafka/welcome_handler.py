"""The handler the plan-to-runtime test runs: the welcome e-mail, as a Redis write under the
consumer's own key prefix (the only keys its planned Redis user may touch)."""

from __future__ import annotations

import redis.client
from eventinfra_runtime import ReceivedEvent
from eventinfra_runtime.rabbitmq.idempotency import Effects

WELCOMED_KEY = "mailer:welcomed"


def handle(event: ReceivedEvent) -> Effects:
    def welcome(pipe: redis.client.Pipeline) -> None:
        pipe.hset(WELCOMED_KEY, event.payload["userId"], event.event_id)

    return welcome
