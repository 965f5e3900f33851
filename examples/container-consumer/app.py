"""The `mailer` container consumer: sends the welcome e-mail for each `user.signup`.

Everything it needs - broker, queue, Redis, schemas, credentials - comes from what eventinfra's
ContainerConsumer injects (runtime/CONTRACT.md, role `container-consumer`); the runtime validates
each payload against its schema, skips duplicates and acks only after the handler returned.
"""

from __future__ import annotations

import logging

from eventinfra_runtime import ReceivedEvent
from eventinfra_runtime.rabbitmq.consumer import RabbitMQConsumer

log = logging.getLogger("mailer")


def send_welcome_email(event: ReceivedEvent) -> None:
    """Raise to have the message redelivered (the queue's delivery-limit dead-letters it)."""
    log.info(
        "welcome e-mail for user %s (plan %s), attempt %d",
        event.payload["userId"],
        event.payload["plan"],
        event.attempt,
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    # Runs until SIGTERM: finishes the message in hand, requeues the prefetched rest.
    RabbitMQConsumer(send_welcome_email).run()
