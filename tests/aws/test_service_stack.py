"""The orders-service example: a separate stack that subscribes to the platform's topic."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from typing import Any

import pytest
import yaml

from eventinfra.check.synth import Synthesis, synthesize
from eventinfra.graph import RecordedResource
from tests.support import REPOSITORY

SERVICE = REPOSITORY / "examples" / "orders-service"
PLATFORM_STACK = "acme/eventinfra/dev"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-orders-confirmation"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-orders-confirmation-dlq"
ALERTS_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:dev-orders-alerts"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dev-orders-confirmation"


def mocked_platform_outputs() -> dict[str, Any]:
    mocks = yaml.safe_load((SERVICE / "stacks" / "Pulumi.dev.mocks.yaml").read_text())
    outputs: dict[str, Any] = mocks["stack_references"][PLATFORM_STACK]
    return outputs


ORDER_PLACED_ARN: str = mocked_platform_outputs()["topic_arns"]["order.placed"]


@pytest.fixture(scope="module")
def service() -> Synthesis:
    return synthesize(SERVICE, "dev")


def policy(resource: RecordedResource, key: str = "policy") -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resource.inputs[key])
    return document


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [s for s in document["Statement"] if s.get("Sid") == sid]
    assert len(matches) == 1, f"expected one statement {sid!r} in {document}"
    return matches[0]


def test_the_mocked_platform_outputs_are_what_the_platform_program_exports() -> None:
    # The mocks file stands in for `pulumi stack output` of the platform: it must not drift.
    platform = synthesize(REPOSITORY, "dev")
    assert platform.outputs["topic_arns"] == mocked_platform_outputs()["topic_arns"]
    assert f"arn:aws:sns:{REGION}:{ACCOUNT}:dev-order-placed" == ORDER_PLACED_ARN


def test_the_platform_stack_is_read_by_the_configured_name(service: Synthesis) -> None:
    reference = service.named(PLATFORM_STACK)
    assert reference.type == "pulumi:pulumi:StackReference"
    assert (reference.external, reference.id) == (True, PLATFORM_STACK)


def test_exactly_the_service_resources_are_declared(service: Synthesis) -> None:
    created = Counter(r.type for r in service.resources if r.custom and not r.external)
    assert created == {
        "aws:kms/key:Key": 1,
        "aws:sns/topic:Topic": 1,
        "aws:sns/topicPolicy:TopicPolicy": 1,
        "aws:sqs/queue:Queue": 2,
        "aws:sqs/queuePolicy:QueuePolicy": 2,
        "aws:sns/topicSubscription:TopicSubscription": 2,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 4,
        "aws:dynamodb/table:Table": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:iam/role:Role": 1,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:lambda/function:Function": 1,
        "aws:lambda/eventSourceMapping:EventSourceMapping": 1,
    }
    assert Counter(r.type for r in service.resources if not r.custom) == {
        "eventinfra:index:EventKey": 1,
        "eventinfra:index:EventTopic": 1,
        "eventinfra:index:EventConsumer": 1,
        "eventinfra:index:IdempotencyStore": 1,
        "eventinfra:index:LambdaConsumer": 1,
    }


def test_the_subscription_is_to_the_platform_topic(service: Synthesis) -> None:
    subscription = service.named("order-confirmation-order-placed-subscription")
    assert subscription.inputs["topic"] == ORDER_PLACED_ARN
    assert subscription.inputs["endpoint"] == QUEUE_ARN
    assert subscription.inputs["protocol"] == "sqs"
    assert subscription.inputs["rawMessageDelivery"] is True
    assert json.loads(subscription.inputs["redrivePolicy"]) == {"deadLetterTargetArn": DLQ_ARN}


@pytest.mark.parametrize(
    ("policy_name", "queue_arn"),
    [("order-confirmation-queue-policy", QUEUE_ARN), ("order-confirmation-dlq-policy", DLQ_ARN)],
)
def test_only_the_platform_topic_may_send_to_the_queues(
    service: Synthesis, policy_name: str, queue_arn: str
) -> None:
    allow = statement(policy(service.named(policy_name)), "AllowSubscribedTopics")
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Action"] == ["sqs:SendMessage"]
    assert allow["Resource"] == queue_arn
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": [ORDER_PLACED_ARN]}}


def test_the_queue_dead_letters_into_its_own_dlq(service: Synthesis) -> None:
    queue = service.named("order-confirmation-queue")
    dead_letter_queue = service.named("order-confirmation-dlq")
    assert json.loads(queue.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": DLQ_ARN,
        "maxReceiveCount": 5,
    }
    assert json.loads(dead_letter_queue.inputs["redriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [QUEUE_ARN],
    }
    # Six times the function's 30-second timeout, so retries within one receive do not overlap.
    assert queue.inputs["visibilityTimeoutSeconds"] == 180
    key_arn = service.named("orders-key-key").outputs["arn"]
    assert queue.inputs["kmsMasterKeyId"] == dead_letter_queue.inputs["kmsMasterKeyId"] == key_arn


def test_the_function_reads_the_queue_reporting_partial_batch_failures(
    service: Synthesis,
) -> None:
    mapping = service.named("order-confirmation-event-source")
    assert mapping.inputs["eventSourceArn"] == QUEUE_ARN
    assert mapping.inputs["functionName"] == FUNCTION_ARN
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["batchSize"] == 10
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 5}


def test_the_function_ships_the_handler_folder_with_its_idempotency_table(
    service: Synthesis,
) -> None:
    function = service.named("order-confirmation-function")
    assert function.inputs["handler"] == "app.handler"
    assert function.inputs["timeout"] == 30
    archive = SERVICE / function.inputs["code"]["__archive"]["path"]
    with zipfile.ZipFile(archive) as package:
        assert "def handler(" in package.read("app.py").decode()
    variables = function.inputs["environment"]["variables"]
    assert {k: v for k, v in variables.items() if "IDEMPOTENCY" in k} == {
        "EVENTINFRA_IDEMPOTENCY_TABLE": "dev-orders-confirmation-idempotency",
        "EVENTINFRA_IDEMPOTENCY_TTL_SECONDS": "3600",
        "EVENTINFRA_IDEMPOTENCY_KEY": "orderId",
    }
    table = service.named("order-confirmation-idempotency-table")
    assert table.inputs["name"] == "dev-orders-confirmation-idempotency"
    assert table.inputs["hashKey"] == "id"


def test_every_alarm_notifies_the_service_alerts_topic(service: Synthesis) -> None:
    alarms = service.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert sorted(a.name for a in alarms) == [
        "order-confirmation-age-alarm",
        "order-confirmation-dlq-alarm",
        "order-confirmation-errors-alarm",
        "order-confirmation-throttles-alarm",
    ]
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [ALERTS_ARN], alarm.name
        assert alarm.inputs["okActions"] == [ALERTS_ARN], alarm.name
    allow = statement(policy(service.named("orders-alerts-policy")), "AllowServices")
    assert allow["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    email = service.named("orders-alerts-email")
    assert email.inputs == {
        "topic": ALERTS_ARN,
        "protocol": "email",
        "endpoint": "orders-dev@example.com",
    }


def test_the_stack_exports_what_operators_need(service: Synthesis) -> None:
    assert service.outputs == {
        "queue_url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dev-orders-confirmation",
        "dead_letter_queue_url": (
            f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dev-orders-confirmation-dlq"
        ),
        "function_arn": FUNCTION_ARN,
        "alerts_topic_arn": ALERTS_ARN,
    }
