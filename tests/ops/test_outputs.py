"""Reading a stack's outputs and the RabbitMQ credentials: every mistake is one sentence."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from eventinfra.errors import EventInfraError
from eventinfra.ops import model
from eventinfra.ops.outputs import load_outputs, parse_outputs
from eventinfra.ops.rabbitmq import connection_parameters
from tests.support import REPOSITORY

# Stack outputs as `pulumi stack output --json` writes them: JSON, whose values parse_outputs checks.
AWS: dict[str, Any] = {
    "queue_urls": {"orders": "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-orders"},
    "queue_arns": {"orders": "arn:aws:sqs:eu-west-1:123456789012:dev-orders"},
    "dead_letter_queue_arns": {"orders": "arn:aws:sqs:eu-west-1:123456789012:dev-orders-dlq"},
    "parking_queue_urls": {
        "invoice.paid": "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-invoice-paid"
    },
    "alerts_topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts",
}
KAFKA = {
    "namespace": "events",
    "kafka_cluster": "kfk-kafka",
    "bootstrap": "kfk-kafka-kafka-bootstrap.events.svc:9093",
    "topics": {"user.signup": "user.signup"},
    "consumer_groups": {"mailer": "mailer"},
    "dead_letter_topics": {"mailer": "mailer.dead-letter"},
    "retry_topics": {"mailer": "mailer.retry"},
    "ops_group": "eventinfra-ops",
    "ops_secret": "kfk-eventinfra-ops",
}
RABBITMQ = {
    "namespace": "events",
    "vhost": "k8s",
    "rabbitmq_cluster": "k8s-rabbitmq",
    "exchanges": {"user.signup": "user.signup", "invoice.paid": "invoice.paid"},
    "queues": {"mailer": "mailer"},
    "dead_letter_queues": {"mailer": "mailer.dead-letter"},
    "credential_secrets": {"mailer": "k8s-mailer-rabbitmq"},
}


def test_aws_outputs_by_the_names_the_program_exports() -> None:
    outputs = parse_outputs(AWS, "out.json")

    assert outputs.broker == "sns-sqs"
    assert outputs.queues == AWS["queue_urls"]
    assert outputs.dead_letter_queues == AWS["dead_letter_queue_arns"]
    assert outputs.parking_queue("invoice.paid") == AWS["parking_queue_urls"]["invoice.paid"]


def test_dead_letter_queue_urls_are_used_once_the_stack_exports_them() -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-orders-dlq"
    outputs = parse_outputs({**AWS, "dead_letter_queue_urls": {"orders": url}}, "out.json")

    assert outputs.dead_letter_queues == {"orders": url}


def test_rabbitmq_parking_queues_follow_the_backends_naming() -> None:
    outputs = parse_outputs(RABBITMQ, "out.json")

    assert outputs.broker == "rabbitmq"
    assert outputs.vhost == "k8s"
    assert outputs.parking_queues == {
        "user.signup": "user.signup.parking",
        "invoice.paid": "invoice.paid.parking",
    }


def test_files_merge_later_ones_win_per_key(tmp_path: Path) -> None:
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps(AWS))
    new = "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-billing"
    after.write_text(json.dumps({**AWS, "queue_urls": {"billing": new}, "parking_queue_urls": {}}))

    outputs = load_outputs([before, after])

    assert outputs.queues == {**AWS["queue_urls"], "billing": new}
    assert "invoice.paid" in outputs.parking_queues  # kept from the earlier file


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"topic_arns": {}},
            "out.json: expected the outputs of an eventinfra stack (`queue_urls` for SNS/SQS, "
            "`queues` and `vhost` for RabbitMQ, or `kafka_cluster` for Kafka), but found the "
            "keys ['topic_arns'].",
        ),
        (
            # A Kafka stack deployed before the retry topics: one sentence says what to do.
            {
                "kafka_cluster": "kfk-kafka",
                "bootstrap": "kfk-kafka-kafka-bootstrap.events.svc:9093",
                "ops_group": "eventinfra-ops",
                "dead_letter_topics": {"mailer": "mailer.dead-letter"},
            },
            "1 problem in the stack outputs (out.json):\n"
            "  - `retry_topics` is missing: the stack was deployed before eventinfra gave each "
            "Kafka consumer a retry topic; run `pulumi up`, then save the outputs again.",
        ),
        (
            {"kafka_cluster": "kfk-kafka", "dead_letter_topics": [], "retry_topics": {}},
            "3 problems in the stack outputs (out.json):\n"
            "  - `dead_letter_topics` must map names to strings, but it is [].\n"
            "  - `bootstrap` must be a non-empty string, but it is None.\n"
            "  - `ops_group` must be a non-empty string, but it is None.",
        ),
        (
            {"queue_urls": {"orders": 3}},
            "3 problems in the stack outputs (out.json):\n"
            "  - `queue_urls` must map names to strings, but it is {'orders': 3}.\n"
            '  - `queue_arns` is missing; expected an object like {"orders": "…"}.\n'
            '  - `dead_letter_queue_arns` is missing; expected an object like {"orders": "…"}.',
        ),
    ],
)
def test_malformed_outputs_are_one_error(document: dict[str, object], message: str) -> None:
    with pytest.raises(EventInfraError) as raised:
        parse_outputs(document, "out.json")

    assert str(raised.value) == message


def test_kafka_outputs_give_each_consumer_its_dead_letter_and_retry_topic() -> None:
    outputs = parse_outputs(KAFKA, "out.json")

    assert outputs.broker == "kafka"
    assert outputs.dead_letter_queues == {"mailer": "mailer.dead-letter"}
    # A Kafka consumer's own "queue" is its retry topic: what a redrive writes to.
    assert outputs.queues == {"mailer": "mailer.retry"}
    assert outputs.parking_queues == {}
    assert (outputs.kafka_bootstrap, outputs.ops_group, outputs.ops_secret) == (
        "kfk-kafka-kafka-bootstrap.events.svc:9093",
        "eventinfra-ops",
        "kfk-eventinfra-ops",
    )


def test_kafka_outputs_must_give_every_consumer_a_retry_topic() -> None:
    document = {**KAFKA, "dead_letter_topics": {"mailer": "mailer.dead-letter", "a": "a.dl"}}
    with pytest.raises(EventInfraError) as raised:
        parse_outputs(document, "out.json")

    assert str(raised.value) == (
        "the stack outputs (out.json): `retry_topics` must name every consumer of "
        "`dead_letter_topics`, but it lacks ['a']."
    )


def test_the_example_program_exports_what_the_kafka_backend_reads() -> None:
    program = (REPOSITORY / "__main__.py").read_text()
    for name in ("kafka_cluster", "bootstrap", "dead_letter_topics", "retry_topics", "ops_group"):
        assert f'pulumi.export("{name}"' in program, name


def test_an_unknown_event_names_the_events_with_a_parking_queue() -> None:
    with pytest.raises(EventInfraError) as raised:
        parse_outputs(AWS, "out.json").parking_queue("order.placed")

    assert str(raised.value) == (
        "Event 'order.placed' has no parking queue in the stack's outputs (out.json); events "
        "with one: ['invoice.paid']."
    )


def test_a_file_that_is_not_json_names_its_line(tmp_path: Path) -> None:
    file = tmp_path / "out.json"
    file.write_text('{\n  "queue_urls": \n}')

    with pytest.raises(EventInfraError) as raised:
        load_outputs([file])

    assert str(raised.value).startswith(f"{file}:3: expected the JSON that `pulumi stack output")


def test_without_a_file_or_the_pulumi_cli_the_error_says_what_to_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(EventInfraError) as raised:
        load_outputs([])

    assert "Expected --outputs FILE (saved with `pulumi stack output --json > FILE`)" in str(
        raised.value
    )


def test_rabbitmq_credentials_from_a_mounted_secret_folder(tmp_path: Path) -> None:
    (tmp_path / "username").write_text("operator\n")
    (tmp_path / "password").write_text("s3cret\n")
    (tmp_path / "host").write_text("k8s-rabbitmq.events.svc")
    (tmp_path / "port").write_text("5671")

    parameters = connection_parameters(
        parse_outputs(RABBITMQ, "out.json"), credentials_dir=tmp_path, environ={}
    )

    assert (parameters.host, parameters.port, parameters.virtual_host) == (
        "k8s-rabbitmq.events.svc",
        5671,
        "k8s",
    )
    assert parameters.credentials.username == "operator"
    assert parameters.ssl_options is not None  # 5671 is AMQPS


def test_a_url_without_a_vhost_uses_the_stacks() -> None:
    parameters = connection_parameters(
        parse_outputs(RABBITMQ, "out.json"), url="amqp://op:pw@localhost:5672", environ={}
    )

    assert (parameters.virtual_host, parameters.credentials.username) == ("k8s", "op")


def test_missing_credentials_name_the_clusters_default_user_secret() -> None:
    with pytest.raises(EventInfraError) as raised:
        connection_parameters(parse_outputs(RABBITMQ, "out.json"), environ={})

    assert "the cluster's `k8s-rabbitmq-default-user` Secret in namespace 'events'" in str(
        raised.value
    )


def test_a_bad_url_hides_the_password() -> None:
    with pytest.raises(EventInfraError) as raised:
        connection_parameters(
            parse_outputs(RABBITMQ, "out.json"), url="http://op:pw@host", environ={}
        )

    assert "'http://op:***@host'" in str(raised.value)
    assert "pw" not in str(raised.value)


def test_the_attribute_names_are_the_runtimes() -> None:
    source = (REPOSITORY / "runtime/src/eventinfra_runtime/envelope.py").read_text()
    runtime = {
        node.target.id: node.value.value
        for node in ast.parse(source).body
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and isinstance(node.value, ast.Constant)
    }

    names = ("EVENT_ID", "EVENT_TYPE", "SCHEMA_VERSION", "TRACEPARENT", "REJECTION_REASON")
    assert {name: getattr(model, name) for name in names} == {name: runtime[name] for name in names}
