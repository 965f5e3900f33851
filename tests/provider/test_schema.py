"""The committed package schema is the one the provider serves, and it covers every component."""

import asyncio
import inspect
import json
import typing
from typing import Any

import pulumi
import pytest
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.server import ProviderServicer
from pulumi.runtime.proto import provider_pb2

import eventinfra
from eventinfra.aws.lambda_consumer import LambdaConsumer, LambdaFunctionArgs
from eventinfra.aws.platform import SnsSqsPlatform
from eventinfra.provider.components import HOSTED, NOT_HOSTED, PACKAGE_NAME
from eventinfra.provider.host import EventinfraProvider
from eventinfra.provider.schema import package_schema
from tests.support import REPOSITORY

SCHEMA_FILE = REPOSITORY / "provider" / "schema.json"


def camel_case(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


# The analyzer (pulumi 3.272) reads a field's docstring from the source of the class it is
# looked up on, so fields a TypedDict inherits lose theirs: LambdaConsumerArgs extends
# LambdaFunctionArgs, whose own schema type (EventConsumer's `lambdaFunction`) has them all.
INHERITED_UNDOCUMENTED = {
    LambdaConsumer.__name__: {camel_case(k) for k in LambdaFunctionArgs.__annotations__},
}


def committed() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def test_the_committed_schema_is_current() -> None:
    assert committed() == package_schema(), (
        "provider/schema.json is stale: run `python -m eventinfra.provider.schema`"
    )


def test_the_provider_serves_the_committed_schema() -> None:
    provider = EventinfraProvider()
    servicer = ProviderServicer(provider, [], engine_address="127.0.0.1:0")
    # A private loop: asyncio.run would drop the loop the Pulumi runtime tests leave set.
    loop = asyncio.new_event_loop()
    try:
        request = provider_pb2.GetSchemaRequest()
        response = loop.run_until_complete(servicer.GetSchema(request, None))
    finally:
        loop.close()
    assert json.loads(response.schema) == committed()


def test_every_public_component_is_hosted_or_excluded_with_its_reason() -> None:
    public = {
        name
        for name in eventinfra.__all__
        if inspect.isclass(getattr(eventinfra, name))
        and issubclass(getattr(eventinfra, name), pulumi.ComponentResource)
    }
    hosted = {component.__name__ for component in HOSTED}
    assert public == hosted | set(NOT_HOSTED)
    assert not hosted & set(NOT_HOSTED)
    assert set(committed()["resources"]) == {f"eventinfra:index:{name}" for name in hosted}


@pytest.mark.parametrize("name", sorted(NOT_HOSTED))
def test_an_excluded_component_still_fails_analysis_as_recorded(name: str) -> None:
    component = getattr(eventinfra, name)
    with pytest.raises(Exception) as raised:
        Analyzer(PACKAGE_NAME).analyze([component])
    expected, _why = NOT_HOSTED[name]
    assert str(raised.value) == expected, (
        f"{name} now analyzes differently: host it in eventinfra.provider.components "
        "if it analyzes, or record the new error"
    )


@pytest.mark.parametrize("component", HOSTED, ids=lambda c: c.__name__)
def test_every_input_and_output_is_in_the_schema(
    component: type[pulumi.ComponentResource],
) -> None:
    resource = committed()["resources"][f"eventinfra:index:{component.__name__}"]
    args = inspect.get_annotations(component.__init__)["args"]
    assert typing.is_typeddict(args)
    # No string annotations: the analyzer reads them as written. (`pulumi.Input` itself holds
    # the forward reference 'Output[T]', which resolves in pulumi's own namespace.)
    fields = typing.get_type_hints(args, localns=vars(pulumi.output))
    assert set(resource["inputProperties"]) == {camel_case(k) for k in fields}
    outputs = {k for k in inspect.get_annotations(component) if not k.startswith("_")}
    assert set(resource["properties"]) == {camel_case(k) for k in outputs}
    assert resource["isComponent"] is True
    assert resource["description"]


@pytest.mark.parametrize("component", HOSTED, ids=lambda c: c.__name__)
def test_every_input_and_output_is_described(component: type) -> None:
    resource = committed()["resources"][f"eventinfra:index:{component.__name__}"]
    assert all(p.get("description") for p in resource["properties"].values())
    undocumented = {k for k, p in resource["inputProperties"].items() if not p.get("description")}
    assert undocumented == INHERITED_UNDOCUMENTED.get(component.__name__, set())


def test_the_platform_args_are_typed_and_described_to_the_leaves() -> None:
    schema = committed()
    platform = schema["resources"]["eventinfra:index:SnsSqsPlatform"]
    assert platform["requiredInputs"] == ["events"]
    consumers = platform["inputProperties"]["consumers"]
    assert consumers["additionalProperties"]["$ref"] == (
        "#/types/eventinfra:index:PlatformConsumerArgs"
    )
    # The topology is plain: generated SDKs take values known before deployment.
    assert all(p.get("plain") for p in platform["inputProperties"].values())
    consumer = schema["types"]["eventinfra:index:PlatformConsumerArgs"]
    assert consumer["required"] == ["runtime", "subscribes"]
    assert consumer["properties"]["runtime"]["$ref"] == ("#/types/eventinfra:index:ConsumerRuntime")
    runtime = schema["types"]["eventinfra:index:ConsumerRuntime"]
    assert [v["value"] for v in runtime["enum"]] == ["lambda", "external"]
    assert all(v.get("description") for v in runtime["enum"])
    for token, type_ in schema["types"].items():
        assert type_.get("description"), token
        for name, prop in (type_.get("properties") or {}).items():
            assert prop.get("description"), f"{token}.{name}"
    for name, prop in platform["inputProperties"].items():
        assert prop.get("description"), name
    assert SnsSqsPlatform in HOSTED


@pytest.mark.parametrize(
    ("platform", "consumer", "broker"),
    [
        ("RabbitMQPlatform", "RabbitMQPlatformConsumerArgs", "rabbitmq"),
        ("KafkaPlatform", "KafkaPlatformConsumerArgs", "kafka"),
    ],
)
def test_the_cluster_platforms_take_plain_typed_args(
    platform: str, consumer: str, broker: str
) -> None:
    schema = committed()
    resource = schema["resources"][f"eventinfra:index:{platform}"]
    assert resource["requiredInputs"] == ["events"]
    inputs = resource["inputProperties"]
    assert all(p.get("plain") for p in inputs.values())
    assert inputs[broker]["$ref"].startswith("#/types/eventinfra:index:Platform")
    assert inputs["consumers"]["additionalProperties"]["$ref"] == (
        f"#/types/eventinfra:index:{consumer}"
    )
    consumer_type = schema["types"][f"eventinfra:index:{consumer}"]
    assert consumer_type["required"] == ["runtime", "subscribes"]
    # No filters on these brokers: a subscription is an event name.
    assert consumer_type["properties"]["subscribes"]["items"]["type"] == "string"
    assert consumer_type["properties"]["runtime"]["$ref"] == (
        "#/types/eventinfra:index:ClusterConsumerRuntime"
    )
    assert consumer_type["properties"]["container"]["$ref"] == (
        "#/types/eventinfra:index:PlatformContainerArgs"
    )
    runtime = schema["types"]["eventinfra:index:ClusterConsumerRuntime"]
    assert [v["value"] for v in runtime["enum"]] == ["container", "external"]


def test_the_plugin_folder_is_a_python_source_package() -> None:
    manifest = (REPOSITORY / "provider" / "PulumiPlugin.yaml").read_text(encoding="utf-8")
    assert "runtime: python" in manifest.splitlines()
    assert (REPOSITORY / "provider" / "__main__.py").is_file()


def test_the_plugin_pins_what_the_checkout_pins() -> None:
    def pins(path: str) -> list[str]:
        lines = (REPOSITORY / path).read_text(encoding="utf-8").splitlines()
        return [line for line in lines if line and not line.startswith(("#", "-e"))]

    assert pins("provider/requirements.txt") == pins("requirements.txt")
