"""The YAML example sets only properties the schema has, and the provider builds it as written."""

import json
import re
from typing import Any

import pulumi
import yaml

from eventinfra.check.synth import record
from eventinfra.provider.host import EventinfraProvider
from tests.support import REPOSITORY

EXAMPLE = REPOSITORY / "examples" / "yaml-consumer"
SCHEMA = json.loads((REPOSITORY / "provider" / "schema.json").read_text(encoding="utf-8"))


def platform_resource() -> dict[str, Any]:
    text = (EXAMPLE / "Pulumi.yaml").read_text(encoding="utf-8")
    # The two YAML builtins the properties use, as the YAML runtime would resolve them.
    text = text.replace("${pulumi.cwd}", str(EXAMPLE)).replace("${pulumi.stack}", "dev")
    program = yaml.safe_load(text)
    assert program["packages"] == {"eventinfra": "../../provider"}
    resource: dict[str, Any] = program["resources"]["events"]
    return resource


def unknown_properties(value: Any, prop: dict[str, Any], path: str) -> list[str]:
    """Paths in `value` that the schema property `prop` does not declare."""
    ref = prop.get("$ref", "")
    if ref.startswith("#/types/"):
        type_ = SCHEMA["types"][ref.removeprefix("#/types/")]
        if "enum" in type_:
            values = [member["value"] for member in type_["enum"]]
            return [] if value in values else [f"{path}={value!r}"]
        return unknown_in_object(value, type_.get("properties", {}), path)
    if "additionalProperties" in prop:
        return [
            p
            for key, item in value.items()
            for p in unknown_properties(item, prop["additionalProperties"], f"{path}.{key}")
        ]
    if "items" in prop:
        return [
            p
            for index, item in enumerate(value)
            for p in unknown_properties(item, prop["items"], f"{path}[{index}]")
        ]
    return []


def unknown_in_object(value: dict[str, Any], properties: dict[str, Any], path: str) -> list[str]:
    found: list[str] = []
    for key, item in value.items():
        if key not in properties:
            found.append(f"{path}.{key}")
        else:
            found += unknown_properties(item, properties[key], f"{path}.{key}")
    return found


def as_sent_by_the_engine(value: Any) -> Any:
    """Numbers cross the engine as floats."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: as_sent_by_the_engine(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_sent_by_the_engine(v) for v in value]
    return value


def test_the_example_uses_only_properties_of_the_schema() -> None:
    resource = platform_resource()
    assert resource["type"] == "eventinfra:index:SnsSqsPlatform"
    schema = SCHEMA["resources"][resource["type"]]
    assert unknown_in_object(resource["properties"], schema["inputProperties"], "properties") == []
    assert set(schema["requiredInputs"]) <= set(resource["properties"])


def test_the_example_outputs_are_outputs_of_the_platform() -> None:
    program = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text(encoding="utf-8"))
    properties = SCHEMA["resources"]["eventinfra:index:SnsSqsPlatform"]["properties"]
    for expression in program["outputs"].values():
        output = expression.removeprefix("${events.").split("[")[0]
        assert output in properties, expression


def test_the_provider_builds_the_example() -> None:
    resource = platform_resource()
    provider = EventinfraProvider()
    inputs = as_sent_by_the_engine(resource["properties"])
    graph = record(
        lambda: provider.construct("events", resource["type"], inputs, pulumi.ResourceOptions()),
        stack="dev",
    )
    queues = sorted(r.inputs["name"] for r in graph.by_type("aws:sqs/queue:Queue"))
    assert queues == [
        "yaml-dev-crm-sync",
        "yaml-dev-crm-sync-dlq",
        "yaml-dev-invoice-paid-parking",
        "yaml-dev-welcome-email",
        "yaml-dev-welcome-email-dlq",
    ]
    function = graph.by_type("aws:lambda/function:Function")[0]
    assert function.inputs["handler"] == "app.handler"


def rabbitmq_snippet() -> dict[str, Any]:
    """The RabbitMQ platform of docs/components-from-other-languages.md, builtins resolved."""
    text = (REPOSITORY / "docs" / "components-from-other-languages.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "RabbitMQPlatform" in b]
    assert len(blocks) == 1
    block = blocks[0].replace("${pulumi.cwd}", str(REPOSITORY)).replace("${pulumi.stack}", "dev")
    resource: dict[str, Any] = yaml.safe_load(block)["resources"]["events"]
    return resource


def test_the_docs_rabbitmq_snippet_sets_only_schema_properties_and_builds() -> None:
    resource = rabbitmq_snippet()
    assert resource["type"] == "eventinfra:index:RabbitMQPlatform"
    inputs = SCHEMA["resources"][resource["type"]]["inputProperties"]
    assert unknown_in_object(resource["properties"], inputs, "properties") == []
    provider = EventinfraProvider()
    properties = as_sent_by_the_engine(resource["properties"])

    def build() -> None:
        provider.construct("events", resource["type"], properties, pulumi.ResourceOptions())

    graph = record(build, stack="dev")
    queues = sorted(
        r.inputs["spec"]["name"] for r in graph.by_type("kubernetes:rabbitmq.com/v1beta1:Queue")
    )
    assert queues == ["fulfilment", "fulfilment.dead-letter", "order.placed.parking"]
    policy = graph.named("events-consumer-fulfilment-policy")
    assert policy.inputs["spec"]["definition"]["delivery-limit"] == 8
