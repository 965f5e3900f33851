"""Every integer input of the hosted AWS components and SnsSqsPlatform, sent as the engine sends
numbers (floats), reaches the resources as an integer and is formatted without `.0`."""

import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.provider.provider import ConstructResult

from eventinfra.check.synth import Synthesis, record
from eventinfra.provider.host import EventinfraProvider

ACCOUNT = "123456789012"
REGION = "us-east-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-placed"
ALERTS_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-orders"
DEAD_LETTER_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-orders-dlq"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/dev-orders-idempotency"
ALARM_TARGET = {"topicArn": ALERTS_ARN, "periodSeconds": 120.0}
FLOAT_TEXT = re.compile(r"\d\.0(?!\d)")


def code_folder(directory: Path) -> str:
    (directory / "app.py").write_text("def handler(event, context):\n    return {}\n")
    return str(directory)


def lambda_function(directory: Path) -> dict[str, Any]:
    """A function's inputs, every integer a float other than its default."""
    return {
        "functionName": "dev-orders",
        "codePath": code_folder(directory),
        "handler": "app.handler",
        "timeoutSeconds": 20.0,
        "memoryMb": 512.0,
        "batchSize": 8.0,
        "batchWindowSeconds": 3.0,
        "maxConcurrency": 7.0,
        "logRetentionDays": 30.0,
        "errorsThreshold": 4.0,
    }


def construct(component: str, inputs: dict[str, Any]) -> Synthesis:
    provider = EventinfraProvider()
    results: list[ConstructResult] = []

    def build() -> None:
        results.append(
            provider.construct(
                "block", f"eventinfra:index:{component}", inputs, pulumi.ResourceOptions()
            )
        )

    return record(build, stack="dev")


def alarm(graph: Synthesis, metric: str) -> dict[str, Any]:
    (found,) = [
        r.inputs
        for r in graph.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if r.inputs["metricName"] == metric
    ]
    return found


def strings(value: Any) -> list[str]:
    """Every string in a resource's inputs (names, JSON documents, environment values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def assert_no_float_text(graph: Synthesis) -> None:
    # `12.0` in a name, an environment value or a JSON document is a number formatted as a float.
    assert not [s for r in graph.resources for s in strings(r.inputs) if FLOAT_TEXT.search(s)]


def test_lambda_consumer_integers_reach_the_function_mapping_logs_and_alarms(
    tmp_path: Path,
) -> None:
    inputs = {
        **lambda_function(tmp_path),
        "queueArn": QUEUE_ARN,
        "deadLetterQueueArn": DEAD_LETTER_QUEUE_ARN,
        "idempotencyTableArn": TABLE_ARN,
        "kmsKeyArn": KEY_ARN,
        "alarmTarget": ALARM_TARGET,
    }
    graph = construct("LambdaConsumer", inputs)
    (function,) = graph.by_type("aws:lambda/function:Function")
    assert (function.inputs["timeout"], function.inputs["memorySize"]) == (20, 512)
    (mapping,) = graph.by_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["batchSize"] == 8
    assert mapping.inputs["maximumBatchingWindowInSeconds"] == 3
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 7}
    (logs,) = graph.by_type("aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["retentionInDays"] == 30
    errors = alarm(graph, "Errors")
    assert (errors["period"], errors["threshold"]) == (120, 4)
    assert_no_float_text(graph)


def test_event_consumer_integers_reach_the_queues_table_function_and_alarms(
    tmp_path: Path,
) -> None:
    inputs = {
        "consumer": "orders",
        "queueName": "dev-orders",
        "deadLetterQueueName": "dev-orders-dlq",
        "subscriptions": [{"label": "orders-placed", "topicArn": TOPIC_ARN}],
        "kmsKeyArn": KEY_ARN,
        "runtime": "lambda",
        "lambdaFunction": lambda_function(tmp_path),
        "idempotency": {"tableName": "dev-orders-idempotency", "ttlSeconds": 7200.0},
        "maxReceiveCount": 6.0,
        "messageRetentionSeconds": 86400.0,
        "visibilityTimeoutSeconds": 180.0,
        "queueAgeAlarmSeconds": 900.0,
        "alarmTarget": ALARM_TARGET,
    }
    graph = construct("EventConsumer", inputs)
    queue = graph.named("block-queue", "aws:sqs/queue:Queue")
    assert queue.inputs["messageRetentionSeconds"] == 86400
    assert queue.inputs["visibilityTimeoutSeconds"] == 180
    assert json.loads(queue.inputs["redrivePolicy"])["maxReceiveCount"] == 6
    assert '"maxReceiveCount": 6.0' not in queue.inputs["redrivePolicy"]
    (function,) = graph.by_type("aws:lambda/function:Function")
    assert (function.inputs["timeout"], function.inputs["memorySize"]) == (20, 512)
    assert (
        function.inputs["environment"]["variables"]["EVENTINFRA_IDEMPOTENCY_TTL_SECONDS"] == "7200"
    )
    age = alarm(graph, "ApproximateAgeOfOldestMessage")
    assert (age["period"], age["threshold"]) == (120, 900)
    assert_no_float_text(graph)


def test_parking_queue_alarm_period_is_an_integer() -> None:
    inputs = {"topicArn": TOPIC_ARN, "kmsKeyArn": KEY_ARN, "alarmTarget": ALARM_TARGET}
    graph = construct("ParkingQueue", inputs)
    (found,) = graph.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert found.inputs["period"] == 120
    assert_no_float_text(graph)


@pytest.mark.parametrize("period", [45.0, 120.5])
def test_an_alarm_period_cloudwatch_refuses_is_refused_as_sent(period: float) -> None:
    # A whole float is checked as the integer it is; a fraction is refused as it was sent.
    target = {"topicArn": ALERTS_ARN, "periodSeconds": period}
    inputs = {"topicArn": TOPIC_ARN, "kmsKeyArn": KEY_ARN, "alarmTarget": target}
    with pytest.raises(Exception) as raised:
        construct("ParkingQueue", inputs)
    expected = int(period) if period.is_integer() else period
    assert (
        "ParkingQueue 'block' args.alarm_target.period_seconds: expected 10, 20, 30 or a "
        f"multiple of 60 up to 86400 (the periods CloudWatch alarms accept), found {expected!r}."
    ) in str(raised.value)


def platform_inputs(directory: Path) -> dict[str, Any]:
    (directory / "welcome").mkdir()
    code_folder(directory / "welcome")
    return {
        "events": {"user.signup": {}},
        "consumers": {
            "welcome-email": {
                "subscribes": [{"event": "user.signup"}],
                "runtime": "lambda",
                "lambdaFunction": {
                    "code": "welcome",
                    "handler": "app.handler",
                    "timeoutSeconds": 20.0,
                    "memoryMb": 512.0,
                    "batchSize": 8.0,
                    "batchWindowSeconds": 3.0,
                    "maxConcurrency": 7.0,
                },
                "idempotency": {"ttlSeconds": 7200.0},
                "maxReceiveCount": 6.0,
                "messageRetentionSeconds": 86400.0,
                "visibilityTimeoutSeconds": 180.0,
            },
        },
        "queues": {
            "maxReceiveCount": 9.0,
            "messageRetentionSeconds": 172800.0,
            "visibilityTimeoutSeconds": 60.0,
            "visibilityMultiplier": 7.0,
        },
        "alarms": {"periodSeconds": 120.0, "queueAgeSeconds": 900.0, "lambdaErrors": 4.0},
        "logRetentionDays": 30.0,
        "namePrefix": "dev",
        "baseDirectory": str(directory),
    }


def test_platform_settings_integers_reach_the_resources(tmp_path: Path) -> None:
    graph = construct("SnsSqsPlatform", platform_inputs(tmp_path))
    queue = graph.named("block-consumer-welcome-email-queue", "aws:sqs/queue:Queue")
    assert queue.inputs["messageRetentionSeconds"] == 86400
    assert queue.inputs["visibilityTimeoutSeconds"] == 180
    assert json.loads(queue.inputs["redrivePolicy"])["maxReceiveCount"] == 6
    (function,) = graph.by_type("aws:lambda/function:Function")
    assert (function.inputs["timeout"], function.inputs["memorySize"]) == (20, 512)
    assert (
        function.inputs["environment"]["variables"]["EVENTINFRA_IDEMPOTENCY_TTL_SECONDS"] == "7200"
    )
    (mapping,) = graph.by_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["batchSize"] == 8
    assert mapping.inputs["maximumBatchingWindowInSeconds"] == 3
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 7}
    assert {
        r.inputs["retentionInDays"] for r in graph.by_type("aws:cloudwatch/logGroup:LogGroup")
    } == {30}
    assert alarm(graph, "Errors")["threshold"] == 4
    assert alarm(graph, "ApproximateAgeOfOldestMessage")["threshold"] == 900
    periods = {r.inputs["period"] for r in graph.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert periods == {120}
    assert_no_float_text(graph)


def test_platform_queue_defaults_apply_to_a_consumer_that_sets_none(tmp_path: Path) -> None:
    inputs = platform_inputs(tmp_path)
    consumer = inputs["consumers"]["welcome-email"]
    for key in ("maxReceiveCount", "messageRetentionSeconds", "visibilityTimeoutSeconds"):
        del consumer[key]
    graph = construct("SnsSqsPlatform", inputs)
    queue = graph.named("block-consumer-welcome-email-queue", "aws:sqs/queue:Queue")
    assert queue.inputs["messageRetentionSeconds"] == 172800
    # A Lambda consumer's queue hides a message for visibilityMultiplier times the function timeout.
    assert queue.inputs["visibilityTimeoutSeconds"] == 7 * 20 + 3
    assert json.loads(queue.inputs["redrivePolicy"])["maxReceiveCount"] == 9
    assert_no_float_text(graph)


@pytest.mark.parametrize(
    ("component", "key", "expected"),
    [
        ("LambdaConsumer", "timeoutSeconds", "timeout_seconds: expected an integer from 1 to"),
        ("EventConsumer", "maxReceiveCount", "max_receive_count: expected an integer from 1 to"),
    ],
)
def test_a_fraction_for_an_integer_input_is_refused(
    tmp_path: Path, component: str, key: str, expected: str
) -> None:
    inputs: dict[str, Any]
    if component == "LambdaConsumer":
        inputs = {
            **lambda_function(tmp_path),
            "queueArn": QUEUE_ARN,
            "kmsKeyArn": KEY_ARN,
            "alarmTarget": ALARM_TARGET,
        }
    else:
        inputs = {
            "queueName": "dev-orders",
            "deadLetterQueueName": "dev-orders-dlq",
            "subscriptions": [{"label": "orders-placed", "topicArn": TOPIC_ARN}],
            "kmsKeyArn": KEY_ARN,
            "alarmTarget": ALARM_TARGET,
        }
    inputs[key] = 20.5
    with pytest.raises(Exception) as raised:
        construct(component, inputs)
    assert expected in str(raised.value)
    assert "found 20.5." in str(raised.value)
