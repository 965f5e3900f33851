"""The Kafka consumer the crash test runs in subprocesses (argv: broker, Redis, schemas)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import redis
from crash_handler import handle

from eventinfra_runtime.kafka.consumer import KafkaEventConsumer
from eventinfra_runtime.kafka.settings import KafkaSettings
from eventinfra_runtime.rabbitmq.idempotency import RedisIdempotencyStore

bootstrap, redis_port, redis_password, schemas_dir = sys.argv[1:5]
schema = json.loads((Path(schemas_dir) / "user.signup.json").read_text())
settings = KafkaSettings(
    bootstrap=bootstrap,
    security="plaintext",
    group="mailer",
    topics=("user.signup",),
    dead_letter_topic="mailer.dead-letter",
)
client = redis.Redis(port=int(redis_port), password=redis_password, decode_responses=True)
store = RedisIdempotencyStore(client, "mailer:", ttl_seconds=3600, in_progress_seconds=2)
consumer = KafkaEventConsumer(
    handle, settings, store, {"user.signup": schema}, service="mailer", idempotency_key="userId"
)
consumer.run()
