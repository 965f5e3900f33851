"""The contract module and CONTRACT.md name the same variables; parsing collects every problem."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import SCHEMAS_DIR, events_json, write_credentials

from eventinfra_runtime import contract
from eventinfra_runtime.errors import ConfigurationError

CONTRACT_MD = Path(__file__).resolve().parents[1] / "CONTRACT.md"


def test_contract_doc_lists_exactly_the_module_variables() -> None:
    documented = set(re.findall(r"^\| `(EVENTINFRA_[A-Z_]+)`", CONTRACT_MD.read_text(), re.M))
    assert documented == set(contract.VARIABLES)


def test_contract_doc_marks_each_role_requirement() -> None:
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(
            r"^\| `(EVENTINFRA_[A-Z_]+)` \|([^\n]*)", CONTRACT_MD.read_text(), re.M
        )
    }
    for role, names in contract.REQUIRED_VARIABLES.items():
        for name in names:
            assert f"{role}*" in rows[name].replace(" ", ""), (name, role)


def test_contract_doc_marks_exactly_the_module_roles_of_each_variable() -> None:
    """Every `role*` and `role?` of the table, and no other, is in REQUIRED/OPTIONAL_VARIABLES."""
    documented: set[tuple[str, str, str]] = set()
    for row in re.finditer(
        r"^\| `(EVENTINFRA_[A-Z_]+)` \|([^|\n]*)\|", CONTRACT_MD.read_text(), re.M
    ):
        for mark in re.finditer(r"([a-z]+-[a-z]+)([*?])", row.group(2)):
            documented.add((row.group(1), mark.group(1), mark.group(2)))
    module = {
        (name, role, kind)
        for kind, table in (("*", contract.REQUIRED_VARIABLES), ("?", contract.OPTIONAL_VARIABLES))
        for role, names in table.items()
        for name in names
    }
    assert documented == module
    assert {role for _, role, _ in documented} == set(contract.REQUIRED_VARIABLES)


def test_lambda_consumer_config_parses() -> None:
    env = {
        contract.BROKER: "sns",
        contract.SERVICE: "welcome-email",
        contract.EVENTS: events_json({"user.signup": None}),
        contract.SCHEMAS_DIR: str(SCHEMAS_DIR),
        contract.IDEMPOTENCY_TABLE: "dev-welcome-email-idempotency",
        contract.DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/dlq",
        contract.IDEMPOTENCY_KEY: "userId",
    }
    config = contract.load("lambda-consumer", env)
    assert config.events["user.signup"].schema["title"] == "user.signup"
    assert config.idempotency == contract.IdempotencySettings(
        "userId", 3600, 60, env[contract.IDEMPOTENCY_TABLE]
    )


def test_container_consumer_config_parses(tmp_path: Path) -> None:
    creds = write_credentials(tmp_path / "creds", "mailer", "pw")
    env = {
        contract.BROKER: "rabbitmq",
        contract.SERVICE: "mailer",
        contract.EVENTS: events_json({"user.signup": None}),
        contract.SCHEMAS: '{"user.signup": {"type": "object"}}',
        contract.RABBITMQ_HOST: "rabbitmq.events.svc",
        contract.RABBITMQ_PORT: "5671",
        contract.RABBITMQ_VHOST: "dev",
        contract.RABBITMQ_TLS: "true",
        contract.RABBITMQ_CREDENTIALS_DIR: str(creds),
        contract.RABBITMQ_QUEUE: "mailer",
        contract.PREFETCH: "5",
        contract.REDIS_HOST: "idempotency-redis",
        contract.REDIS_PORT: "6379",
        contract.REDIS_TLS: "false",
        contract.REDIS_CREDENTIALS_DIR: str(creds),
        contract.REDIS_KEY_PREFIX: "dev:",
    }
    config = contract.load("container-consumer", env)
    assert config.rabbitmq is not None and config.rabbitmq.credentials() == ("mailer", "pw")
    assert config.prefetch == 5 and config.queue == "mailer" and config.rabbitmq.tls


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    env = {
        contract.BROKER: "sns",
        contract.EVENTS: '{"order.placed": {"fifo": true, "schema_version": 1}}',
        contract.RABBITMQ_PORT: "abc",
        contract.RABBITMQ_TLS: "yes",
        contract.RABBITMQ_CREDENTIALS_DIR: str(tmp_path),
    }
    with pytest.raises(ConfigurationError) as caught:
        contract.load("rabbitmq-producer", env)
    text = " ".join(caught.value.problems)
    for expected in (
        "EVENTINFRA_BROKER must be 'rabbitmq' for role rabbitmq-producer, not 'sns'.",
        "EVENTINFRA_SERVICE must be set",
        "Either EVENTINFRA_SCHEMAS_DIR or EVENTINFRA_SCHEMAS must be set, but not both.",
        "EVENTINFRA_EVENTS['order.placed'].destination must name the exchange.",
        "EVENTINFRA_EVENTS['order.placed'].schema_version must be a string like '1', not 1.",
        "EVENTINFRA_EVENTS['order.placed'].group_key must name the payload field",
        "EVENTINFRA_RABBITMQ_PORT must be an integer like '10', but it is 'abc'.",
        "EVENTINFRA_RABBITMQ_TLS must be 'true' or 'false', but it is 'yes'.",
        "lacks ['username', 'password']",
        "EVENTINFRA_RABBITMQ_HOST must be set",
    ):
        assert expected in text


def test_event_attributes_parse_and_default_to_none() -> None:
    env = {
        contract.BROKER: "sns",
        contract.SERVICE: "accounts-api",
        contract.SCHEMAS: '{"user.signup": {"type": "object"}, "order.placed": {}}',
        contract.EVENTS: json.dumps(
            {
                "user.signup": {
                    "destination": "arn",
                    "schema_version": "1",
                    "attributes": ["plan"],
                },
                "order.placed": {"destination": "arn", "schema_version": "1"},
            }
        ),
    }
    config = contract.load("sns-producer", env)
    assert config.events["user.signup"].attributes == ("plan",)
    assert config.events["order.placed"].attributes == ()
    env[contract.EVENTS] = (
        '{"user.signup": {"destination": "arn", "schema_version": "1", "attributes": "plan"}}'
    )
    with pytest.raises(ConfigurationError, match="attributes must be a list of payload field"):
        contract.load("sns-producer", env)


def _container_consumer_env(tmp_path: Path) -> dict[str, str]:
    creds = write_credentials(tmp_path / "creds", "mailer", "pw")
    return {
        contract.BROKER: "rabbitmq",
        contract.SERVICE: "mailer",
        contract.EVENTS: events_json({"user.signup": None}),
        contract.SCHEMAS: '{"user.signup": {"type": "object"}}',
        contract.RABBITMQ_HOST: "rabbitmq.events.svc",
        contract.RABBITMQ_PORT: "5671",
        contract.RABBITMQ_VHOST: "dev",
        contract.RABBITMQ_TLS: "true",
        contract.RABBITMQ_CREDENTIALS_DIR: str(creds),
        contract.RABBITMQ_QUEUE: "mailer",
    }


def test_container_consumer_without_redis_has_idempotency_off(tmp_path: Path) -> None:
    config = contract.load("container-consumer", _container_consumer_env(tmp_path))
    assert config.redis is None and config.idempotency is None


def test_container_consumer_with_part_of_redis_is_refused(tmp_path: Path) -> None:
    env = {**_container_consumer_env(tmp_path), contract.REDIS_HOST: "idempotency-redis"}
    with pytest.raises(ConfigurationError) as caught:
        contract.load("container-consumer", env)
    assert "all of" in " ".join(caught.value.problems)
    assert "EVENTINFRA_REDIS_KEY_PREFIX" in " ".join(caught.value.problems)


def _kafka_consumer_env(tmp_path: Path) -> dict[str, str]:
    certificates = tmp_path / "kafka"
    certificates.mkdir(exist_ok=True)
    for name in ("user.crt", "user.key"):
        (certificates / name).write_text("PEM\n")
    (tmp_path / "ca.crt").write_text("PEM\n")
    return {
        contract.BROKER: "kafka",
        contract.SERVICE: "mailer",
        contract.EVENTS: events_json({"user.signup": None}),
        contract.SCHEMAS: '{"user.signup": {"type": "object"}}',
        contract.KAFKA_BOOTSTRAP: "kfk-kafka-kafka-bootstrap.events.svc:9093",
        contract.KAFKA_SECURITY: "tls",
        contract.KAFKA_CREDENTIALS_DIR: str(certificates),
        contract.KAFKA_CA_FILE: str(tmp_path / "ca.crt"),
        contract.KAFKA_TOPICS: "user.signup,order.placed",
        contract.KAFKA_GROUP: "mailer",
        contract.KAFKA_DEAD_LETTER_TOPIC: "mailer.dead-letter",
    }


def test_kafka_consumer_config_parses_into_a_tls_client(tmp_path: Path) -> None:
    creds = write_credentials(tmp_path / "redis", "mailer", "pw")
    env = {
        **_kafka_consumer_env(tmp_path),
        contract.REDIS_HOST: "idempotency-redis",
        contract.REDIS_PORT: "6379",
        contract.REDIS_TLS: "false",
        contract.REDIS_CREDENTIALS_DIR: str(creds),
        contract.REDIS_KEY_PREFIX: "mailer:",
        contract.HEALTH_PORT: "9000",
    }
    config = contract.load("kafka-consumer", env)
    assert config.kafka is not None
    assert config.kafka.topics == ("user.signup", "order.placed")
    assert (config.kafka.group, config.kafka.dead_letter_topic) == ("mailer", "mailer.dead-letter")
    assert config.kafka.client_config() == {
        "bootstrap.servers": "kfk-kafka-kafka-bootstrap.events.svc:9093",
        "security.protocol": "SSL",
        "ssl.ca.location": str(tmp_path / "ca.crt"),
        "ssl.certificate.location": str(tmp_path / "kafka" / "user.crt"),
        "ssl.key.location": str(tmp_path / "kafka" / "user.key"),
    }
    assert config.redis is not None and config.idempotency is not None
    assert config.health_port == 9000 and config.rabbitmq is None


def test_kafka_consumer_without_redis_has_idempotency_off(tmp_path: Path) -> None:
    config = contract.load("kafka-consumer", _kafka_consumer_env(tmp_path))
    assert config.redis is None and config.idempotency is None


def test_kafka_consumer_attempts_default_to_three_and_follow_the_variable(
    tmp_path: Path,
) -> None:
    env = _kafka_consumer_env(tmp_path)
    config = contract.load("kafka-consumer", env)
    assert config.kafka is not None and config.kafka.max_attempts == 3
    config = contract.load("kafka-consumer", {**env, contract.MAX_ATTEMPTS: "7"})
    assert config.kafka is not None and config.kafka.max_attempts == 7


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("0", "EVENTINFRA_MAX_ATTEMPTS must be at least 1, but it is 0."),
        ("1001", "EVENTINFRA_MAX_ATTEMPTS must be at most 1000, but it is 1001."),
        ("three", "EVENTINFRA_MAX_ATTEMPTS must be an integer like '10', but it is 'three'."),
    ],
)
def test_kafka_consumer_attempts_out_of_range_are_refused(
    tmp_path: Path, raw: str, problem: str
) -> None:
    env = {**_kafka_consumer_env(tmp_path), contract.MAX_ATTEMPTS: raw}
    with pytest.raises(ConfigurationError) as caught:
        contract.load("kafka-consumer", env)
    assert caught.value.problems == [problem]


def test_kafka_scram_reads_username_and_password_from_the_secret_folder(tmp_path: Path) -> None:
    creds = write_credentials(tmp_path / "scram", "kfk-accounts-api", "secret")
    env = {
        contract.BROKER: "kafka",
        contract.SERVICE: "accounts-api",
        contract.EVENTS: '{"user.signup": {"destination": "user.signup", "schema_version": "1"}}',
        contract.SCHEMAS: '{"user.signup": {"type": "object"}}',
        contract.KAFKA_BOOTSTRAP: "kfk-kafka-kafka-bootstrap.events.svc:9092",
        contract.KAFKA_SECURITY: "scram-sha-512",
        contract.KAFKA_CREDENTIALS_DIR: str(creds),
    }
    config = contract.load("kafka-producer", env)
    assert config.kafka is not None and config.kafka.client_config() == {
        "bootstrap.servers": "kfk-kafka-kafka-bootstrap.events.svc:9092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "kfk-accounts-api",
        "sasl.password": "secret",
    }
    assert config.events["user.signup"].destination == "user.signup"


def test_every_kafka_problem_is_reported_at_once(tmp_path: Path) -> None:
    env = {
        **_kafka_consumer_env(tmp_path),
        contract.KAFKA_CREDENTIALS_DIR: str(tmp_path),
        contract.KAFKA_CA_FILE: str(tmp_path / "missing.crt"),
        contract.KAFKA_TOPICS: "user.signup,mailer.dead-letter",
        contract.KAFKA_GROUP: "",
        contract.KAFKA_BOOTSTRAP: "",
    }
    with pytest.raises(ConfigurationError) as caught:
        contract.load("kafka-consumer", env)
    text = " ".join(caught.value.problems)
    for expected in (
        "EVENTINFRA_KAFKA_BOOTSTRAP must be set (role kafka-consumer)",
        "EVENTINFRA_KAFKA_GROUP must be set (role kafka-consumer)",
        "EVENTINFRA_KAFKA_CREDENTIALS_DIR must name a folder holding the files "
        "['user.crt', 'user.key'] (a mounted Secret)",
        f"EVENTINFRA_KAFKA_CA_FILE must name a file (a mounted Secret's key), but "
        f"{str(tmp_path / 'missing.crt')!r} is not one.",
        "EVENTINFRA_KAFKA_DEAD_LETTER_TOPIC must not be one of EVENTINFRA_KAFKA_TOPICS",
    ):
        assert expected in text
    env = {**_kafka_consumer_env(tmp_path), contract.KAFKA_SECURITY: "ssl"}
    with pytest.raises(ConfigurationError) as caught:
        contract.load("kafka-consumer", env)
    assert caught.value.problems == [
        "EVENTINFRA_KAFKA_SECURITY must be one of ['tls', 'scram-sha-512', 'plaintext'], "
        "but it is 'ssl'."
    ]


def test_a_kafka_producer_event_needs_its_topic() -> None:
    env = {
        contract.BROKER: "kafka",
        contract.SERVICE: "accounts-api",
        contract.EVENTS: '{"user.signup": {"destination": null, "schema_version": "1"}}',
        contract.SCHEMAS: '{"user.signup": {"type": "object"}}',
        contract.KAFKA_BOOTSTRAP: "127.0.0.1:9092",
        contract.KAFKA_SECURITY: "plaintext",
    }
    with pytest.raises(ConfigurationError) as caught:
        contract.load("kafka-producer", env)
    assert caught.value.problems == [
        "EVENTINFRA_EVENTS['user.signup'].destination must name the Kafka topic."
    ]
