"""Sends the welcome e-mail once per user, however often SQS delivers the event."""

from __future__ import annotations

import json
import logging

from eventinfra_runtime import ReceivedEvent
from eventinfra_runtime.aws.lambda_consumer import sqs_consumer

logger = logging.getLogger(__name__)


def send_welcome_email(event: ReceivedEvent) -> None:
    """Validated against user.signup's schema, and run once per `userId` (the topology's
    idempotency key) by the runtime's Powertools batch processing and idempotency."""
    logger.info(json.dumps({"action": "welcome-email", "userId": event.payload["userId"]}))


handler = sqs_consumer(send_welcome_email)
