"""The event flow on moto from the recorded plan: runtime producer → SNS → SQS → the example
Lambda from its recorded package, invoked in-process → DynamoDB idempotency → DLQ."""

# Every queue, topic, subscription and the idempotency table are created from the recorded
# inputs (see test_delivery.py for what moto does not emulate); the handler is app.py from the
# recorded deployment package, configured by the recorded environment. Its dependencies come
# from this venv (requirements-dev.txt installs ./runtime[aws]): the package holds CPython 3.12
# Linux wheels, which tests/aws/test_lambda_package.py imports in a Python 3.12 of its own.

from __future__ import annotations

import importlib.util
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from eventinfra_runtime import contract
from eventinfra_runtime.aws.publisher import SnsTransport
from eventinfra_runtime.errors import InvalidEventError
from eventinfra_runtime.producer import Producer

from eventinfra.check.synth import Synthesis, synthesize
from eventinfra.graph import RecordedResource
from tests.integration.moto.test_delivery import Emulation, emulate
from tests.support import REPOSITORY

FUNCTION: Final = "aws:lambda/function:Function"
TABLE: Final = "aws:dynamodb/table:Table"
FUNCTION_NAME: Final = "dev-welcome-email"
QUEUE: Final = "dev-welcome-email"
DEAD_LETTER_QUEUE: Final = "dev-welcome-email-dlq"
TOPIC: Final = "dev-user-signup"
TASK_ROOT: Final = "/var/task"


class FakeContext:
    function_name = FUNCTION_NAME
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:eu-west-1:210987654321:function:{FUNCTION_NAME}"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Flow:
    emulation: Emulation
    app: ModuleType
    producer: Producer
    queue_arn: str
    table: str
    max_receive_count: int


@pytest.fixture(scope="module")
def dev() -> Synthesis:
    return synthesize(REPOSITORY, "dev")


@pytest.fixture(scope="module")
def function(dev: Synthesis) -> RecordedResource:
    (recorded,) = [f for f in dev.by_type(FUNCTION) if f.inputs["name"] == FUNCTION_NAME]
    return recorded


@pytest.fixture(scope="module")
def package(function: RecordedResource, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recorded deployment package, unpacked as Lambda unpacks it at /var/task."""
    folder = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(REPOSITORY / function.inputs["code"]["__archive"]["path"]) as archive:
        archive.extractall(folder)
    return folder


def _handler_module(package: Path, handler: str) -> ModuleType:
    module_name = handler.split(".")[0]
    spec = importlib.util.spec_from_file_location(f"welcome_{module_name}", package / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def flow(
    dev: Synthesis,
    function: RecordedResource,
    package: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flow]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "210987654321")
    from moto import mock_aws

    with mock_aws():
        emulation = emulate(dev)
        monkeypatch.setenv("AWS_DEFAULT_REGION", emulation.region)
        variables: dict[str, str] = dict(function.inputs["environment"]["variables"])
        (table,) = [
            t
            for t in dev.by_type(TABLE)
            if t.inputs["name"] == variables[contract.IDEMPOTENCY_TABLE]
        ]
        inputs = table.inputs
        boto3.client("dynamodb", region_name=emulation.region).create_table(
            TableName=inputs["name"],
            BillingMode=inputs["billingMode"],
            KeySchema=[{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in inputs["attributes"]
            ],
        )
        # Recorded values, translated to where they are here: the DLQ's moto URL (the
        # recorded one names the same queue) and the package's folder for /var/task.
        recorded_url = variables[contract.DEAD_LETTER_QUEUE_URL]
        assert recorded_url.endswith(f"/{DEAD_LETTER_QUEUE}")
        variables[contract.DEAD_LETTER_QUEUE_URL] = emulation.queue_urls[DEAD_LETTER_QUEUE]
        schemas_dir = variables[contract.SCHEMAS_DIR]
        assert schemas_dir.startswith(f"{TASK_ROOT}/")
        variables[contract.SCHEMAS_DIR] = str(package / schemas_dir.removeprefix(f"{TASK_ROOT}/"))
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        # The producer's EVENTINFRA_EVENTS as the stack exports it, the topic ARN translated.
        producer_environment = {
            contract.BROKER: "sns",
            contract.SERVICE: "accounts-api",
            contract.SCHEMAS_DIR: str(REPOSITORY / "schemas"),
            contract.EVENTS: json.dumps(
                emulation.translate(json.loads(dev.outputs["producer_events"]["accounts-api"]))
            ),
        }
        sns = boto3.client("sns", region_name=emulation.region)
        producer = Producer(contract.load("sns-producer", producer_environment), SnsTransport(sns))
        redrive = json.loads(
            next(q for q in dev.by_type("aws:sqs/queue:Queue") if q.inputs["name"] == QUEUE).inputs[
                "redrivePolicy"
            ]
        )
        yield Flow(
            emulation=emulation,
            app=_handler_module(package, function.inputs["handler"]),
            producer=producer,
            queue_arn=emulation.arns[
                next(
                    q for q in dev.by_type("aws:sqs/queue:Queue") if q.inputs["name"] == QUEUE
                ).outputs["arn"]
            ],
            table=inputs["name"],
            max_receive_count=int(redrive["maxReceiveCount"]),
        )


def _lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event the SQS event source mapping sends, with the same fields."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {"stringValue": a["StringValue"], "dataType": a["DataType"]}
                    for name, a in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3],
            }
            for m in messages
        ]
    }


def _poll(flow: Flow) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One poll of the event source mapping: invoke, delete what succeeded, release the rest."""
    sqs, url = flow.emulation.sqs, flow.emulation.queue_urls[QUEUE]
    messages = flow.emulation.receive(QUEUE)
    try:
        response = flow.app.handler(_lambda_event(messages, flow.queue_arn), FakeContext())
    except BatchProcessingError:
        # Powertools raises when every record failed: Lambda then returns the whole batch.
        response = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return response, messages


class _Mailer:
    """Stands in for the example's logger: its log line is the e-mail the handler sends."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.sent: list[str] = []

    def info(self, line: str) -> None:
        user = json.loads(line)["userId"]
        if user in self.failing:
            raise ConnectionError("the mail service is down")
        self.sent.append(user)


def _sent_to(flow: Flow, monkeypatch: pytest.MonkeyPatch, failing: set[str]) -> list[str]:
    mailer = _Mailer(failing)
    monkeypatch.setattr(flow.app, "logger", mailer)
    return mailer.sent


def signup(user: str, plan: str = "pro") -> dict[str, Any]:
    return {"eventType": "user.signup", "userId": user, "plan": plan}


def test_a_valid_event_arrives_with_its_attributes_and_is_processed_once(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _sent_to(flow, monkeypatch, failing=set())
    event_id = flow.producer.publish("user.signup", signup("u-1"))

    [message] = flow.emulation.receive(QUEUE)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["event-id"] == event_id
    assert attributes["event-type"] == "user.signup"
    assert attributes["schema-version"] == "1"
    assert attributes["traceparent"].startswith("00-")
    assert json.loads(message["Body"]) == signup("u-1")

    twice = _lambda_event([message, message], flow.queue_arn)
    twice["Records"][1]["messageId"] = "redelivered"
    assert flow.app.handler(twice, FakeContext()) == {"batchItemFailures": []}
    assert flow.app.handler(_lambda_event([message], flow.queue_arn), FakeContext()) == {
        "batchItemFailures": []
    }
    assert sent == ["u-1"]  # delivered three times, e-mailed once
    records = boto3.client("dynamodb").scan(TableName=flow.table)["Items"]
    assert [r["status"]["S"] for r in records] == ["COMPLETED"]


def test_the_filter_on_plan_passes_pro_and_drops_free(flow: Flow) -> None:
    """welcome-email filters user.signup on `plan`: the runtime sets it from the payload."""
    pro = flow.producer.publish("user.signup", signup("u-pro", plan="pro"))
    flow.producer.publish("user.signup", signup("u-free", plan="free"))

    [message] = flow.emulation.receive(QUEUE)
    assert message["MessageAttributes"]["event-id"]["StringValue"] == pro
    assert message["MessageAttributes"]["plan"] == {"StringValue": "pro", "DataType": "String"}
    assert flow.emulation.receive(QUEUE) == []


def test_an_invalid_event_raises_and_nothing_is_sent(flow: Flow) -> None:
    with pytest.raises(InvalidEventError) as caught:
        flow.producer.publish("user.signup", signup("u-2", plan="gold"))
    assert caught.value.field == "$.plan"
    assert flow.emulation.deliveries() == {}


def test_a_failing_record_is_reported_and_reaches_the_dlq_after_max_receive_count(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _sent_to(flow, monkeypatch, failing={"u-bad"})
    flow.producer.publish("user.signup", signup("u-good"))
    bad = flow.producer.publish("user.signup", signup("u-bad", plan="team"))

    response, messages = _poll(flow)

    by_event = {m["MessageAttributes"]["event-id"]["StringValue"]: m for m in messages}
    assert response["batchItemFailures"] == [{"itemIdentifier": by_event[bad]["MessageId"]}]
    for _ in range(flow.max_receive_count - 1):
        _poll(flow)
    assert flow.emulation.receive(QUEUE) == []  # moto moves it on the next receive
    [dead] = flow.emulation.receive(DEAD_LETTER_QUEUE)
    assert dead["MessageAttributes"]["event-id"]["StringValue"] == bad
    assert sent == ["u-good"]


def test_a_schema_invalid_record_reaches_the_dlq_on_its_first_receipt(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _sent_to(flow, monkeypatch, failing=set())
    # A producer without the runtime sent it straight to SNS: nothing validated it.
    flow.emulation.publish(
        TOPIC,
        {"eventType": "user.signup", "userId": "", "plan": "pro"},
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value}
            for name, value in {
                "event-id": "e-invalid",
                "event-type": "user.signup",
                "plan": "pro",
            }.items()
        },
    )

    response, _ = _poll(flow)

    assert response == {"batchItemFailures": []} and sent == []
    [dead] = flow.emulation.receive(DEAD_LETTER_QUEUE)
    reason = dead["MessageAttributes"]["eventinfra-rejection-reason"]["StringValue"]
    assert "$.userId" in reason
    assert dead["Attributes"]["ApproximateReceiveCount"] == "1"
    assert flow.emulation.receive(QUEUE) == []
