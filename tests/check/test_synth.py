"""Offline synthesis: throwaway Pulumi programs run under the recording monitor."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import sys
import textwrap
import warnings
from pathlib import Path
from threading import get_ident
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from eventinfra.check.synth import (
    SECRET_PLACEHOLDER,
    MockValuesError,
    PlanError,
    ProgramError,
    Synthesis,
    UnknownStackError,
    critical_path,
    list_stacks,
    read_stack_config_values,
    record,
    synthesize,
)
from eventinfra.errors import EventInfraError
from eventinfra.graph import RecordedResource
from tests.support import REPOSITORY

PROJECT_FILE = "name: shop\nruntime: python\nstackConfigDir: stacks\n"
DEFAULT_STACK = "config:\n  aws:region: eu-west-1\n"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"


def write_program(
    directory: Path,
    main: str,
    *,
    stack_file: str = DEFAULT_STACK,
    project_file: str = PROJECT_FILE,
    mocks: str | None = None,
    extra_files: dict[str, str] | None = None,
) -> Path:
    (directory / "stacks").mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(project_file)
    (directory / "stacks" / "Pulumi.dev.yaml").write_text(stack_file)
    (directory / "__main__.py").write_text(textwrap.dedent(main))
    if mocks is not None:
        (directory / "stacks" / "Pulumi.dev.mocks.yaml").write_text(textwrap.dedent(mocks))
    for name, text in (extra_files or {}).items():
        (directory / name).write_text(textwrap.dedent(text))
    return directory


def urn_hex(urn: str) -> str:
    return hashlib.sha256(f"autoname\0{urn}".encode()).hexdigest()[:7]


# --- config ------------------------------------------------------------------------------------

CONFIG_PROGRAM = """
    import pulumi

    config = pulumi.Config()
    pulumi.export("greeting", config.require("greeting"))
    pulumi.export("settings", config.require_object("settings"))
    pulumi.export("count", config.require_int("count"))
    pulumi.export("enabled", config.require_bool("enabled"))
    pulumi.export("day", config.require("day"))
    pulumi.export("token", config.require_secret("token"))
    pulumi.export("owner", config.require("owner"))
    pulumi.export("region", pulumi.Config("aws").require("region"))
    pulumi.export("where", [pulumi.get_project(), pulumi.get_stack()])
    pulumi.export(
        "secret_keys",
        [key for key in ("shop:token", "shop:greeting") if pulumi.runtime.is_config_secret(key)],
    )
"""

CONFIG_STACK = """\
config:
  aws:region: eu-west-1
  shop:greeting: hello
  shop:settings:
    retention: 345600
    queues: [orders, billing]
  count: 3
  shop:enabled: true
  shop:day: 2024-01-01
  shop:token:
    secure: v1:c2VjcmV0
"""


def test_stack_config_reaches_the_program_as_the_engine_passes_it(tmp_path: Path) -> None:
    project = PROJECT_FILE + "config:\n  owner:\n    type: string\n    default: platform-team\n"
    write_program(tmp_path, CONFIG_PROGRAM, stack_file=CONFIG_STACK, project_file=project)

    synthesis = synthesize(tmp_path, "dev")

    assert synthesis.outputs == {
        "greeting": "hello",
        "settings": {"retention": 345600, "queues": ["orders", "billing"]},
        "count": 3,
        "enabled": True,
        "day": "2024-01-01",
        "token": SECRET_PLACEHOLDER,
        "owner": "platform-team",
        "region": "eu-west-1",
        "where": ["shop", "dev"],
        "secret_keys": ["shop:token"],
    }
    assert synthesis.secret_outputs == frozenset({"token"})


def test_read_stack_config_values_gives_the_strings_and_secret_keys_the_engine_sends(
    tmp_path: Path,
) -> None:
    project = PROJECT_FILE + "config:\n  owner:\n    type: string\n    default: platform-team\n"
    write_program(tmp_path, CONFIG_PROGRAM, stack_file=CONFIG_STACK, project_file=project)

    config, secret_keys = read_stack_config_values(tmp_path, "dev")

    assert config == {
        "shop:owner": "platform-team",
        "aws:region": "eu-west-1",
        "shop:greeting": "hello",
        "shop:settings": '{"retention":345600,"queues":["orders","billing"]}',
        "shop:count": "3",
        "shop:enabled": "true",
        "shop:day": "2024-01-01",
        "shop:token": SECRET_PLACEHOLDER,
    }
    assert secret_keys == ["shop:token"]


def test_unknown_stack_names_the_expected_file_and_the_existing_stacks(tmp_path: Path) -> None:
    write_program(tmp_path, "import pulumi\n")
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text(DEFAULT_STACK)
    (tmp_path / "stacks" / "Pulumi.dev.mocks.yaml").write_text("{}\n")

    with pytest.raises(UnknownStackError) as raised:
        synthesize(tmp_path, "qa")

    expected = tmp_path / "stacks" / "Pulumi.qa.yaml"
    assert str(raised.value) == (
        f"Project 'shop' has no stack 'qa': expected its settings in {expected}, "
        "and the stacks that exist are 'dev', 'prod'."
    )
    assert isinstance(raised.value, ValueError)
    assert list_stacks(tmp_path) == ["dev", "prod"]


# --- provider outputs --------------------------------------------------------------------------

NAMING_PROGRAM = """
    import json
    import pulumi
    import pulumi_aws as aws

    topic = aws.sns.Topic("orders", fifo_topic=True)
    queue = aws.sqs.Queue("orders-queue")
    fifo = aws.sqs.Queue("orders-fifo", fifo_queue=True)
    named = aws.sqs.Queue("named", name="exact-name")
    prefixed = aws.sqs.Queue("prefixed", name_prefix="pre-")
    key = aws.kms.Key("key")
    role = aws.iam.Role("role", assume_role_policy="{}")
    function = aws.lambda_.Function(
        "handler", role=role.arn, runtime="python3.12", handler="app.handler",
        code=pulumi.FileArchive("./handler"),
    )
    logs = aws.cloudwatch.LogGroup("logs", name="/aws/lambda/handler")
    subscription = aws.sns.TopicSubscription(
        "orders-sub", topic=topic.arn, protocol="sqs", endpoint=queue.arn
    )
    policy = aws.sqs.QueuePolicy(
        "orders-queue-policy",
        queue_url=queue.url,
        policy=pulumi.Output.all(queue.arn, topic.arn).apply(
            lambda arns: json.dumps({"Resource": arns[0], "SourceArn": arns[1]})
        ),
    )
    pulumi.export("queue_url", queue.url)
"""


@pytest.fixture(scope="module")
def named_graph(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    directory = write_program(tmp_path_factory.mktemp("naming"), NAMING_PROGRAM)
    (directory / "handler").mkdir()
    return synthesize(directory, "dev")


def test_autonaming_appends_seven_hex_characters_derived_from_the_urn(
    named_graph: Synthesis,
) -> None:
    queue = named_graph.named("orders-queue")
    assert queue.urn == "urn:pulumi:dev::shop::aws:sqs/queue:Queue::orders-queue"
    assert queue.outputs["name"] == f"orders-queue-{urn_hex(queue.urn)}"
    assert re.fullmatch(r"orders-queue-[0-9a-f]{7}", queue.outputs["name"])
    assert "name" not in queue.inputs  # the program set none: only the provider names it


def test_fifo_queues_and_topics_keep_the_fifo_suffix(named_graph: Synthesis) -> None:
    fifo = named_graph.named("orders-fifo")
    topic = named_graph.named("orders")
    assert fifo.outputs["name"] == f"orders-fifo-{urn_hex(fifo.urn)}.fifo"
    assert topic.outputs["name"] == f"orders-{urn_hex(topic.urn)}.fifo"


def test_a_set_name_is_used_and_a_name_prefix_respected(named_graph: Synthesis) -> None:
    assert named_graph.named("named").outputs["name"] == "exact-name"
    assert re.fullmatch(r"pre-\d{26}", named_graph.named("prefixed").outputs["name"])


def test_arns_urls_and_ids_follow_the_provider_formats(named_graph: Synthesis) -> None:
    region_account = "eu-west-1:123456789012"
    queue = named_graph.named("orders-queue")
    queue_name = queue.outputs["name"]
    assert queue.outputs["arn"] == f"arn:aws:sqs:{region_account}:{queue_name}"
    assert queue.outputs["url"] == (
        f"https://sqs.eu-west-1.amazonaws.com/123456789012/{queue_name}"
    )
    assert queue.id == queue.outputs["url"]
    assert queue.outputs["visibilityTimeoutSeconds"] == 30  # AWS's default, as state shows it

    topic = named_graph.named("orders")
    assert topic.outputs["arn"] == f"arn:aws:sns:{region_account}:{topic.outputs['name']}"
    assert topic.id == topic.outputs["arn"]

    key = named_graph.named("key")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", key.id or ""
    )
    assert key.outputs["arn"] == f"arn:aws:kms:{region_account}:key/{key.id}"
    assert key.outputs["keyId"] == key.id

    role = named_graph.named("role")
    assert role.outputs["arn"] == f"arn:aws:iam::123456789012:role/{role.outputs['name']}"

    function = named_graph.named("handler")
    function_arn = f"arn:aws:lambda:{region_account}:function:{function.outputs['name']}"
    assert function.outputs["arn"] == function_arn
    assert function.outputs["invokeArn"] == (
        f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )
    assert function.inputs["role"] == role.outputs["arn"]
    assert function.inputs["code"] == {"__archive": {"path": "./handler"}}

    logs = named_graph.named("logs")
    assert logs.outputs["arn"] == f"arn:aws:logs:{region_account}:log-group:/aws/lambda/handler"

    subscription = named_graph.named("orders-sub")
    assert subscription.outputs["arn"].startswith(topic.outputs["arn"] + ":")
    assert subscription.inputs["endpoint"] == queue.outputs["arn"]
    assert named_graph.outputs == {"queue_url": queue.outputs["url"]}


def test_a_queue_policy_sees_the_same_arns_the_topic_and_queue_report(
    named_graph: Synthesis,
) -> None:
    policy = named_graph.named("orders-queue-policy")
    queue = named_graph.named("orders-queue")
    topic = named_graph.named("orders")

    document = json.loads(policy.inputs["policy"])
    assert document == {"Resource": queue.outputs["arn"], "SourceArn": topic.outputs["arn"]}
    assert policy.inputs["queueUrl"] == queue.outputs["url"]
    assert policy.id == queue.outputs["url"]
    assert policy.property_dependencies == {
        "policy": tuple(sorted((queue.urn, topic.urn))),
        "queueUrl": (queue.urn,),
    }
    assert policy.dependencies == tuple(sorted((queue.urn, topic.urn)))


def test_explicit_provider_region_and_default_tags_shape_outputs(tmp_path: Path) -> None:
    write_program(
        tmp_path,
        """
        import pulumi
        import pulumi_aws as aws

        east = aws.Provider("east", region="us-east-2", default_tags={"tags": {"team": "core"}})
        aws.sqs.Queue("q", tags={"app": "shop"}, opts=pulumi.ResourceOptions(provider=east))
        """,
    )
    synthesis = synthesize(tmp_path, "dev")
    queue = synthesis.named("q")
    provider = synthesis.named("east")
    assert queue.provider == f"{provider.urn}::{provider.id}"
    assert queue.outputs["arn"].startswith("arn:aws:sqs:us-east-2:123456789012:q-")
    assert queue.outputs["tagsAll"] == {"team": "core", "app": "shop"}


def test_secret_inputs_and_secret_outputs_are_noted(tmp_path: Path) -> None:
    write_program(
        tmp_path,
        """
        import pulumi
        import pulumi_aws as aws
        import pulumi_random as random

        password = random.RandomPassword("db", length=24, special=False)
        aws.ssm.Parameter(
            "db-password", type="SecureString", value=password.result,
            tags={"owner": pulumi.Output.secret("alice"), "cost.centre": pulumi.Output.secret("42")},
        )
        pulumi.export("password", password.result)
        """,
    )
    synthesis = synthesize(tmp_path, "dev")
    password = synthesis.named("db")
    parameter = synthesis.named("db-password")

    assert re.fullmatch(r"[A-Za-z0-9]{24}", password.outputs["result"])
    assert password.secret_outputs == ("bcryptHash", "result")  # the SDK asks for these
    assert parameter.inputs["value"] == password.outputs["result"]
    # Written as every other key path: a key with a dot in it is quoted.
    assert parameter.secret_inputs == ("value", 'tags."cost.centre"', "tags.owner")
    assert parameter.secret_outputs == ("tags", "value")
    assert synthesis.outputs["password"] == password.outputs["result"]
    assert synthesis.secret_outputs == frozenset({"password"})


# --- graph shape -------------------------------------------------------------------------------

COMPONENT_PROGRAM = """
    import pulumi
    import pulumi_aws as aws

    class Pipeline(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("eventinfra:index:Pipeline", name, None, opts)
            child = pulumi.ResourceOptions(parent=self)
            self.dead_letter_queue = aws.sqs.Queue(f"{name}-dlq", opts=child)
            self.queue = aws.sqs.Queue(
                f"{name}-queue",
                redrive_policy=self.dead_letter_queue.arn.apply(
                    lambda arn: '{"deadLetterTargetArn": "%s"}' % arn
                ),
                opts=child,
            )
            self.register_outputs({"queueArn": self.queue.arn})

    class Platform(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("eventinfra:index:Platform", name)
            self.pipeline = Pipeline(f"{name}-orders", pulumi.ResourceOptions(parent=self))
            self.register_outputs({})

    platform = Platform("events")
    alarm = aws.cloudwatch.MetricAlarm(
        "late", comparison_operator="GreaterThanThreshold", evaluation_periods=1,
        threshold=0, opts=pulumi.ResourceOptions(depends_on=[platform.pipeline]),
    )
"""


def test_parents_type_chains_and_dependencies_are_recorded(tmp_path: Path) -> None:
    write_program(tmp_path, COMPONENT_PROGRAM)
    synthesis = synthesize(tmp_path, "dev")

    platform = synthesis.named("events")
    pipeline = synthesis.named("events-orders")
    queue = synthesis.named("events-orders-queue")
    dead_letter_queue = synthesis.named("events-orders-dlq")
    alarm = synthesis.named("late")

    assert synthesis.stack_urn == "urn:pulumi:dev::shop::pulumi:pulumi:Stack::shop-dev"
    assert platform.urn == "urn:pulumi:dev::shop::eventinfra:index:Platform::events"
    assert platform.parent == synthesis.stack_urn
    assert pipeline.urn == (
        "urn:pulumi:dev::shop::eventinfra:index:Platform$eventinfra:index:Pipeline::events-orders"
    )
    assert queue.urn == (
        "urn:pulumi:dev::shop::eventinfra:index:Platform$eventinfra:index:Pipeline"
        "$aws:sqs/queue:Queue::events-orders-queue"
    )
    assert [child.name for child in synthesis.children(pipeline.urn)] == [
        "events-orders-dlq",
        "events-orders-queue",
    ]
    assert (pipeline.custom, pipeline.id, queue.custom) == (False, None, True)
    assert queue.dependencies == (dead_letter_queue.urn,)
    assert json.loads(queue.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter_queue.outputs["arn"]
    }
    # A component's registered outputs are its state; depending on it means on its children.
    assert pipeline.outputs == {"queueArn": queue.outputs["arn"]}
    assert alarm.dependencies == tuple(sorted((dead_letter_queue.urn, queue.urn)))
    assert alarm.inputs["threshold"] == 0 and isinstance(alarm.inputs["threshold"], int)
    assert [r.name for r in critical_path(synthesis.resources)] == [
        "events-orders-dlq",
        "events-orders-queue",
        "late",
    ]
    assert synthesis.by_type(QUEUE) == [dead_letter_queue, queue]
    assert synthesis.get(queue.urn) is queue


def test_critical_path_expands_component_dependencies_to_their_custom_resources() -> None:
    def resource(name: str, custom: bool = True, **fields: Any) -> RecordedResource:
        return RecordedResource(urn=f"urn:{name}", type="t", name=name, custom=custom, **fields)

    resources = [
        resource("a"),
        resource("component", custom=False),
        resource("b", parent="urn:component", dependencies=("urn:a",)),
        resource("c", parent="urn:component"),
        resource("d", property_dependencies={"x": ("urn:component",)}),
        resource("e", dependencies=("urn:a",)),
    ]
    assert [r.name for r in critical_path(resources)] == ["a", "b", "d"]
    assert critical_path([]) == []


def test_progress_is_reported_for_every_registration(tmp_path: Path) -> None:
    write_program(tmp_path, COMPONENT_PROGRAM)
    counts: list[int] = []
    synthesis = synthesize(tmp_path, "dev", progress=counts.append)
    assert counts == list(range(1, len(synthesis.resources) + 1))
    assert len(synthesis.resources) == 5


# --- mocks file: stack references and invokes --------------------------------------------------

LOOKUP_PROGRAM = """
    import pulumi
    import pulumi_aws as aws

    network = pulumi.StackReference("acme/network/prod")
    identity = aws.get_caller_identity()
    pulumi.export("vpc", network.get_output("vpcId"))
    pulumi.export("account", identity.account_id)
    pulumi.export("region", aws.get_region().region)
    pulumi.export("partition", aws.get_partition_output().partition)
    pulumi.export("zones", aws.get_availability_zones().names)
"""

LOOKUP_MOCKS = """
    account_id: "210987654321"
    partition: aws-us-gov
    stack_references:
      acme/network/prod:
        vpcId: vpc-0abc
    invokes:
      aws:index/getAvailabilityZones:getAvailabilityZones:
        names: [eu-west-1a, eu-west-1b]
"""


def test_stack_references_and_invokes_answer_from_the_mocks_file(tmp_path: Path) -> None:
    write_program(tmp_path, LOOKUP_PROGRAM, mocks=LOOKUP_MOCKS)
    synthesis = synthesize(tmp_path, "dev")

    assert synthesis.outputs == {
        "vpc": "vpc-0abc",
        "account": "210987654321",
        "region": "eu-west-1",
        "partition": "aws-us-gov",
        "zones": ["eu-west-1a", "eu-west-1b"],
    }
    reference = synthesis.named("acme/network/prod")
    assert reference.type == "pulumi:pulumi:StackReference"
    assert (reference.external, reference.id) == (True, "acme/network/prod")


def test_a_mock_values_argument_overrides_the_file_next_to_the_stack(tmp_path: Path) -> None:
    write_program(tmp_path, LOOKUP_PROGRAM, mocks="account_id: '999999999999'\n")
    override = tmp_path / "elsewhere.yaml"
    override.write_text(textwrap.dedent(LOOKUP_MOCKS))
    assert synthesize(tmp_path, "dev", mock_values=override).outputs["account"] == "210987654321"


def test_a_missing_stack_reference_names_it_and_the_mocks_file(tmp_path: Path) -> None:
    write_program(tmp_path, LOOKUP_PROGRAM)
    with pytest.raises(MockValuesError) as raised:
        synthesize(tmp_path, "dev")
    mocks_file = tmp_path / "stacks" / "Pulumi.dev.mocks.yaml"
    assert str(raised.value).startswith(
        f"{tmp_path / '__main__.py'}:5: The program reads the stack reference "
        f"'acme/network/prod', which cannot be reached offline, and {mocks_file} gives no "
        "outputs for it (stack references it defines: none). Add them under "
        "`stack_references:`"
    )


def test_a_missing_invoke_names_the_token_and_the_mocks_file(tmp_path: Path) -> None:
    write_program(
        tmp_path, LOOKUP_PROGRAM, mocks="stack_references: {acme/network/prod: {vpcId: v}}\n"
    )
    with pytest.raises(MockValuesError) as raised:
        synthesize(tmp_path, "dev")
    mocks_file = tmp_path / "stacks" / "Pulumi.dev.mocks.yaml"
    assert str(raised.value).startswith(
        "The program calls the provider function "
        "'aws:index/getAvailabilityZones:getAvailabilityZones', which cannot run offline, and "
        f"{mocks_file} gives no result for it. Add the result under `invokes:`"
    )


def test_mocks_file_errors_name_the_file_line_and_every_key_path(tmp_path: Path) -> None:
    mocks = """
        account_id: 12345
        region: Ireland
        invokes:
          aws:index/getRegion:getRegion: not-a-mapping
        stack_refs: {}
    """
    write_program(tmp_path, "import pulumi\n", mocks=mocks)
    path = tmp_path / "stacks" / "Pulumi.dev.mocks.yaml"
    with pytest.raises(MockValuesError) as raised:
        synthesize(tmp_path, "dev")
    assert str(raised.value).splitlines() == [
        f"4 problems in the mocks file {path}:",
        f"  - {path}:2: account_id: expected a string, found 12345.",
        f"  - {path}:3: region: expected an AWS region like 'eu-west-1' (default: "
        "`aws:region` in the stack config), found 'Ireland'.",
        f'  - {path}:5: invokes."aws:index/getRegion:getRegion": expected a mapping of '
        "keys, found 'not-a-mapping'.",
        f"  - {path}:6: stack_refs: is not a known key; expected one of: account_id, "
        "region, partition, invokes, stack_references.",
    ]


def test_a_mocks_file_that_is_not_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    write_program(tmp_path, "import pulumi\n", mocks="account_id: '1'\ninvokes: [\n")
    path = tmp_path / "stacks" / "Pulumi.dev.mocks.yaml"
    with pytest.raises(MockValuesError, match=re.escape(f"{path}:3: the mocks file is not valid")):
        synthesize(tmp_path, "dev")


# --- failures ----------------------------------------------------------------------------------


def test_a_failing_program_reports_type_message_and_its_own_line(tmp_path: Path) -> None:
    write_program(
        tmp_path,
        """
        import pulumi_aws as aws
        import helpers

        queue = aws.sqs.Queue("q")
        queue.arn.apply(helpers.check)
        """,
        extra_files={"helpers.py": "def check(arn):\n    raise KeyError(arn.split(':')[2])\n"},
    )
    with pytest.raises(ProgramError) as raised:
        synthesize(tmp_path, "dev")
    helpers = tmp_path / "helpers.py"
    assert str(raised.value) == f"The Pulumi program failed at {helpers}:2: KeyError: 'sqs'"
    assert (raised.value.file, raised.value.line) == (helpers, 2)
    assert raised.value.exception_type == "KeyError"
    assert isinstance(raised.value, EventInfraError)


def test_the_location_is_the_deepest_frame_in_the_programs_own_files(tmp_path: Path) -> None:
    write_program(
        tmp_path,
        "import helpers\n\nhelpers.check('a:b')\n",
        extra_files={"helpers.py": "def check(arn):\n    return int(arn)\n"},
    )
    with pytest.raises(ProgramError) as raised:
        synthesize(tmp_path, "dev")
    assert str(raised.value) == (
        f"The Pulumi program failed at {tmp_path / 'helpers.py'}:2: "
        "ValueError: invalid literal for int() with base 10: 'a:b'"
    )


def test_a_missing_required_config_value_is_a_program_error_at_its_line(tmp_path: Path) -> None:
    write_program(tmp_path, "import pulumi\n\npulumi.Config().require('missing')\n")
    with pytest.raises(ProgramError) as raised:
        synthesize(tmp_path, "dev")
    assert str(raised.value).startswith(
        f"The Pulumi program failed at {tmp_path / '__main__.py'}:3: "
        "pulumi.config.ConfigMissingError: Missing required configuration variable 'shop:missing'"
    )


def test_user_errors_from_eventinfra_propagate_unchanged(tmp_path: Path) -> None:
    write_program(
        tmp_path,
        """
        class SettingsError(ValueError):
            is_user_error = True

        raise SettingsError("2 problems:\\n  - a\\n  - b")
        """,
    )
    with pytest.raises(ValueError, match=r"^2 problems:\n  - a\n  - b$") as raised:
        synthesize(tmp_path, "dev")
    assert type(raised.value).__name__ == "SettingsError"


def test_duplicate_urns_are_rejected_like_the_engine_does(tmp_path: Path) -> None:
    write_program(tmp_path, "import pulumi_aws as aws\n\naws.sqs.Queue('q')\naws.sqs.Queue('q')\n")
    main = tmp_path / "__main__.py"
    with pytest.raises(PlanError) as raised:
        synthesize(tmp_path, "dev")
    assert str(raised.value).startswith(
        "Two resources have the URN 'urn:pulumi:dev::shop::aws:sqs/queue:Queue::q' "
        f"(registered at {main}:3 and at {main}:4)"
    )


def test_a_generated_name_longer_than_aws_allows_is_rejected(tmp_path: Path) -> None:
    write_program(tmp_path, f"import pulumi_aws as aws\n\naws.sqs.Queue({'q' * 75!r})\n")
    with pytest.raises(PlanError, match=r"\(83 characters\), but AWS allows at most 80"):
        synthesize(tmp_path, "dev")


def test_program_warnings_are_diagnostics_even_when_the_caller_makes_them_errors(
    tmp_path: Path,
) -> None:
    write_program(
        tmp_path,
        """
        import warnings
        import pulumi

        warnings.warn("old style", UserWarning)
        pulumi.log.warn("look here")
        pulumi.export("done", True)
        """,
    )
    synthesis = synthesize(tmp_path, "dev")  # pytest runs with filterwarnings = error
    assert synthesis.outputs == {"done": True}
    messages = [(d.severity, d.message) for d in synthesis.diagnostics]
    assert ("warning", "look here") in messages
    assert ("warning", f"{tmp_path / '__main__.py'}:5: UserWarning: old style") in messages


# --- repeated runs -----------------------------------------------------------------------------


# Components whose children wait on invokes and on each other: with RPC answers coming back from
# worker threads, the registration order of this program varied between runs.
FAN_OUT_PROGRAM = """
    import json
    import pulumi
    import pulumi_aws as aws
    import extra

    class Consumer(pulumi.ComponentResource):
        def __init__(self, name, topic, opts=None):
            super().__init__("test:index:Consumer", name, None, opts)
            child = pulumi.ResourceOptions(parent=self)
            invoke = pulumi.InvokeOptions(parent=self)
            account = aws.get_caller_identity_output(opts=invoke).account_id
            region = aws.get_region_output(opts=invoke).region
            dlq = aws.sqs.Queue(f"{name}-dlq", opts=child)
            queue = aws.sqs.Queue(
                f"{name}-queue",
                redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})),
                opts=child,
            )
            aws.sqs.QueuePolicy(
                f"{name}-policy",
                queue_url=queue.url,
                policy=pulumi.Output.all(queue.arn, topic.arn, account, region).apply(json.dumps),
                opts=child,
            )
            aws.sns.TopicSubscription(
                f"{name}-sub", topic=topic.arn, protocol="sqs", endpoint=queue.arn, opts=child
            )
            self.queue_arn = queue.arn
            self.register_outputs({"queueArn": queue.arn})

    topics = [aws.sns.Topic(f"t{index}") for index in range(3)]
    consumers = [Consumer(f"c{index}", topics[index % 3]) for index in range(8)]
    pulumi.export("queues", [consumer.queue_arn for consumer in consumers])
"""


def test_a_failed_run_leaves_nothing_that_warns_in_a_later_collection(tmp_path: Path) -> None:
    # Its stack reference has no mock outputs, so the SDK's require_output leaves `Output.future`
    # and `Output.is_known` coroutines that are never awaited; whatever still holds them after
    # the run would warn about them in some later test's garbage collection, where
    # filterwarnings = error fails that test. The next run is what once let them go.
    mocks = tmp_path / "mocks.yaml"
    mocks.write_text("account_id: '123456789012'\n")
    with warnings.catch_warnings():  # what earlier tests left is not this test's to judge
        warnings.simplefilter("ignore")
        gc.collect()
    with pytest.raises(MockValuesError) as raised:
        synthesize(REPOSITORY / "examples" / "orders-service", "dev", mock_values=mocks)
    del raised
    record(lambda: None)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()

    assert [str(warning.message) for warning in caught] == []


def test_runs_in_one_process_record_identical_graphs_and_restore_the_process(
    tmp_path: Path,
) -> None:
    write_program(
        tmp_path,
        FAN_OUT_PROGRAM,
        extra_files={"extra.py": "import pulumi_aws as aws\n\naws.sns.Topic('from-module')\n"},
    )
    cwd, path = os.getcwd(), list(sys.path)

    runs = [synthesize(tmp_path, "dev") for _ in range(4)]

    first = runs[0]
    assert len(first.resources) == 4 + 8 * 5
    assert first.resources[0].name == "from-module"
    assert all(run.resources == first.resources for run in runs[1:])
    assert all(run.outputs == first.outputs for run in runs[1:])
    assert (os.getcwd(), sys.path) == (cwd, path)
    assert "extra" not in sys.modules  # so the next run imports it, and declares its topic, again


def test_the_monitor_answers_on_the_thread_that_runs_the_program(tmp_path: Path) -> None:
    # Answering inline, not from worker threads, is what makes the order reproducible.
    write_program(
        tmp_path,
        """
        import threading
        import pulumi
        import pulumi_aws as aws

        aws.sqs.Queue("q")
        pulumi.export("thread", threading.get_ident())
        """,
    )
    threads: list[int] = []
    synthesis = synthesize(tmp_path, "dev", progress=lambda _: threads.append(get_ident()))
    assert threads == [synthesis.outputs["thread"]]


def test_record_runs_a_component_and_leaves_the_callers_runtime_alone() -> None:
    class Pair(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("eventinfra:index:Pair", name)
            self.queue = aws.sqs.Queue(f"{name}-queue", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({"queueArn": self.queue.arn})

    synthesis = record(lambda: Pair("orders"), config={"aws:region": "ap-south-1"})

    component, queue = synthesis.resources
    assert component.urn == "urn:pulumi:test::test::eventinfra:index:Pair::orders"
    assert queue.urn == (
        "urn:pulumi:test::test::eventinfra:index:Pair$aws:sqs/queue:Queue::orders-queue"
    )
    assert queue.parent == component.urn
    assert queue.outputs["arn"] == (
        f"arn:aws:sqs:ap-south-1:123456789012:orders-queue-{urn_hex(queue.urn)}"
    )
    assert component.outputs == {"queueArn": queue.outputs["arn"]}
    assert (pulumi.get_project(), pulumi.get_stack()) == ("project", "stack")


def test_kubernetes_random_and_policy_document_mocks() -> None:
    import pulumi_kubernetes as kubernetes
    import pulumi_random as random

    documents: dict[str, str] = {}

    def build() -> None:
        kubernetes.core.v1.ConfigMap("Orders-Settings", data={"a": "b"})
        kubernetes.core.v1.Namespace("events")
        random.RandomString("suffix", length=12, upper=False, special=False)
        aws.iam.get_policy_document_output(
            statements=[
                {
                    "actions": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                    "resources": ["arn:aws:sqs:us-east-1:123456789012:orders"],
                    "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}],
                }
            ]
        ).json.apply(lambda text: documents.setdefault("json", text))

    synthesis = record(build)
    config_map = synthesis.named("Orders-Settings")
    namespace = synthesis.named("events")
    assert re.fullmatch(r"orders-settings-[0-9a-f]{8}", config_map.outputs["metadata"]["name"])
    assert config_map.outputs["metadata"]["namespace"] == "default"
    assert config_map.id == f"default/{config_map.outputs['metadata']['name']}"
    assert "namespace" not in namespace.outputs["metadata"]  # a cluster-scoped kind
    assert re.fullmatch(r"[a-z0-9]{12}", synthesis.named("suffix").outputs["result"])
    assert json.loads(documents["json"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                "Resource": "arn:aws:sqs:us-east-1:123456789012:orders",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ],
    }


def test_record_lets_exceptions_from_the_build_through() -> None:
    def build() -> None:
        raise LookupError("no such topic")

    with pytest.raises(LookupError, match="no such topic"):
        record(build)


class _Pipeline(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Pipeline", name, None, opts)
        aws.sqs.Queue(f"{name}-queue", opts=pulumi.ResourceOptions(parent=self))
        aws.sqs.Queue("shared-dlq", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class _Platform(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("test:index:Platform", name)
        _Pipeline(
            f"{name}-orders",
            pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name="orders")]),
        )
        self.register_outputs({})


def test_aliases_are_recorded_as_the_engine_resolves_them_children_inheriting_the_parents() -> None:
    synthesis = record(lambda: _Platform("events"), project="shop", stack="dev")

    chain = "urn:pulumi:dev::shop::test:index:Platform$test:index:Pipeline"
    assert synthesis.named("events").aliases == ()
    assert synthesis.named("events-orders").aliases == (f"{chain}::orders",)
    # A child named after its renamed parent had the parent's old name in its own.
    assert synthesis.named("events-orders-queue").aliases == (
        f"{chain}$aws:sqs/queue:Queue::orders-queue",
    )
    # One that is not keeps its name: its inherited alias is its own URN, which the engine
    # looks up first anyway.
    shared = synthesis.named("shared-dlq")
    assert shared.aliases == (shared.urn,) == (f"{chain}$aws:sqs/queue:Queue::shared-dlq",)


def test_an_alias_with_a_type_parent_or_urn_is_collapsed_as_the_engine_does() -> None:
    def build() -> None:
        aws.sqs.Queue(
            "jobs",
            opts=pulumi.ResourceOptions(
                aliases=[
                    pulumi.Alias(type_="aws:sqs/oldQueue:Queue"),
                    pulumi.Alias(name="work", parent="urn:pulumi:dev::shop::test:index:Old::old"),
                    "urn:pulumi:dev::other::aws:sqs/queue:Queue::jobs",
                ]
            ),
        )

    synthesis = record(build, project="shop", stack="dev")

    assert synthesis.named("jobs").aliases == (
        "urn:pulumi:dev::shop::aws:sqs/oldQueue:Queue::jobs",
        "urn:pulumi:dev::shop::test:index:Old$aws:sqs/queue:Queue::work",
        "urn:pulumi:dev::other::aws:sqs/queue:Queue::jobs",
    )
