"""The welcome-email Lambda against a moto table built from its recorded idempotency store."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import boto3
import pytest
from moto import mock_aws

from eventinfra.check.synth import Synthesis, synthesize
from eventinfra.graph import RecordedResource
from tests.support import REPOSITORY

PROJECT: Final = REPOSITORY
FUNCTION: Final = "aws:lambda/function:Function"
TABLE: Final = "aws:dynamodb/table:Table"
EVENT_SOURCE: Final = "aws:lambda/eventSourceMapping:EventSourceMapping"
FUNCTION_NAME: Final = "dev-welcome-email"


@pytest.fixture(scope="module")
def dev() -> Synthesis:
    return synthesize(PROJECT, "dev")


@pytest.fixture(scope="module")
def function(dev: Synthesis) -> RecordedResource:
    (recorded,) = [f for f in dev.by_type(FUNCTION) if f.inputs["name"] == FUNCTION_NAME]
    return recorded


def _load_handler_module(function: RecordedResource) -> ModuleType:
    # functions/ is not a package: load the file named by the recorded code archive and handler.
    module_name, _ = function.inputs["handler"].split(".")
    path = Path(function.inputs["code"]["__archive"]["path"]) / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"welcome_email_{module_name}", path)
    assert spec is not None and spec.loader is not None, f"Cannot import {path}."
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app(function: RecordedResource) -> Iterator[ModuleType]:
    root = logging.getLogger()
    level = root.level
    yield _load_handler_module(function)
    root.setLevel(level)  # the handler sets the root level at import, as Lambda handlers do


@dataclass
class Deployed:
    table_name: str
    ttl_attribute: str
    queue_arn: str
    dynamodb: Any


@pytest.fixture
def deployed(
    dev: Synthesis, function: RecordedResource, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployed]:
    variables: dict[str, str] = function.inputs["environment"]["variables"]
    (table,) = [
        t for t in dev.by_type(TABLE) if t.inputs["name"] == variables["IDEMPOTENCY_TABLE_NAME"]
    ]
    (event_source,) = [
        e for e in dev.by_type(EVENT_SOURCE) if e.inputs["functionName"] == function.outputs["arn"]
    ]
    region = table.outputs["arn"].split(":")[3]
    inputs = table.inputs
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", function.inputs["name"])
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=region)
        # Server-side encryption is left out: moto stores it and enforces no key policy, and it
        # does not change what the handler sees.
        dynamodb.create_table(
            TableName=inputs["name"],
            BillingMode=inputs["billingMode"],
            KeySchema=[{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in inputs["attributes"]
            ],
        )
        ttl = inputs["ttl"]
        dynamodb.update_time_to_live(
            TableName=inputs["name"],
            TimeToLiveSpecification={
                "Enabled": ttl["enabled"],
                "AttributeName": ttl["attributeName"],
            },
        )
        # The recorded values, except a table name moto gave differently (it does not here).
        created_name = dynamodb.describe_table(TableName=inputs["name"])["Table"]["TableName"]
        for name, value in {**variables, "IDEMPOTENCY_TABLE_NAME": created_name}.items():
            monkeypatch.setenv(name, value)
        yield Deployed(
            table_name=created_name,
            ttl_attribute=ttl["attributeName"],
            queue_arn=event_source.inputs["eventSourceArn"],
            dynamodb=dynamodb,
        )


@pytest.fixture
def sent(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The users the handler e-mailed, in order."""
    users: list[str] = []
    monkeypatch.setattr(app, "send_welcome_email", lambda payload: users.append(payload["userId"]))
    return users


def _event(deployed: Deployed, *messages: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": f"handle-{message_id}",
                "body": json.dumps(payload),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": deployed.queue_arn,
                "awsRegion": deployed.queue_arn.split(":")[3],
            }
            for message_id, payload in messages
        ]
    }


def _records(deployed: Deployed) -> list[dict[str, Any]]:
    return deployed.dynamodb.scan(TableName=deployed.table_name)["Items"]


def test_the_same_event_delivered_twice_sends_the_email_once(
    app: ModuleType, deployed: Deployed, sent: list[str]
) -> None:
    signup = {"userId": "u-1", "plan": "pro"}
    # SNS may deliver a duplicate as a new SQS message, with other fields changed on the way.
    first = app.handler(_event(deployed, ("m-1", signup)), None)
    again = app.handler(_event(deployed, ("m-2", {**signup, "plan": "team"})), None)

    assert first == again == {"batchItemFailures": []}
    assert sent == ["u-1"]
    (record,) = _records(deployed)
    assert record["status"] == {"S": "COMPLETED"}
    assert record["id"]["S"].startswith(f"{FUNCTION_NAME}#")
    # The expiry sits in the attribute the table's TTL reads, with the recorded TTL.
    expires_in = int(record[deployed.ttl_attribute]["N"]) - time.time()
    ttl_seconds = int(os.environ["IDEMPOTENCY_TTL_SECONDS"])
    assert ttl_seconds - 60 < expires_in <= ttl_seconds


def test_a_failed_message_is_reported_and_released_so_a_retry_succeeds(
    app: ModuleType, deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    failures = {"u-broken": 1}

    def send_welcome_email(payload: dict[str, Any]) -> None:
        if failures.get(payload["userId"], 0) > 0:
            failures[payload["userId"]] -= 1
            raise ConnectionError("the mail service is down")
        sent.append(payload["userId"])

    monkeypatch.setattr(app, "send_welcome_email", send_welcome_email)
    batch = _event(deployed, ("m-ok", {"userId": "u-ok"}), ("m-broken", {"userId": "u-broken"}))

    first = app.handler(batch, None)

    assert first == {"batchItemFailures": [{"itemIdentifier": "m-broken"}]}
    assert sent == ["u-ok"]
    assert len(_records(deployed)) == 1  # the failed message's record was released

    # SQS redelivers only the message the handler reported.
    retried = app.handler(_event(deployed, ("m-broken", {"userId": "u-broken"})), None)

    assert retried == {"batchItemFailures": []}
    assert sent == ["u-ok", "u-broken"]
    assert [r["status"]["S"] for r in _records(deployed)] == ["COMPLETED", "COMPLETED"]


def test_two_users_each_get_one_email(app: ModuleType, deployed: Deployed, sent: list[str]) -> None:
    alice = {"userId": "u-alice", "plan": "pro"}
    bob = {"userId": "u-bob", "plan": "team"}

    result = app.handler(_event(deployed, ("m-1", alice), ("m-2", bob), ("m-3", alice)), None)
    redelivered = app.handler(_event(deployed, ("m-4", bob)), None)

    assert result == redelivered == {"batchItemFailures": []}
    assert sent == ["u-alice", "u-bob"]
    assert len(_records(deployed)) == 2
