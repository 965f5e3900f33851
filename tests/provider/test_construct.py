"""The provider constructs a component from what the engine sends: camelCase names, floats."""

from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.provider.provider import ConstructResult

from eventinfra.check.synth import Synthesis, record
from eventinfra.provider.host import EventinfraProvider


def engine_inputs(code_parent: Path) -> dict[str, Any]:
    """SnsSqsPlatform inputs as a YAML or TypeScript program sends them."""
    return {
        "events": {"user.signup": {"description": "A user signed up."}, "invoice.paid": {}},
        "consumers": {
            "welcome-email": {
                "subscribes": [{"event": "user.signup", "filter": {"plan": ["pro"]}}],
                "runtime": "lambda",
                "lambdaFunction": {
                    "code": "welcome",
                    "handler": "app.handler",
                    "timeoutSeconds": 30.0,
                    "batchSize": 10.0,
                },
                "maxReceiveCount": 5.0,
            },
        },
        "namePrefix": "dev",
        "baseDirectory": str(code_parent),
    }


@pytest.fixture(scope="module")
def constructed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synthesis, ConstructResult]:
    directory = tmp_path_factory.mktemp("program")
    (directory / "welcome").mkdir()
    (directory / "welcome" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    provider = EventinfraProvider()
    results: list[ConstructResult] = []

    def build() -> None:
        results.append(
            provider.construct(
                "events",
                "eventinfra:index:SnsSqsPlatform",
                engine_inputs(directory),
                pulumi.ResourceOptions(),
            )
        )

    graph = record(build, stack="dev")
    return graph, results[0]


def test_the_platform_registers_under_its_schema_token_with_its_children_below(
    constructed: tuple[Synthesis, ConstructResult],
) -> None:
    graph, _ = constructed
    platform = graph.named("events", "eventinfra:index:SnsSqsPlatform")
    assert not graph.by_type("eventinfra:index:EventPlatform")
    # A Python program moving from `from_config` (the first token) to args keeps its resources.
    assert platform.aliases == ("urn:pulumi:dev::test::eventinfra:index:EventPlatform::events",)
    key = graph.named("events-key", "eventinfra:index:EventKey")
    assert key.parent == platform.urn
    consumer = graph.named("events-consumer-welcome-email", "eventinfra:index:EventConsumer")
    assert consumer.parent == platform.urn


def test_engine_inputs_reach_the_resources(constructed: tuple[Synthesis, ConstructResult]) -> None:
    graph, _ = constructed
    topics = sorted(r.inputs["name"] for r in graph.by_type("aws:sns/topic:Topic"))
    assert topics == ["dev-eventinfra-alerts", "dev-invoice-paid", "dev-user-signup"]
    function = graph.by_type("aws:lambda/function:Function")[0]
    assert function.inputs["handler"] == "app.handler"
    assert function.inputs["timeout"] == 30
    queue = graph.named("events-consumer-welcome-email-queue", "aws:sqs/queue:Queue")
    assert '"maxReceiveCount":5' in queue.inputs["redrivePolicy"].replace(" ", "")
    subscription = graph.by_type("aws:sns/topicSubscription:TopicSubscription")
    assert any(s.inputs.get("filterPolicy") == '{"plan": ["pro"]}' for s in subscription)


def test_the_state_has_every_output_under_its_schema_name(
    constructed: tuple[Synthesis, ConstructResult],
) -> None:
    _, result = constructed
    assert set(result.state) == {
        "topicArns",
        "producerPolicyArns",
        "producerEvents",
        "consumerQueueUrls",
        "consumerQueueArns",
        "consumerDeadLetterQueueUrls",
        "consumerDeadLetterQueueArns",
        "consumerPolicyArns",
        "parkingQueueUrls",
        "alertsTopicArn",
    }
    assert _keys(result.state["topicArns"]) == {"user.signup", "invoice.paid"}
    assert _keys(result.state["consumerQueueUrls"]) == {"welcome-email"}
    assert _keys(result.state["parkingQueueUrls"]) == {"invoice.paid"}


def _keys(output_map: object) -> set[str]:
    # SnsSqsPlatform's maps are dicts of Outputs, and the state holds them as they are.
    assert isinstance(output_map, dict)
    return set(output_map)


def test_a_mistake_in_the_inputs_declares_nothing(tmp_path: Path) -> None:
    provider = EventinfraProvider()
    inputs = engine_inputs(tmp_path)  # no `welcome` folder here
    with pytest.raises(Exception) as raised:
        record(
            lambda: provider.construct(
                "events", "eventinfra:index:SnsSqsPlatform", inputs, pulumi.ResourceOptions()
            )
        )
    assert "consumers.welcome-email.lambdaFunction.code: expected a folder" in str(raised.value)
