"""Idempotency records in Redis, with Powertools' semantics (in-progress, then completed)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Final

import redis
import redis.client
from redis.backoff import NoBackoff
from redis.retry import Retry

from eventinfra_runtime.contract import RedisSettings, RuntimeConfig

__all__ = [
    "AlreadyCompleted",
    "IdempotencyConflict",
    "RedisIdempotencyStore",
    "client_for",
    "store_for",
]

COMPLETED: Final = "COMPLETED"
IN_PROGRESS_PREFIX: Final = "INPROGRESS:"
POLL_SECONDS: Final = 0.2
# Deletes the in-progress record only if it is still ours (its token), atomically.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Effects = Callable[[redis.client.Pipeline], None]
"""Redis writes a handler wants committed in the same transaction as the completed record."""


class AlreadyCompleted(Exception):
    """A completed record exists: this delivery is a duplicate."""


class IdempotencyConflict(Exception):
    """Our in-progress record expired and another consumer took the event over."""


# One immediate retry, for a pooled connection the server closed while idle. redis-py's own
# default (10 retries with backoff, each waiting up to the socket timeouts) would hold a consumer
# for up to a minute in one call when Redis is unreachable: past its liveness threshold, and
# past RabbitMQ's heartbeat timeout. The consumers' own backoff and readiness take it from here.
REDIS_RETRY: Final = Retry(NoBackoff(), 1)
REDIS_TIMEOUT_SECONDS: Final = 5


def client_for(settings: RedisSettings) -> redis.Redis:
    username, password = settings.credentials()
    return redis.Redis(
        host=settings.host,
        port=settings.port,
        username=username or None,
        password=password or None,
        ssl=settings.tls,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        retry=REDIS_RETRY,
        decode_responses=True,
    )


def store_for(
    config: RuntimeConfig, redis_client: redis.Redis | None = None
) -> RedisIdempotencyStore | None:
    """The consumer's idempotency store, on `redis_client` or the configured Redis; None when
    the topology turned idempotency off (no EVENTINFRA_REDIS_*): at-least-once, no store."""
    idempotency = config.idempotency
    if config.redis is None or idempotency is None:
        return None
    return RedisIdempotencyStore(
        redis_client if redis_client is not None else client_for(config.redis),
        config.redis.key_prefix,
        idempotency.ttl_seconds,
        idempotency.in_progress_seconds,
    )


class RedisIdempotencyStore:
    """`SET NX PX` records, like Powertools' persistence layers but without a Lambda context.

    Powertools' own RedisCachePersistenceLayer is not used: outside Lambda it has no remaining
    time to derive an in-progress expiry from, so a consumer killed mid-message would block its
    event until the full record TTL (a day) instead of `in_progress_seconds`.

    * `begin` writes `INPROGRESS:<token>` with expiry `in_progress_seconds` if no record exists.
      A concurrent duplicate waits (polling, heartbeats kept by `sleep`) until that record is
      completed (duplicate: `AlreadyCompleted`) or expires (its holder died: take over).
    * `complete` replaces our in-progress record by `COMPLETED` with expiry `ttl_seconds`, in one
      MULTI with the handler's optional Redis `Effects`, only while the record is still ours.
    * `release` deletes our in-progress record after a failure, so the retry runs the handler.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        ttl_seconds: int,
        in_progress_seconds: int,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_ms = ttl_seconds * 1000
        self.in_progress_ms = in_progress_seconds * 1000
        self._release = client.register_script(_RELEASE)

    def key(self, service: str, identity: Any) -> str:
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        return f"{self.prefix}{service}#{digest}"

    def begin(self, key: str, sleep: Callable[[float], None] = time.sleep) -> str:
        """Return our in-progress token; raise `AlreadyCompleted` for a duplicate."""
        token = IN_PROGRESS_PREFIX + secrets.token_hex(8)
        deadline = time.monotonic() + self.in_progress_ms / 1000 + 5
        while True:
            if self.client.set(key, token, nx=True, px=self.in_progress_ms):
                return token
            current = self.client.get(key)
            if current == COMPLETED:
                raise AlreadyCompleted(key)
            if time.monotonic() > deadline:
                # Cannot happen while in-progress records expire; never loop forever.
                raise IdempotencyConflict(key)
            sleep(POLL_SECONDS)

    def complete(self, key: str, token: str, effects: Effects | None = None) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                if pipe.get(key) != token:
                    raise IdempotencyConflict(key)
                pipe.multi()
                if effects is not None:
                    effects(pipe)
                pipe.set(key, COMPLETED, px=self.ttl_ms)
                pipe.execute()
            except redis.WatchError as error:
                raise IdempotencyConflict(key) from error

    def release(self, key: str, token: str) -> None:
        self._release(keys=[key], args=[token])
