"""The configuration contract: what eventinfra's components inject and how the runtime reads it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

from eventinfra_runtime.errors import ConfigurationError

__all__ = [
    "CONSUMER_ROLES",
    "REQUIRED_VARIABLES",
    "VARIABLES",
    "EventSettings",
    "IdempotencySettings",
    "KafkaSettings",
    "RabbitMQSettings",
    "RedisSettings",
    "Role",
    "RuntimeConfig",
    "load",
]

Role = Literal[
    "sns-producer",
    "lambda-consumer",
    "rabbitmq-producer",
    "container-consumer",
    "kafka-producer",
    "kafka-consumer",
]
CONSUMER_ROLES: Final = ("lambda-consumer", "container-consumer", "kafka-consumer")
# The container consumers, whose idempotency store is Redis (all five variables, or none).
_REDIS_ROLES: Final = ("container-consumer", "kafka-consumer")

# --- Every process ---
BROKER: Final = "EVENTINFRA_BROKER"  # "sns", "rabbitmq" or "kafka"
SERVICE: Final = "EVENTINFRA_SERVICE"  # the producer's or consumer's name in the topology
# JSON object, one entry per event the process publishes or consumes:
# {"user.signup": {"destination": "<topic ARN | exchange | Kafka topic>", "schema_version": "1",
#                  "fifo": false, "group_key": null, "attributes": ["plan"]}}
# `attributes` (optional, SNS producers): the payload fields consumers' subscriptions filter on;
# the publisher copies each one present in the payload into a message attribute.
EVENTS: Final = "EVENTINFRA_EVENTS"
# Exactly one of these two: a folder holding `<event type>.json` (mounted ConfigMap, or a folder
# in the Lambda archive: Lambda's 4 KB limit on all variables leaves no room for schemas), or a
# JSON object {event type: schema}.
SCHEMAS_DIR: Final = "EVENTINFRA_SCHEMAS_DIR"
SCHEMAS: Final = "EVENTINFRA_SCHEMAS"

# --- Consumers ---
IDEMPOTENCY_KEY: Final = "EVENTINFRA_IDEMPOTENCY_KEY"  # payload field; unset: the event id
IDEMPOTENCY_TTL_SECONDS: Final = "EVENTINFRA_IDEMPOTENCY_TTL_SECONDS"

# --- Lambda consumers (SQS) ---
IDEMPOTENCY_TABLE: Final = "EVENTINFRA_IDEMPOTENCY_TABLE"
DEAD_LETTER_QUEUE_URL: Final = "EVENTINFRA_DEAD_LETTER_QUEUE_URL"

# --- RabbitMQ producers and consumers ---
RABBITMQ_HOST: Final = "EVENTINFRA_RABBITMQ_HOST"
RABBITMQ_PORT: Final = "EVENTINFRA_RABBITMQ_PORT"
RABBITMQ_VHOST: Final = "EVENTINFRA_RABBITMQ_VHOST"
RABBITMQ_TLS: Final = "EVENTINFRA_RABBITMQ_TLS"  # "true" or "false"
# A mounted Secret: files `username` and `password`, re-read at every (re)connection.
RABBITMQ_CREDENTIALS_DIR: Final = "EVENTINFRA_RABBITMQ_CREDENTIALS_DIR"

# --- Kafka producers and consumers ---
KAFKA_BOOTSTRAP: Final = "EVENTINFRA_KAFKA_BOOTSTRAP"  # host:port[,host:port...]
KAFKA_SECURITY: Final = "EVENTINFRA_KAFKA_SECURITY"  # one of KAFKA_SECURITY_CHOICES
# The mounted KafkaUser Secret, read at every (re)start: its files per security mode below.
KAFKA_CREDENTIALS_DIR: Final = "EVENTINFRA_KAFKA_CREDENTIALS_DIR"
KAFKA_CA_FILE: Final = "EVENTINFRA_KAFKA_CA_FILE"  # the cluster CA certificate (PEM)

# --- Kafka consumers ---
KAFKA_TOPICS: Final = "EVENTINFRA_KAFKA_TOPICS"  # comma-separated
KAFKA_GROUP: Final = "EVENTINFRA_KAFKA_GROUP"
KAFKA_DEAD_LETTER_TOPIC: Final = "EVENTINFRA_KAFKA_DEAD_LETTER_TOPIC"
# Runs of the handler on one record before it is dead-lettered (the topology's max_receive_count).
MAX_ATTEMPTS: Final = "EVENTINFRA_MAX_ATTEMPTS"

# --- Container consumers (RabbitMQ; the Kafka consumer shares the Redis, health and
# idempotency variables) ---
RABBITMQ_QUEUE: Final = "EVENTINFRA_RABBITMQ_QUEUE"
PREFETCH: Final = "EVENTINFRA_PREFETCH"
REDIS_HOST: Final = "EVENTINFRA_REDIS_HOST"
REDIS_PORT: Final = "EVENTINFRA_REDIS_PORT"
REDIS_TLS: Final = "EVENTINFRA_REDIS_TLS"
REDIS_CREDENTIALS_DIR: Final = "EVENTINFRA_REDIS_CREDENTIALS_DIR"  # files `username`, `password`
REDIS_KEY_PREFIX: Final = "EVENTINFRA_REDIS_KEY_PREFIX"
IDEMPOTENCY_IN_PROGRESS_SECONDS: Final = "EVENTINFRA_IDEMPOTENCY_IN_PROGRESS_SECONDS"
HEALTH_PORT: Final = "EVENTINFRA_HEALTH_PORT"

# Defaults for the optional variables, with the reason.
DEFAULT_IDEMPOTENCY_TTL_SECONDS: Final = 3_600  # Powertools' default record lifetime
# Longer than any handler may run, shorter than the redelivery a crash causes is worth waiting.
DEFAULT_IN_PROGRESS_SECONDS: Final = 60
DEFAULT_PREFETCH: Final = 10
DEFAULT_HEALTH_PORT: Final = 8080
# Kafka has no redelivery counter: a failing record is retried in place, then dead-lettered, so
# one poison record does not stop its partition for ever.
DEFAULT_MAX_ATTEMPTS: Final = 3
# The topology's max_receive_count range (the SQS redrive limit), so every value it allows works.
MAX_ATTEMPTS_LIMIT: Final = 1_000
CREDENTIAL_FILES: Final = ("username", "password")

# `tls`: client certificate (Strimzi's KafkaUser Secret), `scram-sha-512`: password (over TLS
# when a CA file is given), `plaintext`: no authentication, local development only.
KAFKA_SECURITY_CHOICES: Final = ("tls", "scram-sha-512", "plaintext")
KAFKA_CREDENTIAL_FILES: Final[Mapping[str, tuple[str, ...]]] = {
    "tls": ("user.crt", "user.key"),
    "scram-sha-512": CREDENTIAL_FILES,
    "plaintext": (),
}

_COMMON: Final = (BROKER, SERVICE, EVENTS)
_RABBITMQ: Final = (
    RABBITMQ_HOST,
    RABBITMQ_PORT,
    RABBITMQ_VHOST,
    RABBITMQ_TLS,
    RABBITMQ_CREDENTIALS_DIR,
)

_KAFKA: Final = (KAFKA_BOOTSTRAP, KAFKA_SECURITY)
# Required by the security mode, not by the role: checked in `load`.
_KAFKA_BY_SECURITY: Final = (KAFKA_CREDENTIALS_DIR, KAFKA_CA_FILE)

# A container consumer's idempotency store: all of these, or none (idempotency off: the consumer
# runs at-least-once, and says so once at start).
_REDIS: Final = (REDIS_HOST, REDIS_PORT, REDIS_TLS, REDIS_CREDENTIALS_DIR, REDIS_KEY_PREFIX)

REQUIRED_VARIABLES: Final[Mapping[Role, tuple[str, ...]]] = {
    "sns-producer": _COMMON,
    "lambda-consumer": (*_COMMON, IDEMPOTENCY_TABLE, DEAD_LETTER_QUEUE_URL),
    "rabbitmq-producer": (*_COMMON, *_RABBITMQ),
    "container-consumer": (*_COMMON, *_RABBITMQ, RABBITMQ_QUEUE),
    "kafka-producer": (*_COMMON, *_KAFKA),
    "kafka-consumer": (*_COMMON, *_KAFKA, KAFKA_TOPICS, KAFKA_GROUP, KAFKA_DEAD_LETTER_TOPIC),
}
"""Per role, the variables a component must inject (plus one of SCHEMAS_DIR / SCHEMAS)."""

OPTIONAL_VARIABLES: Final[Mapping[Role, tuple[str, ...]]] = {
    "sns-producer": (),
    "lambda-consumer": (IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_SECONDS),
    "rabbitmq-producer": (),
    "container-consumer": (
        IDEMPOTENCY_KEY,
        IDEMPOTENCY_TTL_SECONDS,
        IDEMPOTENCY_IN_PROGRESS_SECONDS,
        PREFETCH,
        HEALTH_PORT,
        *_REDIS,
    ),
    "kafka-producer": _KAFKA_BY_SECURITY,
    "kafka-consumer": (
        *_KAFKA_BY_SECURITY,
        IDEMPOTENCY_KEY,
        IDEMPOTENCY_TTL_SECONDS,
        IDEMPOTENCY_IN_PROGRESS_SECONDS,
        HEALTH_PORT,
        MAX_ATTEMPTS,
        *_REDIS,
    ),
}

VARIABLES: Final = tuple(
    sorted(
        {SCHEMAS_DIR, SCHEMAS}
        | {v for vs in REQUIRED_VARIABLES.values() for v in vs}
        | {v for vs in OPTIONAL_VARIABLES.values() for v in vs}
    )
)
"""Every variable of the contract (CONTRACT.md lists exactly these)."""

_BROKER_OF_ROLE: Final[Mapping[Role, str]] = {
    "sns-producer": "sns",
    "lambda-consumer": "sns",
    "rabbitmq-producer": "rabbitmq",
    "container-consumer": "rabbitmq",
    "kafka-producer": "kafka",
    "kafka-consumer": "kafka",
}

_DESTINATION_OF_BROKER: Final[Mapping[str, str]] = {
    "sns": "topic ARN",
    "rabbitmq": "exchange",
    "kafka": "Kafka topic",
}


@dataclass(frozen=True)
class EventSettings:
    """One event as this process sees it."""

    event_type: str
    schema: Mapping[str, Any]
    schema_version: str
    destination: str | None  # topic ARN or exchange; None for an event only consumed
    fifo: bool
    group_key: str | None  # the payload field whose value is the FIFO message group
    # Payload fields that subscriptions filter on: SNS message attributes when present.
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RabbitMQSettings:
    host: str
    port: int
    vhost: str
    tls: bool
    credentials_dir: Path

    def credentials(self) -> tuple[str, str]:
        """Read now, so a rotated Secret is used at the next connection."""
        return _read_credentials(self.credentials_dir)


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str
    security: str
    """One of KAFKA_SECURITY_CHOICES."""
    credentials_dir: Path | None = None
    """The mounted KafkaUser Secret: `user.crt`/`user.key` (tls) or `username`/`password`."""
    ca_file: Path | None = None
    """The cluster CA certificate (Strimzi's `<cluster>-cluster-ca-cert`, key `ca.crt`)."""
    group: str | None = None
    topics: tuple[str, ...] = ()
    dead_letter_topic: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    """Runs of the handler on one record before it goes to the dead-letter topic."""

    def client_config(self) -> dict[str, Any]:
        """librdkafka settings; credentials are read from their files at every (re)start."""
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap}
        folder = self.credentials_dir
        if self.security == "tls":
            assert folder is not None
            config |= {
                "security.protocol": "SSL",
                "ssl.ca.location": str(self.ca_file),
                "ssl.certificate.location": str(folder / "user.crt"),
                "ssl.key.location": str(folder / "user.key"),
            }
        elif self.security == "scram-sha-512":
            assert folder is not None
            username, password = _read_credentials(folder)
            config |= {
                "security.protocol": "SASL_SSL" if self.ca_file else "SASL_PLAINTEXT",
                "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": username,
                "sasl.password": password,
            }
            if self.ca_file:
                config["ssl.ca.location"] = str(self.ca_file)
        return config


@dataclass(frozen=True)
class RedisSettings:
    host: str
    port: int
    tls: bool
    credentials_dir: Path
    key_prefix: str

    def credentials(self) -> tuple[str, str]:
        return _read_credentials(self.credentials_dir)


@dataclass(frozen=True)
class IdempotencySettings:
    key: str | None  # a payload field; None: the event id
    ttl_seconds: int
    in_progress_seconds: int
    table: str | None  # DynamoDB (Lambda consumers)


@dataclass(frozen=True)
class RuntimeConfig:
    role: Role
    broker: str
    service: str
    events: Mapping[str, EventSettings]
    idempotency: IdempotencySettings | None = None
    dead_letter_queue_url: str | None = None
    rabbitmq: RabbitMQSettings | None = None
    kafka: KafkaSettings | None = None
    queue: str | None = None
    prefetch: int = DEFAULT_PREFETCH
    redis: RedisSettings | None = None
    health_port: int = DEFAULT_HEALTH_PORT


def load(role: Role, environ: Mapping[str, str] | None = None) -> RuntimeConfig:
    """Parse the environment for `role`; every problem is collected and raised once."""
    env = os.environ if environ is None else environ
    problems: list[str] = []

    def text(name: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            problems.append(f"{name} must be set (role {role}), but it is missing or empty.")
        return value

    def optional_text(name: str) -> str | None:
        return env.get(name, "").strip() or None

    def integer(
        name: str, default: int | None = None, minimum: int = 0, maximum: int | None = None
    ) -> int:
        raw = env.get(name, "").strip()
        if not raw:
            if default is None:
                problems.append(f"{name} must be set (role {role}), but it is missing or empty.")
            return default or 0
        try:
            value = int(raw)
        except ValueError:
            problems.append(f"{name} must be an integer like '10', but it is {raw!r}.")
            return 0
        if value < minimum:
            problems.append(f"{name} must be at least {minimum}, but it is {value}.")
        elif maximum is not None and value > maximum:
            problems.append(f"{name} must be at most {maximum}, but it is {value}.")
        return value

    def boolean(name: str) -> bool:
        raw = text(name).lower()
        if raw and raw not in ("true", "false"):
            problems.append(f"{name} must be 'true' or 'false', but it is {raw!r}.")
        return raw == "true"

    def directory(name: str, files: tuple[str, ...] = CREDENTIAL_FILES) -> Path:
        raw = text(name)
        path = Path(raw)
        if raw:
            missing = [f for f in files if not (path / f).is_file()]
            if missing:
                problems.append(
                    f"{name} must name a folder holding the files {list(files)!r} "
                    f"(a mounted Secret), but {str(path)!r} lacks {missing!r}."
                )
        return path

    def file(name: str) -> Path:
        raw = text(name)
        if raw and not Path(raw).is_file():
            problems.append(
                f"{name} must name a file (a mounted Secret's key), but {raw!r} is not one."
            )
        return Path(raw)

    expected_broker = _BROKER_OF_ROLE[role]
    broker = text(BROKER)
    if broker and broker != expected_broker:
        problems.append(f"{BROKER} must be {expected_broker!r} for role {role}, not {broker!r}.")
    service = text(SERVICE)
    schemas = _load_schemas(env, problems)
    events = _load_events(env, schemas, role, problems)

    config = RuntimeConfig(role=role, broker=broker, service=service, events=events)
    redis_given = [name for name in _REDIS if env.get(name, "").strip()]
    if role in _REDIS_ROLES and redis_given and len(redis_given) < len(_REDIS):
        missing = [name for name in _REDIS if name not in redis_given]
        problems.append(
            f"The idempotency store needs all of {list(_REDIS)!r} or none (idempotency off), "
            f"but only {redis_given!r} are set; missing {missing!r}."
        )
    idempotency_off = role in _REDIS_ROLES and not redis_given
    if role in CONSUMER_ROLES and not idempotency_off:
        config = replace(
            config,
            idempotency=IdempotencySettings(
                key=optional_text(IDEMPOTENCY_KEY),
                ttl_seconds=integer(IDEMPOTENCY_TTL_SECONDS, DEFAULT_IDEMPOTENCY_TTL_SECONDS, 1),
                in_progress_seconds=integer(
                    IDEMPOTENCY_IN_PROGRESS_SECONDS, DEFAULT_IN_PROGRESS_SECONDS, 1
                ),
                table=text(IDEMPOTENCY_TABLE) if role == "lambda-consumer" else None,
            ),
        )
    if role == "lambda-consumer":
        config = replace(config, dead_letter_queue_url=text(DEAD_LETTER_QUEUE_URL))
    if expected_broker == "rabbitmq":
        config = replace(
            config,
            rabbitmq=RabbitMQSettings(
                host=text(RABBITMQ_HOST),
                port=integer(RABBITMQ_PORT, minimum=1),
                vhost=text(RABBITMQ_VHOST),
                tls=boolean(RABBITMQ_TLS),
                credentials_dir=directory(RABBITMQ_CREDENTIALS_DIR),
            ),
        )
    if role == "container-consumer":
        config = replace(
            config,
            queue=text(RABBITMQ_QUEUE),
            prefetch=integer(PREFETCH, DEFAULT_PREFETCH, 1),
            health_port=integer(HEALTH_PORT, DEFAULT_HEALTH_PORT, 0),
        )
    if expected_broker == "kafka":
        config = replace(config, kafka=_kafka_settings(role, env, text, directory, file, problems))
    if role == "kafka-consumer" and config.kafka is not None:
        max_attempts = integer(MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS, 1, MAX_ATTEMPTS_LIMIT)
        config = replace(
            config,
            kafka=replace(config.kafka, max_attempts=max_attempts),
            health_port=integer(HEALTH_PORT, DEFAULT_HEALTH_PORT, 0),
        )
    if role in _REDIS_ROLES and not idempotency_off:
        config = replace(
            config,
            redis=RedisSettings(
                host=text(REDIS_HOST),
                port=integer(REDIS_PORT, minimum=1),
                tls=boolean(REDIS_TLS),
                credentials_dir=directory(REDIS_CREDENTIALS_DIR),
                key_prefix=text(REDIS_KEY_PREFIX),
            ),
        )
    if problems:
        raise ConfigurationError(problems)
    return config


def _kafka_settings(
    role: Role,
    env: Mapping[str, str],
    text: Callable[[str], str],
    directory: Callable[[str, tuple[str, ...]], Path],
    file: Callable[[str], Path],
    problems: list[str],
) -> KafkaSettings:
    """The broker connection; which of the credentials and CA variables are needed follows from
    the security mode, and a consumer also needs its group, topics and dead-letter topic."""
    bootstrap = text(KAFKA_BOOTSTRAP)
    security = text(KAFKA_SECURITY)
    if security and security not in KAFKA_SECURITY_CHOICES:
        problems.append(
            f"{KAFKA_SECURITY} must be one of {list(KAFKA_SECURITY_CHOICES)!r}, "
            f"but it is {security!r}."
        )
    credentials_dir: Path | None = None
    files = KAFKA_CREDENTIAL_FILES.get(security, ())
    if files:
        credentials_dir = directory(KAFKA_CREDENTIALS_DIR, files)
    ca_file: Path | None = None
    if security == "tls" or env.get(KAFKA_CA_FILE, "").strip():
        ca_file = file(KAFKA_CA_FILE)
    settings = KafkaSettings(
        bootstrap=bootstrap, security=security, credentials_dir=credentials_dir, ca_file=ca_file
    )
    if role != "kafka-consumer":
        return settings
    topics = tuple(t.strip() for t in text(KAFKA_TOPICS).split(",") if t.strip())
    group = text(KAFKA_GROUP)
    dead_letter_topic = text(KAFKA_DEAD_LETTER_TOPIC)
    if dead_letter_topic and dead_letter_topic in topics:
        problems.append(
            f"{KAFKA_DEAD_LETTER_TOPIC} must not be one of {KAFKA_TOPICS} ({list(topics)!r}), "
            f"because a dead-lettered record would be read again; it is {dead_letter_topic!r}."
        )
    return replace(settings, group=group, topics=topics, dead_letter_topic=dead_letter_topic)


def _read_credentials(folder: Path) -> tuple[str, str]:
    username, password = ((folder / name).read_text().strip() for name in CREDENTIAL_FILES)
    return username, password


def _load_schemas(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    folder = env.get(SCHEMAS_DIR, "").strip()
    inline = env.get(SCHEMAS, "").strip()
    if bool(folder) == bool(inline):
        problems.append(f"Either {SCHEMAS_DIR} or {SCHEMAS} must be set, but not both.")
        return {}
    if inline:
        parsed = _json_object(SCHEMAS, inline, problems)
        return parsed
    schemas: dict[str, Any] = {}
    path = Path(folder)
    if not path.is_dir():
        problems.append(f"{SCHEMAS_DIR} must name a folder, but {folder!r} is not one.")
        return schemas
    for file in sorted(path.glob("*.json")):
        try:
            schemas[file.name.removesuffix(".json")] = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as error:
            problems.append(f"{file} must hold a JSON Schema, but it cannot be read: {error}.")
    return schemas


def _json_object(name: str, raw: str, problems: list[str]) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        problems.append(f"{name} must be a JSON object, but it does not parse: {error}.")
        return {}
    if not isinstance(value, dict):
        problems.append(f"{name} must be a JSON object, but it is a {type(value).__name__}.")
        return {}
    return value


def _load_events(
    env: Mapping[str, str], schemas: Mapping[str, Any], role: Role, problems: list[str]
) -> dict[str, EventSettings]:
    raw = env.get(EVENTS, "").strip()
    if not raw:
        return {}  # reported as missing by the caller
    entries = _json_object(EVENTS, raw, problems)
    events: dict[str, EventSettings] = {}
    for event_type, entry in entries.items():
        where = f"{EVENTS}[{event_type!r}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be an object, but it is {entry!r}.")
            continue
        unknown = set(entry) - {"destination", "schema_version", "fifo", "group_key", "attributes"}
        if unknown:
            problems.append(f"{where} has unknown keys {sorted(unknown)!r}.")
        destination = entry.get("destination")
        if role.endswith("producer") and not destination:
            destination_kind = _DESTINATION_OF_BROKER[_BROKER_OF_ROLE[role]]
            problems.append(f"{where}.destination must name the {destination_kind}.")
        version = entry.get("schema_version")
        if not isinstance(version, str) or not version:
            problems.append(f"{where}.schema_version must be a string like '1', not {version!r}.")
        fifo = entry.get("fifo", False)
        group_key = entry.get("group_key")
        if fifo is not True and fifo is not False:
            problems.append(f"{where}.fifo must be true or false, not {fifo!r}.")
        if fifo is True and not group_key:
            problems.append(
                f"{where}.group_key must name the payload field of the message group, "
                "because the event is FIFO."
            )
        attributes = entry.get("attributes") or []
        if not isinstance(attributes, list) or not all(
            isinstance(a, str) and a for a in attributes
        ):
            problems.append(
                f"{where}.attributes must be a list of payload field names, not {attributes!r}."
            )
            attributes = []
        if event_type not in schemas:
            problems.append(
                f"Event {event_type!r} has no JSON Schema: add {event_type}.json to "
                f"{SCHEMAS_DIR} or a key to {SCHEMAS}."
            )
        events[event_type] = EventSettings(
            event_type=event_type,
            schema=schemas.get(event_type, {}),
            schema_version=str(version),
            destination=destination or None,
            fifo=fifo is True,
            group_key=group_key or None,
            attributes=tuple(attributes),
        )
    return events
