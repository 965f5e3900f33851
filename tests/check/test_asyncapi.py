"""`eventinfra docs --asyncapi`: the document, its bindings, and the official AsyncAPI tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventinfra.check.asyncapi import asyncapi_document, event_infos, render
from eventinfra.check.cli import EXIT_INVALID, EXIT_OK, main
from eventinfra.check.synth import synthesize
from tests.support import REPOSITORY, link_runtime
from tests.support.catalogue_tools import parse_asyncapi, schema_errors

GOLDEN = Path(__file__).parent / "golden"
PROJECT_FILES = (
    "Pulumi.yaml",
    "__main__.py",
    "topology.yaml",
    "topology.k8s.yaml",
    "topology.kafka.yaml",
)
PROJECT_FOLDERS = ("stacks", "schemas", "functions")
# One example stack per broker: sns-sqs, rabbitmq, kafka.
STACKS = ("dev", "k8s", "kafka")


def docs(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["docs", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def generate(tmp_path: Path, program: Path, stack: str) -> tuple[Path, dict[str, Any]]:
    target = tmp_path / f"{stack}.asyncapi.yaml"
    code = main(["docs", "--program", str(program), "--stack", stack, "--asyncapi", str(target)])
    assert code == EXIT_OK
    document: dict[str, Any] = yaml.safe_load(target.read_text(encoding="utf-8"))
    return target, document


def copy_project(destination: Path) -> Path:
    destination.mkdir()
    for name in PROJECT_FILES:
        shutil.copy(REPOSITORY / name, destination / name)
    for name in PROJECT_FOLDERS:
        shutil.copytree(REPOSITORY / name, destination / name)
    link_runtime(destination)
    return destination


def edit_topology(project: Path, edit: Any, name: str = "topology.yaml") -> None:
    path = project / name
    topology = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(topology)
    path.write_text(yaml.safe_dump(topology, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("asyncapi")
    return {stack: generate(folder, REPOSITORY, stack) for stack in STACKS}


# --- the upstream tools -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_official_parser_accepts_the_example_documents(
    documents: dict[str, tuple[Path, dict[str, Any]]], stack: str
) -> None:
    path, document = documents[stack]
    code, report = parse_asyncapi(path)
    assert code == 0, report["diagnostics"]
    assert report["valid"] is True
    assert report["version"] == "3.0.0"
    errors = [d for d in report["diagnostics"] if d["severity"] in ("error", "warning")]
    assert errors == []
    assert set(report["channels"]) == set(document["channels"])
    assert {o["id"] for o in report["operations"]} == set(document["operations"])


@pytest.mark.parametrize("stack", STACKS)
def test_the_example_documents_match_the_asyncapi_3_json_schema(
    documents: dict[str, tuple[Path, dict[str, Any]]], stack: str
) -> None:
    assert schema_errors(documents[stack][1]) == []


def test_the_parser_rejects_a_broken_document(
    documents: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path
) -> None:
    # The control: a receive operation pointing at a channel that does not exist.
    document = yaml.safe_load(documents["dev"][0].read_text(encoding="utf-8"))
    document["operations"]["welcome-email.receives.user.signup"]["channel"] = {
        "$ref": "#/channels/no-such-channel"
    }
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document), encoding="utf-8")
    code, report = parse_asyncapi(broken)
    assert code == 1
    assert report["valid"] is False
    assert any(d["severity"] == "error" for d in report["diagnostics"])


def test_the_json_schema_rejects_a_wrong_binding_value(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    document = yaml.safe_load(documents["dev"][0].read_text(encoding="utf-8"))
    document["channels"]["user.signup"]["bindings"]["sns"]["ordering"]["type"] = "fifo"
    assert schema_errors(document) != []


# --- golden documents ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_example_documents_match_the_golden_files(
    documents: dict[str, tuple[Path, dict[str, Any]]], stack: str
) -> None:
    # The golden file is the reviewed contract: regenerate it on purpose
    # (UPDATE_GOLDEN=1 pytest tests/check/test_asyncapi.py) and read the diff.
    golden = GOLDEN / f"{stack}.asyncapi.yaml"
    text = documents[stack][0].read_text(encoding="utf-8")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


# --- sns-sqs: values from the plan --------------------------------------------------------------


def test_every_event_is_a_channel_with_its_schema_as_payload(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    document = documents["dev"][1]
    assert list(document["channels"]) == ["user.signup", "order.placed", "invoice.paid"]
    assert document["channels"]["user.signup"]["address"] == "dev-user-signup"
    schema = yaml.safe_load((REPOSITORY / "schemas" / "user.signup.json").read_text())
    assert document["components"]["messages"]["user.signup"]["payload"] == schema
    assert "payload" not in document["components"]["messages"]["invoice.paid"]
    assert document["servers"]["sns"] == {
        "host": "sns.eu-west-1.amazonaws.com",
        "protocol": "sns",
        "description": "Amazon SNS in eu-west-1: one topic per event.",
    }


def test_producers_send_and_consumers_receive(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    operations = documents["dev"][1]["operations"]
    actions = {key: operation["action"] for key, operation in operations.items()}
    assert actions == {
        "accounts-api.sends.user.signup": "send",
        "welcome-email.receives.user.signup": "receive",
        "analytics.receives.user.signup": "receive",
        "checkout-api.sends.order.placed": "send",
        "analytics.receives.order.placed": "receive",
        "fulfilment.receives.order.placed": "receive",
        "billing.sends.invoice.paid": "send",
    }
    assert operations["welcome-email.receives.user.signup"]["x-eventinfra"]["runtime"] == "lambda"
    assert operations["fulfilment.receives.order.placed"]["x-eventinfra"] == {"runtime": "external"}


def test_sqs_bindings_carry_the_planned_queue_and_dead_letter_queue(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    operations = documents["dev"][1]["operations"]
    queue, dead_letter = operations["fulfilment.receives.order.placed"]["bindings"]["sqs"]["queues"]
    # fulfilment sets max_receive_count 8 in the topology; the stack default is 5.
    assert queue["name"] == "dev-fulfilment"
    assert queue["redrivePolicy"] == {
        "deadLetterQueue": {"name": "dev-fulfilment-dlq"},
        "maxReceiveCount": 8,
    }
    assert queue["fifoQueue"] is False
    assert queue["messageRetentionPeriod"] == 345600
    assert dead_letter["name"] == "dev-fulfilment-dlq"
    assert dead_letter["messageRetentionPeriod"] == 1209600
    welcome = operations["welcome-email.receives.user.signup"]["bindings"]["sqs"]["queues"][0]
    assert welcome["visibilityTimeout"] == 180  # 6 x the Lambda's 30 s timeout, as planned


def test_sns_bindings_carry_the_planned_filter_policy(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    sns = documents["dev"][1]["operations"]["accounts-api.sends.user.signup"]["bindings"]["sns"]
    consumers = {c["endpoint"]["name"]: c for c in sns["consumers"]}
    assert consumers["dev-welcome-email"]["filterPolicy"] == {"plan": ["pro", "team"]}
    assert consumers["dev-welcome-email"]["filterPolicyScope"] == "MessageAttributes"
    assert "filterPolicy" not in consumers["dev-analytics"]
    assert consumers["dev-analytics"]["redrivePolicy"] == {
        "deadLetterQueue": {"name": "dev-analytics-dlq"}
    }


def test_an_event_without_consumers_says_where_it_is_stored(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    document = documents["dev"][1]
    channel = document["channels"]["invoice.paid"]
    assert channel["x-eventinfra-consumers"] == []
    assert channel["x-eventinfra-unconsumed"]["storedIn"] == "dev-invoice-paid-parking"
    assert channel["description"].endswith(
        "No consumer subscribes to invoice.paid: every message is kept in the parking queue "
        "dev-invoice-paid-parking for 1209600 s (14 days)."
    )
    assert not [
        o
        for o in document["operations"].values()
        if o["action"] == "receive" and o["channel"]["$ref"] == "#/channels/invoice.paid"
    ]
    parking = document["operations"]["billing.sends.invoice.paid"]["bindings"]["sqs"]["queues"]
    assert parking[0]["x-eventinfra-redriveAllowPolicy"] == {"redrivePermission": "denyAll"}


# --- rabbitmq: values from the plan -------------------------------------------------------------


def test_amqp_bindings_carry_exchange_quorum_queue_dead_letter_exchange_and_delivery_limit(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    document = documents["k8s"][1]
    assert document["servers"]["rabbitmq"] == {
        "host": "k8s-rabbitmq.events.svc:5671",
        "protocol": "amqps",
        "pathname": "/k8s",
        "description": document["servers"]["rabbitmq"]["description"],
    }
    exchange = document["channels"]["user.signup"]["bindings"]["amqp"]
    assert exchange["is"] == "routingKey"
    assert exchange["exchange"] == {
        "name": "user.signup",
        "type": "topic",
        "durable": True,
        "autoDelete": False,
        "vhost": "k8s",
    }
    queue = document["channels"]["queue.fulfilment"]["bindings"]["amqp"]
    assert queue["is"] == "queue"
    assert queue["queue"]["x-queue-type"] == "quorum"
    assert queue["x-eventinfra-policy"]["definition"] == {
        "dead-letter-strategy": "at-least-once",
        "delivery-limit": 8,
        "dead-letter-exchange": "fulfilment.dead-letter",
        "overflow": "reject-publish",
    }
    receive = document["operations"]["mailer.receives.user.signup"]
    assert receive["channel"] == {"$ref": "#/channels/queue.mailer"}
    assert receive["x-eventinfra"] == {"runtime": "container"}
    assert "queue.mailer.dead-letter" in document["channels"]


def test_an_amqp_event_without_consumers_says_where_it_is_stored(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    channel = documents["k8s"][1]["channels"]["invoice.paid"]
    assert channel["x-eventinfra-consumers"] == []
    assert channel["x-eventinfra-unconsumed"]["storedIn"] == "invoice.paid.parking"
    assert "alternate exchange invoice.paid.unroutable" in channel["description"]


# --- kafka: values from the plan ----------------------------------------------------------------


def test_the_kafka_server_is_the_tls_bootstrap_listener_with_client_certificates(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    document = documents["kafka"][1]
    server = document["servers"]["kafka"]
    assert server["host"] == "kfk-kafka-kafka-bootstrap.events.svc:9093"
    assert server["protocol"] == "kafka-secure"
    assert server["security"] == [{"$ref": "#/components/securitySchemes/kafkaClientCertificate"}]
    assert document["components"]["securitySchemes"]["kafkaClientCertificate"]["type"] == "X509"
    assert "securitySchemes" not in documents["k8s"][1]["components"]


def test_kafka_channels_carry_the_planned_topic_settings(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    channels = documents["kafka"][1]["channels"]
    assert list(channels) == [
        "user.signup",
        "order.placed",
        "invoice.paid",
        "analytics.dead-letter",
        "fulfilment.dead-letter",
        "mailer.dead-letter",
        "analytics.retry",
        "fulfilment.retry",
        "mailer.retry",
    ]
    # A retry topic carries its consumer's events, and names that consumer alone.
    retry = channels["analytics.retry"]
    assert list(retry["messages"]) == ["user.signup", "order.placed"]
    assert retry["x-eventinfra-retryOf"] == "analytics"
    assert retry["bindings"]["kafka"]["partitions"] == 1
    # order.placed overrides the stack's 6 partitions and 168 h retention (stacks/Pulumi.kafka.yaml).
    assert channels["order.placed"]["bindings"]["kafka"] == {
        "topic": "order.placed",
        "partitions": 12,
        "replicas": 3,
        "topicConfiguration": {
            "retention.ms": 1_209_600_000,
            "cleanup.policy": ["delete"],
            "min.insync.replicas": 2,
        },
        "bindingVersion": "0.5.0",
    }
    signup = channels["user.signup"]["bindings"]["kafka"]
    assert (signup["partitions"], signup["topicConfiguration"]["retention.ms"]) == (6, 604_800_000)
    assert channels["user.signup"]["x-eventinfra-consumers"] == ["mailer", "analytics"]


def test_kafka_producers_send_from_their_write_acl_and_consumer_groups_receive(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    operations = documents["kafka"][1]["operations"]
    actions = {key: (o["action"], o["channel"]["$ref"]) for key, o in operations.items()}
    assert actions == {
        "accounts-api.sends.user.signup": ("send", "#/channels/user.signup"),
        "mailer.receives.user.signup": ("receive", "#/channels/user.signup"),
        "analytics.receives.user.signup": ("receive", "#/channels/user.signup"),
        "checkout-api.sends.order.placed": ("send", "#/channels/order.placed"),
        "analytics.receives.order.placed": ("receive", "#/channels/order.placed"),
        "fulfilment.receives.order.placed": ("receive", "#/channels/order.placed"),
        "billing.sends.invoice.paid": ("send", "#/channels/invoice.paid"),
    }
    fulfilment = operations["fulfilment.receives.order.placed"]
    assert fulfilment["bindings"]["kafka"] == {
        "groupId": {"type": "string", "enum": ["fulfilment"]},
        "bindingVersion": "0.5.0",
    }
    assert fulfilment["x-eventinfra"] == {
        "runtime": "container",
        "deadLetterTopics": ["fulfilment.dead-letter"],
        "retryTopics": ["fulfilment.retry"],
    }
    assert operations["analytics.receives.order.placed"]["x-eventinfra"]["runtime"] == "external"


def test_kafka_dead_letter_topics_are_channels_of_the_events_their_consumer_reads(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    channel = documents["kafka"][1]["channels"]["analytics.dead-letter"]
    assert channel["address"] == "analytics.dead-letter"
    assert list(channel["messages"]) == ["user.signup", "order.placed"]
    assert channel["x-eventinfra-deadLetterOf"] == "analytics"
    assert channel["bindings"]["kafka"]["partitions"] == 1
    assert "KafkaUser kfk-analytics may write this topic and not read it" in channel["description"]


def test_a_kafka_event_without_consumers_is_kept_in_its_topic(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    document = documents["kafka"][1]
    channel = document["channels"]["invoice.paid"]
    assert channel["x-eventinfra-consumers"] == []
    assert channel["x-eventinfra-unconsumed"]["storedIn"] == "invoice.paid"
    assert channel["description"].endswith(
        "No consumer group reads invoice.paid: every message is kept in the topic invoice.paid "
        "for 604800 s (7 days), and a consumer group added later reads it from the oldest "
        "message still kept (eventinfra's consumers start at the earliest offset)."
    )
    assert not [
        o
        for o in document["operations"].values()
        if o["action"] == "receive" and o["channel"]["$ref"] == "#/channels/invoice.paid"
    ]


def test_the_json_schema_rejects_a_kafka_cleanup_policy_that_is_not_a_list(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    document = yaml.safe_load(documents["kafka"][0].read_text(encoding="utf-8"))
    configuration = document["channels"]["user.signup"]["bindings"]["kafka"]["topicConfiguration"]
    configuration["cleanup.policy"] = "delete"
    assert schema_errors(document) != []


# --- a topology change shows up -----------------------------------------------------------------


def test_a_new_consumer_shows_up(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    edit_topology(
        project,
        lambda t: t["consumers"].update(
            {"ledger": {"subscribes": ["invoice.paid"], "runtime": "external"}}
        ),
    )
    path, document = generate(tmp_path, project, "dev")
    channel = document["channels"]["invoice.paid"]
    assert channel["x-eventinfra-consumers"] == ["ledger"]
    assert "x-eventinfra-unconsumed" not in channel
    queue = document["operations"]["ledger.receives.invoice.paid"]["bindings"]["sqs"]["queues"][0]
    assert queue["name"] == "dev-ledger"
    assert queue["redrivePolicy"]["maxReceiveCount"] == 5
    assert parse_asyncapi(path)[0] == 0


def test_a_new_filter_shows_up(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")

    def filter_analytics(topology: dict[str, Any]) -> None:
        topology["consumers"]["analytics"]["subscribes"] = [
            {"event": "user.signup", "filter": {"plan": ["team"]}},
            "order.placed",
        ]

    edit_topology(project, filter_analytics)
    path, document = generate(tmp_path, project, "dev")
    sns = document["operations"]["accounts-api.sends.user.signup"]["bindings"]["sns"]
    consumers = {c["endpoint"]["name"]: c for c in sns["consumers"]}
    assert consumers["dev-analytics"]["filterPolicy"] == {"plan": ["team"]}
    assert parse_asyncapi(path)[0] == 0


def test_a_fifo_event_shows_up(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")

    def add_fifo_event(topology: dict[str, Any]) -> None:
        topology["events"]["payment.settled"] = {"description": "Settled.", "fifo": True}
        topology["producers"]["billing"]["publishes"].append("payment.settled")
        topology["consumers"]["ledger"] = {"subscribes": ["payment.settled"], "runtime": "external"}

    edit_topology(project, add_fifo_event)
    path, document = generate(tmp_path, project, "dev")
    channel = document["channels"]["payment.settled"]
    assert channel["bindings"]["sns"]["ordering"]["type"] == "FIFO"
    assert channel["address"].endswith(".fifo")
    queue = document["operations"]["ledger.receives.payment.settled"]["bindings"]["sqs"]["queues"][
        0
    ]
    assert queue["fifoQueue"] is True
    assert queue["name"].endswith(".fifo")
    assert parse_asyncapi(path)[0] == 0
    assert schema_errors(document) == []


def test_a_new_rabbitmq_consumer_shows_up(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    edit_topology(
        project,
        lambda t: t["consumers"].update(
            {"ledger": {"subscribes": ["invoice.paid"], "runtime": "external"}}
        ),
        "topology.k8s.yaml",
    )
    path, document = generate(tmp_path, project, "k8s")
    assert document["channels"]["invoice.paid"]["x-eventinfra-consumers"] == ["ledger"]
    assert document["operations"]["ledger.receives.invoice.paid"]["channel"] == {
        "$ref": "#/channels/queue.ledger"
    }
    assert parse_asyncapi(path)[0] == 0


def test_a_new_kafka_consumer_shows_up(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    edit_topology(
        project,
        lambda t: t["consumers"].update(
            {"ledger": {"subscribes": ["invoice.paid"], "runtime": "external"}}
        ),
        "topology.kafka.yaml",
    )
    path, document = generate(tmp_path, project, "kafka")
    channel = document["channels"]["invoice.paid"]
    assert channel["x-eventinfra-consumers"] == ["ledger"]
    assert "x-eventinfra-unconsumed" not in channel
    receive = document["operations"]["ledger.receives.invoice.paid"]
    assert receive["bindings"]["kafka"]["groupId"] == {"type": "string", "enum": ["ledger"]}
    assert document["channels"]["ledger.dead-letter"]["x-eventinfra-deadLetterOf"] == "ledger"
    assert parse_asyncapi(path)[0] == 0
    assert schema_errors(document) == []


def test_a_kafka_cluster_without_tls_is_a_plain_kafka_server_with_scram(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    stack_file = project / "stacks" / "Pulumi.kafka.yaml"
    stack_file.write_text(
        stack_file.read_text(encoding="utf-8").replace("tls: true", "tls: false"),
        encoding="utf-8",
    )
    path, document = generate(tmp_path, project, "kafka")
    server = document["servers"]["kafka"]
    assert server["host"] == "kfk-kafka-kafka-bootstrap.events.svc:9092"
    assert server["protocol"] == "kafka"
    assert server["security"] == [{"$ref": "#/components/securitySchemes/kafkaScramSha512"}]
    assert document["components"]["securitySchemes"]["kafkaScramSha512"]["type"] == "scramSha512"
    assert parse_asyncapi(path)[0] == 0
    assert schema_errors(document) == []


# --- the command --------------------------------------------------------------------------------


def test_json_output_for_a_json_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "dev.json"
    code, out, err = docs(
        capsys, "--stack", "dev", "--program", str(REPOSITORY), "--asyncapi", str(target)
    )
    assert code == EXIT_OK
    assert out == ""
    assert f"Wrote the AsyncAPI document {target}." in err
    assert yaml.safe_load(target.read_text())["asyncapi"] == "3.0.0"


def test_nothing_to_write_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = docs(capsys, "--stack", "dev", "--program", str(REPOSITORY))
    assert code == EXIT_INVALID
    assert out == ""
    assert "expected --asyncapi FILE, --eventcatalog DIR or both" in err


def test_an_unknown_stack_is_an_error_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = docs(
        capsys,
        "--stack",
        "nope",
        "--program",
        str(REPOSITORY),
        "--asyncapi",
        str(tmp_path / "x.yaml"),
    )
    assert code == EXIT_INVALID
    assert "has no stack 'nope'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.yaml").exists()


def test_the_library_call_gives_the_same_document(
    documents: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    synthesis = synthesize(REPOSITORY, "dev")
    topology = yaml.safe_load((REPOSITORY / "topology.yaml").read_text())
    events = event_infos(
        {
            name: (
                event.get("description"),
                REPOSITORY / event["schema"] if "schema" in event else None,
            )
            for name, event in topology["events"].items()
        }
    )
    document = asyncapi_document(synthesis.resources, events, "eventinfra / dev: events")
    path = documents["dev"][0]
    assert render(document, path) == path.read_text(encoding="utf-8")
