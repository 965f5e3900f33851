"""RabbitMQ and Kubernetes names of the rabbitmq backend, derived in one place."""

from __future__ import annotations

import re

DEAD_LETTER_SUFFIX = ".dead-letter"
UNROUTABLE_SUFFIX = ".unroutable"
PARKING_SUFFIX = ".parking"
# KEDA's user: `management` tag, vhost access, no permission (reads queue lengths only).
SCALER_USERNAME = "eventinfra-keda"

# Pods with this label (any namespace) may open AMQP connections to the broker: every container
# consumer has it; a producer's pods need it too.
RABBITMQ_CLIENT_LABEL = "eventinfra/rabbitmq-client"
# The label Kubernetes sets on every namespace (1.22+): NetworkPolicies select namespaces by it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

# Where a container consumer reads its credentials: files of a projected Secret volume, never
# environment variables (which leak into crash dumps, `kubectl describe` and child processes).
CREDENTIALS_DIR = "/var/run/secrets/eventinfra"
RABBITMQ_CREDENTIALS_DIR = CREDENTIALS_DIR + "/rabbitmq"
IDEMPOTENCY_CREDENTIALS_DIR = CREDENTIALS_DIR + "/idempotency"
# The event schemas, `<event type>.json` files of a ConfigMap (EVENTINFRA_SCHEMAS_DIR).
SCHEMAS_DIR = "/etc/eventinfra/schemas"
# The environment eventinfra gives every container consumer (the runtime's `container-consumer`
# contract, runtime/CONTRACT.md); a user's `env` may not shadow it. The credential names clients
# read by convention, and the names this backend injected before the contract, are reserved too:
# the credentials are files.
INJECTED_ENV = frozenset(
    {
        "EVENTINFRA_BROKER",
        "EVENTINFRA_SERVICE",
        "EVENTINFRA_EVENTS",
        "EVENTINFRA_SCHEMAS_DIR",
        "EVENTINFRA_SCHEMAS",
        "EVENTINFRA_RABBITMQ_HOST",
        "EVENTINFRA_RABBITMQ_PORT",
        "EVENTINFRA_RABBITMQ_VHOST",
        "EVENTINFRA_RABBITMQ_TLS",
        "EVENTINFRA_RABBITMQ_QUEUE",
        "EVENTINFRA_RABBITMQ_CREDENTIALS_DIR",
        "EVENTINFRA_REDIS_HOST",
        "EVENTINFRA_REDIS_PORT",
        "EVENTINFRA_REDIS_TLS",
        "EVENTINFRA_REDIS_CREDENTIALS_DIR",
        "EVENTINFRA_REDIS_KEY_PREFIX",
        "EVENTINFRA_IDEMPOTENCY_KEY",
        "EVENTINFRA_IDEMPOTENCY_TTL_SECONDS",
        "EVENTINFRA_HEALTH_PORT",
        # The kafka backend's consumers run this Deployment too, with its broker variables.
        "EVENTINFRA_KAFKA_BOOTSTRAP",
        "EVENTINFRA_KAFKA_SECURITY",
        "EVENTINFRA_KAFKA_CA_FILE",
        "EVENTINFRA_KAFKA_CREDENTIALS_DIR",
        "EVENTINFRA_KAFKA_GROUP",
        "EVENTINFRA_KAFKA_TOPICS",
        "EVENTINFRA_KAFKA_DEAD_LETTER_TOPIC",
        "RABBITMQ_CREDENTIALS_DIR",
        "RABBITMQ_QUEUE",
        "RABBITMQ_VHOST",
        "IDEMPOTENCY_CREDENTIALS_DIR",
        "IDEMPOTENCY_KEY_PREFIX",
        "IDEMPOTENCY_TTL_SECONDS",
        "IDEMPOTENCY_KEY",
        "RABBITMQ_URI",
        "RABBITMQ_USERNAME",
        "RABBITMQ_PASSWORD",
        "IDEMPOTENCY_REDIS_URL",
    }
)


def event_exchange(event: str) -> str:
    """The event's topic exchange: its name is the event's, as is every routing key on it."""
    return event


def unroutable_exchange(event: str) -> str:
    return event + UNROUTABLE_SUFFIX


def parking_queue(event: str) -> str:
    return event + PARKING_SUFFIX


def consumer_queue(consumer: str) -> str:
    return consumer


def dead_letter_exchange(consumer: str) -> str:
    return consumer + DEAD_LETTER_SUFFIX


def dead_letter_queue(consumer: str) -> str:
    return consumer + DEAD_LETTER_SUFFIX


def anchored(*names: str) -> str:
    """A permission or policy regex matching exactly these names, like `^(a\\.b|c)$`."""
    escaped = [re.escape(name) for name in sorted(names)]
    return f"^{escaped[0]}$" if len(escaped) == 1 else f"^({'|'.join(escaped)})$"
