"""SNS → SQS → the Lambda handler in-process → DynamoDB, on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from conftest import SCHEMAS_DIR, events_json
from moto import mock_aws

from eventinfra_runtime import contract
from eventinfra_runtime.aws.lambda_consumer import sqs_consumer
from eventinfra_runtime.errors import InvalidEventError
from eventinfra_runtime.producer import producer_from_environment

MAX_RECEIVE_COUNT = 3
SIGNUP = {"eventType": "user.signup", "userId": "u-1", "plan": "pro"}


class FakeContext:
    function_name = "welcome-email"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:welcome-email"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "welcome-email")
    with mock_aws():
        sns, sqs, ddb = (boto3.client(s) for s in ("sns", "sqs", "dynamodb"))
        topic = sns.create_topic(Name="dev-user-signup")["TopicArn"]
        dlq = sqs.create_queue(QueueName="dev-welcome-email-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queue = sqs.create_queue(
            QueueName="dev-welcome-email",
            Attributes={
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
                )
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        ddb.create_table(
            TableName="dev-welcome-email-idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        common = {
            contract.SERVICE: "welcome-email",
            contract.BROKER: "sns",
            contract.SCHEMAS_DIR: str(SCHEMAS_DIR),
        }
        for name, value in {
            **common,
            contract.EVENTS: events_json({"user.signup": topic}),
            contract.IDEMPOTENCY_TABLE: "dev-welcome-email-idempotency",
            contract.DEAD_LETTER_QUEUE_URL: dlq,
        }.items():
            monkeypatch.setenv(name, value)
        yield {"sqs": sqs, "queue": queue, "queue_arn": queue_arn, "dlq": dlq, "topic": topic}


def receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
    )


def as_lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The SQS event source mapping's event: the same fields Lambda sends."""
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
                "awsRegion": "eu-west-1",
            }
            for m in messages
        ]
    }


def deliver(aws: dict[str, Any], handler: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One poll of the event source mapping: invoke, then delete what did not fail."""
    sqs = aws["sqs"]
    messages = receive(sqs, aws["queue"])
    try:
        response = handler(as_lambda_event(messages, aws["queue_arn"]), FakeContext())
    except BatchProcessingError:
        # Powertools raises when every record failed: Lambda then returns the whole batch.
        response = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=aws["queue"], ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=aws["queue"], ReceiptHandle=m["ReceiptHandle"])
    return response, messages


def test_valid_event_arrives_with_attributes_and_is_processed_once(aws: dict[str, Any]) -> None:
    event_id = producer_from_environment().publish("user.signup", SIGNUP)
    [message] = receive(aws["sqs"], aws["queue"])
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["event-id"] == event_id
    assert attributes["event-type"] == "user.signup"
    assert attributes["schema-version"] == "1"
    assert attributes["traceparent"].startswith("00-")
    assert json.loads(message["Body"]) == SIGNUP

    calls: list[str] = []
    handler = sqs_consumer(lambda event: calls.append(event.event_id))
    duplicate = as_lambda_event([message, message], aws["queue_arn"])
    duplicate["Records"][1]["messageId"] = "redelivery"
    assert handler(duplicate, FakeContext()) == {"batchItemFailures": []}
    assert handler(as_lambda_event([message], aws["queue_arn"]), FakeContext()) == {
        "batchItemFailures": []
    }
    assert calls == [event_id]  # delivered three times, processed once


def test_invalid_event_raises_and_nothing_is_sent(aws: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventError) as caught:
        producer_from_environment().publish("user.signup", {**SIGNUP, "plan": "gold"})
    assert caught.value.field == "$.plan"
    assert receive(aws["sqs"], aws["queue"]) == []


def test_failing_record_is_reported_and_reaches_the_dlq_after_max_receive_count(
    aws: dict[str, Any],
) -> None:
    producer = producer_from_environment()
    good = producer.publish("user.signup", {**SIGNUP, "userId": "u-good"})
    bad = producer.publish("user.signup", {**SIGNUP, "userId": "u-bad"})
    processed: list[str] = []

    def handle(event: Any) -> None:
        if event.payload["userId"] == "u-bad":
            raise RuntimeError("mail server down")
        processed.append(event.event_id)

    handler = sqs_consumer(handle)
    response, messages = deliver(aws, handler)
    by_event = {m["MessageAttributes"]["event-id"]["StringValue"]: m for m in messages}
    assert response["batchItemFailures"] == [{"itemIdentifier": by_event[bad]["MessageId"]}]
    for _ in range(MAX_RECEIVE_COUNT - 1):
        deliver(aws, handler)
    assert receive(aws["sqs"], aws["queue"]) == []  # moto moves it on the next receive
    [dead] = receive(aws["sqs"], aws["dlq"])
    assert dead["MessageAttributes"]["event-id"]["StringValue"] == bad
    assert processed == [good]


def test_schema_invalid_record_reaches_the_dlq_on_first_receipt(aws: dict[str, Any]) -> None:
    # A producer without the runtime sent it: straight to SNS, no validation.
    boto3.client("sns").publish(
        TopicArn=aws["topic"],
        Message=json.dumps({"eventType": "user.signup", "userId": ""}),
        MessageAttributes={
            "event-id": {"DataType": "String", "StringValue": "e-invalid"},
            "event-type": {"DataType": "String", "StringValue": "user.signup"},
        },
    )
    calls: list[str] = []
    response, _ = deliver(aws, sqs_consumer(lambda event: calls.append(event.event_id)))
    assert response == {"batchItemFailures": []} and calls == []
    [dead] = receive(aws["sqs"], aws["dlq"])
    reason = dead["MessageAttributes"]["eventinfra-rejection-reason"]["StringValue"]
    assert "invalid at '$.plan'" in reason or "invalid at '$.userId'" in reason
    assert dead["Attributes"]["ApproximateReceiveCount"] == "1"
    assert receive(aws["sqs"], aws["queue"]) == []


def test_filtered_subscription_gets_only_matching_runtime_published_events(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract names the fields subscriptions filter on; the publisher copies them into
    message attributes, so SNS's attribute filters see them (String and Number)."""
    sns, sqs = boto3.client("sns"), aws["sqs"]
    filtered = sqs.create_queue(QueueName="dev-pro-only")["QueueUrl"]
    filtered_arn = sqs.get_queue_attributes(QueueUrl=filtered, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=aws["topic"],
        Protocol="sqs",
        Endpoint=filtered_arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicyScope": "MessageAttributes",
            "FilterPolicy": json.dumps({"plan": ["pro"]}),
        },
    )
    monkeypatch.setenv(
        contract.EVENTS,
        json.dumps(
            {
                "user.signup": {
                    "destination": aws["topic"],
                    "schema_version": "1",
                    "attributes": ["plan"],
                }
            }
        ),
    )
    producer = producer_from_environment()
    pro = producer.publish("user.signup", SIGNUP)
    producer.publish("user.signup", {**SIGNUP, "userId": "u-2", "plan": "free"})

    [message] = receive(sqs, filtered)
    assert message["MessageAttributes"]["event-id"]["StringValue"] == pro
    assert message["MessageAttributes"]["plan"] == {"StringValue": "pro", "DataType": "String"}
    assert len(receive(sqs, aws["queue"])) == 2  # the unfiltered queue gets both
