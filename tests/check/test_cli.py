"""`eventinfra check`: its text, JSON and diagram output, and every exit code but 1."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventinfra.check.cli import EXIT_INVALID, EXIT_OK, main
from eventinfra.check.synth import synthesize
from eventinfra.config.stack import TOPOLOGY_OVERRIDE_ENV
from tests.support import REPOSITORY, link_runtime

SERVICE = REPOSITORY / "examples" / "orders-service"
GOLDEN = REPOSITORY / "tests" / "aws" / "golden"
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "topology.yaml")
PROJECT_FOLDERS = ("stacks", "schemas", "functions")
CAMEL_CASE = re.compile(r"^[a-z][A-Za-z0-9]*$")


@pytest.fixture(autouse=True)
def plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rich decides colour and width from the environment: make the output plain and unwrapped.
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", TOPOLOGY_OVERRIDE_ENV):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def check(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["check", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> dict[str, Any]:
    code, out, err = check(capsys, "--format", "json", *arguments)
    assert code == EXIT_OK, err
    document: dict[str, Any] = json.loads(out)
    return document


def copy_project(destination: Path) -> Path:
    for name in PROJECT_FILES:
        shutil.copy(REPOSITORY / name, destination / name)
    for name in PROJECT_FOLDERS:
        shutil.copytree(REPOSITORY / name, destination / name)
    link_runtime(destination)
    return destination


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the only line of `path` containing `text`."""
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(lines) == 1, f"{text!r} is on lines {lines} of {path}"
    return lines[0]


# --- text --------------------------------------------------------------------------------------


def test_the_text_plan_lists_each_component_with_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = check(capsys, "--stack", "dev", "--no-policies")

    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0] == "stack dev (broker sns-sqs)"
    assert lines[1] == "└── eventinfra:index:EventPlatform events"
    for component in (
        "eventinfra:index:EventKey events-key",
        "eventinfra:index:EventTopic events-event-user-signup",
        "eventinfra:index:EventProducer events-producer-accounts-api",
        "eventinfra:index:EventConsumer events-consumer-welcome-email",
        "eventinfra:index:LambdaConsumer events-consumer-welcome-email",
        "eventinfra:index:IdempotencyStore events-consumer-fulfilment-idempotency",
        "eventinfra:index:ParkingQueue events-parking-invoice-paid",
    ):
        assert any(line.endswith(f"── {component}") for line in lines), component
    consumer = lines.index("    ├── eventinfra:index:EventConsumer events-consumer-fulfilment")
    assert lines[consumer + 1 : consumer + 6] == [
        "    │   ├── + aws:cloudwatch/metricAlarm:MetricAlarm x2",
        "    │   ├── + aws:iam/policy:Policy x1",
        "    │   ├── + aws:sns/topicSubscription:TopicSubscription x1",
        "    │   ├── + aws:sqs/queue:Queue x2",
        "    │   ├── + aws:sqs/queuePolicy:QueuePolicy x2",
    ]
    assert lines[-2] == "Plan: 52 to create (15 resource types) in 17 components, stack dev."
    assert lines[-1].startswith("Policies: ")
    assert re.fullmatch(r"Planned 69 resources in \d+\.\d s\.\n", err)


def test_prod_plans_the_same_resources_as_dev(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(capsys, "--stack", "prod", "--no-policies")
    assert code == EXIT_OK
    assert out.splitlines()[-2] == (
        "Plan: 52 to create (15 resource types) in 17 components, stack prod."
    )


def test_the_default_program_is_the_working_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = check(capsys, "--no-policies")
    assert code == EXIT_INVALID
    assert f"No Pulumi project in {tmp_path}" in err

    monkeypatch.chdir(REPOSITORY)
    code, out, _ = check(capsys, "--no-policies")
    assert code == EXIT_OK
    assert out.splitlines()[-2].endswith("stack dev.")


def test_the_example_passes_the_policy_pack_when_there_is_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Until policies/__main__.py exists the CLI runs no policies; afterwards the example must
    # still exit 0, with no mandatory violation.
    document = check_json(capsys, "--stack", "dev")
    assert [v for v in document["violations"] if v["enforcementLevel"] == "mandatory"] == []


# --- JSON --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_json() -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", "--stack", "dev", "--format", "json", "--no-policies"])
    assert code == EXIT_OK
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def test_json_has_the_documented_keys(dev_json: dict[str, Any]) -> None:
    assert list(dev_json) == ["stack", "broker", "resources", "policies", "violations"]
    assert (dev_json["stack"], dev_json["broker"], dev_json["violations"]) == ("dev", "sns-sqs", [])
    assert len(dev_json["resources"]) == 70  # the stack, 17 components, 52 custom resources
    for resource in dev_json["resources"]:
        assert list(resource) == ["urn", "type", "name", "parent", "dependencies", "inputs"]


def test_json_parents_and_dependencies_are_listed_resources(dev_json: dict[str, Any]) -> None:
    urns = [resource["urn"] for resource in dev_json["resources"]]
    assert len(set(urns)) == len(urns)
    stack = dev_json["resources"][0]
    assert (stack["type"], stack["parent"]) == ("pulumi:pulumi:Stack", None)
    for resource in dev_json["resources"][1:]:
        assert resource["parent"] in urns, resource["urn"]
        assert set(resource["dependencies"]) <= set(urns), resource["urn"]
    subscription = next(
        r
        for r in dev_json["resources"]
        if r["name"] == "events-consumer-welcome-email-user-signup-subscription"
    )
    # Its inputs' resources, and the queue policies it must wait for (`depends_on`).
    assert sorted(u.rsplit("::", 1)[1] for u in subscription["dependencies"]) == [
        "events-consumer-welcome-email-dlq",
        "events-consumer-welcome-email-dlq-policy",
        "events-consumer-welcome-email-queue",
        "events-consumer-welcome-email-queue-policy",
        "events-event-user-signup-topic",
    ]


def test_json_inputs_use_the_engine_camel_case_names(dev_json: dict[str, Any]) -> None:
    for resource in dev_json["resources"]:
        for key in resource["inputs"]:
            assert CAMEL_CASE.match(key), f"{resource['urn']}: {key}"
    queue = next(
        r for r in dev_json["resources"] if r["name"] == "events-consumer-welcome-email-queue"
    )
    assert json.loads(queue["inputs"]["redrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:dev-welcome-email-dlq",
        "maxReceiveCount": 5,
    }
    assert queue["inputs"]["visibilityTimeoutSeconds"] == 180
    mapping = next(
        r
        for r in dev_json["resources"]
        if r["name"] == "events-consumer-welcome-email-event-source"
    )
    assert mapping["inputs"]["scalingConfig"] == {"maximumConcurrency": 5}
    assert mapping["inputs"]["functionResponseTypes"] == ["ReportBatchItemFailures"]


# --- diagram -----------------------------------------------------------------------------------

NODE = re.compile(r'^  (n[0-9a-f]{8})\W+"(.*)"\W+:::(\w+)$')
EDGE = re.compile(r'^  (n[0-9a-f]{8}) (-->|-\.->)(?:\|"(.*)"\|)? (n[0-9a-f]{8})$')


def parse_flowchart(text: str) -> tuple[dict[str, Any], dict[str, str], set[tuple[Any, ...]]]:
    """(front matter, {label: class}, {(source label, arrow, edge label, target label)})."""
    lines = text.splitlines()
    assert lines[:2] == ["```mermaid", "---"] and lines[-1] == "```"
    end = lines.index("---", 2)
    front_matter = yaml.safe_load("\n".join(lines[2:end]))
    assert lines[end + 1] == "flowchart LR"
    labels: dict[str, str] = {}
    classes: dict[str, str] = {}
    edges: set[tuple[Any, ...]] = set()
    for line in lines[end + 2 : -1]:
        if node := NODE.match(line):
            labels[node[1]] = node[2]
            classes[node[2]] = node[3]
        elif edge := EDGE.match(line):
            edges.add((labels[edge[1]], edge[2], edge[3], labels[edge[4]]))
        else:
            assert line.startswith("  classDef "), line
    return front_matter, classes, edges


def test_the_diagram_shows_producers_topics_queues_and_dead_letter_queues(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    diagram = tmp_path / "flow.md"
    code, _, _ = check(capsys, "--stack", "dev", "--no-policies", "--diagram", str(diagram))

    assert code == EXIT_OK
    front_matter, classes, edges = parse_flowchart(diagram.read_text())
    assert front_matter == {"title": "eventinfra / dev: event flow"}
    assert edges == {
        ("accounts-api", "-->", "publishes", "dev-user-signup"),
        ("checkout-api", "-->", "publishes", "dev-order-placed"),
        ("billing", "-->", "publishes", "dev-invoice-paid"),
        ("dev-invoice-paid", "-->", None, "dev-invoice-paid-parking"),
        ("dev-user-signup", "-->", "filter plan: pro, team", "dev-welcome-email"),
        ("dev-user-signup", "-->", None, "dev-analytics"),
        ("dev-order-placed", "-->", None, "dev-analytics"),
        ("dev-order-placed", "-->", None, "dev-fulfilment"),
        ("dev-welcome-email", "-.->", "after 5 receives", "dev-welcome-email-dlq"),
        ("dev-analytics", "-.->", "after 5 receives", "dev-analytics-dlq"),
        ("dev-fulfilment", "-.->", "after 8 receives", "dev-fulfilment-dlq"),
        ("dev-welcome-email", "-->", None, "dev-welcome-email (Lambda)"),
        ("dev-analytics", "-->", None, "analytics (external)"),
        ("dev-fulfilment", "-->", None, "fulfilment (external)"),
    }
    assert classes["accounts-api"] == "producer"
    assert classes["dev-user-signup"] == "topic"
    assert classes["dev-welcome-email"] == "queue"
    assert classes["dev-welcome-email-dlq"] == "deadletter"
    assert classes["dev-invoice-paid-parking"] == "parking"
    assert classes["dev-welcome-email (Lambda)"] == "consumer"


# --- another program, another topology --------------------------------------------------------


def test_program_plans_the_service_stack(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    diagram = tmp_path / "service.md"
    code, out, _ = check(
        capsys, "--program", str(SERVICE), "--stack", "dev", "--diagram", str(diagram)
    )

    assert code == EXIT_OK
    lines = out.splitlines()
    # A program without eventinfra settings has no broker; what it declares at the top level,
    # read or created, is listed beside its components.
    assert lines[:4] == [
        "stack dev",
        "├── + aws:sns/topicSubscription:TopicSubscription x1",
        "├── > read pulumi:pulumi:StackReference x1",
        "├── eventinfra:index:EventKey orders-key",
    ]
    assert "└── eventinfra:index:EventConsumer order-confirmation" in lines
    assert lines[-2] == (
        "Plan: 19 to create (13 resource types), 1 to read in 5 components, stack dev."
    )
    # The service project has no policies/ of its own: the pack installed with eventinfra ran.
    assert lines[-1].startswith("Policies: eventinfra@") and "(bundled)" in lines[-1]
    front_matter, classes, edges = parse_flowchart(diagram.read_text())
    assert front_matter == {"title": "orders-service / dev: event flow"}
    assert edges == {
        ("dev-order-placed (other stack)", "-->", None, "dev-orders-confirmation"),
        ("dev-orders-confirmation", "-.->", "after 5 receives", "dev-orders-confirmation-dlq"),
        ("dev-orders-confirmation", "-->", None, "dev-orders-confirmation (Lambda)"),
    }
    assert classes["dev-order-placed (other stack)"] == "topic"


def test_program_json_has_no_broker_and_reads_the_platform_stack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = check_json(capsys, "--program", str(SERVICE), "--stack", "dev")
    assert document["broker"] is None
    subscription = next(
        r for r in document["resources"] if r["name"].endswith("order-placed-subscription")
    )
    assert subscription["inputs"]["topic"] == "arn:aws:sns:eu-west-1:123456789012:dev-order-placed"


TWO_CONSUMER_TOPOLOGY = """\
events:
  order.placed: {}
producers:
  checkout-api:
    publishes: [order.placed]
consumers:
  ledger:
    subscribes: [order.placed]
    runtime: external
  audit:
    subscribes:
      - event: order.placed
        filter: {country: [de]}
    runtime: external
    idempotency: {enabled: false}
"""


def test_topology_replaces_the_stack_topology(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    topology = tmp_path / "small.yaml"
    topology.write_text(TWO_CONSUMER_TOPOLOGY)

    document = check_json(capsys, "--stack", "dev", "--no-policies", "--topology", str(topology))

    consumers = sorted(
        r["name"] for r in document["resources"] if r["type"] == "eventinfra:index:EventConsumer"
    )
    assert consumers == ["events-consumer-audit", "events-consumer-ledger"]
    topics = sorted(
        r["inputs"]["name"] for r in document["resources"] if r["type"] == "aws:sns/topic:Topic"
    )
    assert topics == ["dev-eventinfra-alerts", "dev-order-placed"]
    assert TOPOLOGY_OVERRIDE_ENV not in os.environ  # the next run uses the stack's again
    code, out, _ = check(capsys, "--stack", "dev", "--no-policies")
    assert code == EXIT_OK and "EventConsumer events-consumer-welcome-email" in out


# --- exit code 2 -------------------------------------------------------------------------------


def test_topology_gives_back_the_callers_own_topology_setting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = tmp_path / "small.yaml"
    topology.write_text(TWO_CONSUMER_TOPOLOGY)
    callers = str(REPOSITORY / "topology.yaml")
    monkeypatch.setenv(TOPOLOGY_OVERRIDE_ENV, callers)

    document = check_json(capsys, "--stack", "dev", "--no-policies", "--topology", str(topology))

    assert "events-consumer-audit" in {r["name"] for r in document["resources"]}
    assert os.environ[TOPOLOGY_OVERRIDE_ENV] == callers


FLAG_EVERY_QUEUE_PACK = """\
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def flag_queue(args, report_violation):
    if args.resource_type == "aws:sqs/queue:Queue":
        report_violation(f"Queue '{args.name}' is flagged, because this pack flags every queue.")


PolicyPack(
    name="flag-queues",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=[
        ResourceValidationPolicy(
            name="flag-queues", description="Flags every queue.", validate=flag_queue
        )
    ],
)
"""


def test_sarif_locates_violations_in_the_topology_given_with_topology(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    topology = tmp_path / "small.yaml"
    topology.write_text(TWO_CONSUMER_TOPOLOGY)
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 1.0.0\n")
    (pack / "__main__.py").write_text(FLAG_EVERY_QUEUE_PACK)
    policy_config = tmp_path / "policy-config.json"
    policy_config.write_text("{}")  # the stack's own file configures the eventinfra pack

    code, out, err = check(
        capsys,
        *("--stack", "dev", "--format", "sarif", "--topology", str(topology)),
        *("--policy-pack", str(pack), "--policy-config", str(policy_config)),
    )

    assert code == EXIT_OK, err
    results = json.loads(out)["runs"][0]["results"]
    audit = [
        result
        for result in results
        if result["locations"][0]["logicalLocations"][0]["name"].startswith("events-consumer-audit")
    ]
    assert len(audit) == 2  # the consumer's queue and its dead-letter queue
    for result in audit:
        assert result["locations"][0]["physicalLocation"] == {
            "artifactLocation": {"uri": topology.resolve().as_uri()},
            "region": {"startLine": line_of(topology, "  audit:")},
        }


def test_an_invalid_topology_exits_2_naming_file_line_and_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project(tmp_path)
    topology = project / "topology.yaml"
    topology.write_text(
        topology.read_text().replace("max_receive_count: 8", "max_receive_count: 0")
    )
    line = line_of(topology, "max_receive_count: 0")

    code, out, err = check(capsys, "--program", str(project), "--stack", "dev")

    assert code == EXIT_INVALID
    assert out == ""
    assert err == (
        "error: 1 problem in the eventinfra configuration:\n"
        f"  - {topology}:{line}: consumers.fulfilment.max_receive_count: expected an integer "
        "from 1 to 1000 (the SQS redrive policy limits), found 0.\n"
    )


def test_an_invalid_stack_setting_exits_2_naming_the_stack_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project(tmp_path)
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("lambda_errors: 5", "lambda_errors: -1"))

    code, _, err = check(capsys, "--program", str(project), "--stack", "dev")

    assert code == EXIT_INVALID
    assert f"{stack_file}:{line_of(stack_file, 'lambda_errors')}: " in err
    assert "alarms.lambda_errors" in err
    assert "Traceback" not in err


def test_an_unknown_stack_exits_2_listing_the_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = check(capsys, "--stack", "staging")

    assert code == EXIT_INVALID
    assert out == ""
    assert err == (
        "error: Project 'eventinfra' has no stack 'staging': expected its settings in "
        f"{REPOSITORY / 'stacks' / 'Pulumi.staging.yaml'}, and the stacks that exist are "
        "'dev', 'k8s', 'kafka', 'prod'.\n"
    )


def test_a_failing_program_exits_2_with_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project(tmp_path)
    main_file = project / "__main__.py"
    main_file.write_text(
        main_file.read_text().replace(
            '    export_aws(SnsSqsPlatform.from_config("events", config))\n',
            '    export_aws(SnsSqsPlatform.from_config("events", config))\n'
            '    raise RuntimeError("no region")\n',
        )
    )

    code, _, err = check(capsys, "--program", str(project), "--stack", "dev")

    assert code == EXIT_INVALID
    assert err == (
        f"error: The Pulumi program failed at {main_file}:"
        f"{line_of(main_file, 'RuntimeError')}: RuntimeError: no region\n"
    )


def test_a_missing_stack_reference_exits_2_naming_the_mocks_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mocks = tmp_path / "mocks.yaml"
    mocks.write_text("account_id: '123456789012'\n")

    code, out, err = check(
        capsys, "--program", str(SERVICE), "--stack", "dev", "--mock-values", str(mocks)
    )

    assert code == EXIT_INVALID
    assert out == ""
    line = line_of(SERVICE / "__main__.py", "pulumi.StackReference(")
    assert err.startswith(
        f"error: {SERVICE / '__main__.py'}:{line}: The program reads the stack reference "
        f"'acme/eventinfra/dev', which cannot be reached offline, and {mocks} gives no outputs "
        "for it (stack references it defines: none)."
    )
    assert "Traceback" not in err


def test_a_missing_stack_output_exits_2_naming_it(tmp_path: Path) -> None:
    mocks = tmp_path / "mocks.yaml"
    mocks.write_text("stack_references:\n  acme/eventinfra/dev:\n    queue_urls: {}\n")

    result = run_process(
        "--program", str(SERVICE), "--stack", "dev", "--mock-values", str(mocks), cwd=tmp_path
    )

    assert result.returncode == EXIT_INVALID
    # One line: the stack reference's Output that never resolved once left coroutines the SDK
    # never awaited, collected at exit as "RuntimeWarning: coroutine 'Output.future' was never
    # awaited" under the error.
    assert result.stderr.splitlines() == [
        f"error: The Pulumi program in {SERVICE} failed: KeyError: 'topic_arns'"
    ]


def test_a_failed_run_leaves_nothing_to_collect_after_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Collected in a later test, the failed run's unawaited coroutines warned there, and
    filterwarnings = error failed that test instead (pytest reports the warning of a collection
    as the current test's)."""
    mocks = tmp_path / "mocks.yaml"
    mocks.write_text("stack_references:\n  acme/eventinfra/dev:\n    queue_urls: {}\n")
    code, _, _ = check(
        capsys, "--program", str(SERVICE), "--stack", "dev", "--mock-values", str(mocks)
    )
    assert code == EXIT_INVALID

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        unraisable: list[Any] = []
        previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
        try:
            gc.collect()
        finally:
            sys.unraisablehook = previous_hook
    assert [str(item.message) for item in caught] == []
    assert [str(item.exc_value) for item in unraisable] == []


@pytest.mark.parametrize("arn", ["*", "arn:aws:sns:eu-west-1:123456789012:*"])
def test_a_wildcard_topic_arn_in_the_mock_values_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, arn: str
) -> None:
    original = SERVICE / "stacks" / "Pulumi.dev.mocks.yaml"
    mocks = tmp_path / "Pulumi.dev.mocks.yaml"
    text = original.read_text(encoding="utf-8")
    placed = "arn:aws:sns:eu-west-1:123456789012:dev-order-placed"
    assert placed in text
    mocks.write_text(text.replace(placed, f"'{arn}'"), encoding="utf-8")

    code, out, err = check(
        capsys, "--program", str(SERVICE), "--stack", "dev", "--mock-values", str(mocks)
    )

    assert code == EXIT_INVALID
    assert out == ""
    assert err == (
        "error: 1 problem in the eventinfra configuration:\n"
        "  - <config>: EventConsumer 'order-confirmation' args.subscriptions[0].topic_arn: "
        f"resolved to the topic ARN '{arn}'; expected one SNS topic's ARN, "
        "arn:<partition>:sns:<region>:<12-digit account>:<topic name> with no wildcard, because a "
        "wildcard would let every matching topic send to the queue (aws:SourceArn). Check the "
        "value it comes from (a StackReference output, or the stack's mock values for "
        "`eventinfra check`).\n"
    )


KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# Each fails one resource that nothing else waits on (a topic policy, an alarm), the case where
# the SDK's re-raise drops the cause chain that leads to the ConfigError.
LEAF_PROGRAMS = {
    "publisher-role": (
        f"EventTopic('orders', {{'kms_key_arn': {KEY!r}, "
        "'publisher_role_arns': [identity.get_output('value')]})",
        "EventTopic 'orders' args.publisher_role_arns[0]: resolved to the role ARN '*'; expected "
        "one IAM role's ARN, arn:<partition>:iam::<12-digit account>:role/<name> (ASCII; a role "
        "name of at most 64 of A-Z a-z 0-9 + = , . @ _ -) with no wildcard, because a wildcard "
        "would let every matching principal publish (Principal, aws:PrincipalArn).",
    ),
    "parking-alarm": (
        "ParkingQueue('orders', {'topic_arn': 'arn:aws:sns:eu-west-1:123456789012:orders', "
        f"'kms_key_arn': {KEY!r}, "
        "'alarm_target': {'topic_arn': identity.get_output('value')}})",
        "ParkingQueue 'orders' args.alarm_target.topic_arn: resolved to the topic ARN '*'; "
        "expected one SNS topic's ARN, arn:<partition>:sns:<region>:<12-digit account>:<topic "
        "name> with no wildcard, because a wildcard is no alarm action and would leave the "
        "alarms silent.",
    ),
}


@pytest.mark.parametrize("component", sorted(LEAF_PROGRAMS))
def test_a_wildcard_from_a_stack_reference_exits_2_with_the_config_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, component: str
) -> None:
    declaration, problem = LEAF_PROGRAMS[component]
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: shop\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "stacks" / "Pulumi.dev.mocks.yaml").write_text(
        "stack_references:\n  acme/identity/dev: {value: '*'}\n"
    )
    (tmp_path / "__main__.py").write_text(
        "import pulumi\n\nfrom eventinfra import EventTopic, ParkingQueue\n\n"
        "identity = pulumi.StackReference('acme/identity/dev')\n"
        f"{declaration}\n"
    )

    code, out, err = check(capsys, "--program", str(tmp_path), "--stack", "dev")

    assert code == EXIT_INVALID
    assert out == ""
    assert err == (
        "error: 1 problem in the eventinfra configuration:\n"
        f"  - <config>: {problem} Check the value it comes from (a StackReference output, or "
        "the stack's mock values for `eventinfra check`).\n"
    )


def test_a_producer_role_of_another_account_exits_2_at_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project(tmp_path)
    topology = project / "topology.yaml"
    role = "arn:aws:iam::210987654321:role/accounts-api"
    topology.write_text(
        topology.read_text().replace(
            "    publishes: [user.signup]\n",
            f"    publishes: [user.signup]\n    role_arn: {role}\n",
            1,
        )
    )

    code, out, err = check(capsys, "--program", str(project), "--stack", "dev")

    assert code == EXIT_INVALID
    assert out == ""
    assert err.startswith(
        "error: 1 problem in the eventinfra configuration:\n"
        f"  - {topology}:{line_of(topology, role)}: producers.accounts-api.role_arn: gives the "
        f"role ARN '{role}' of account 210987654321, but the stack deploys to account "
        "123456789012; expected a role of account 123456789012, or `cross_account: true`"
    )
    assert "Traceback" not in err


def test_error_text_in_brackets_is_printed_as_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: shop\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(
        'raise ValueError("expected one of [lambda, external]")\n'
    )

    code, _, err = check(capsys, "--program", str(tmp_path), "--stack", "dev")

    assert code == EXIT_INVALID
    assert err == (
        f"error: The Pulumi program failed at {tmp_path / '__main__.py'}:1: ValueError: "
        "expected one of [lambda, external]\n"
    )


def test_an_unwritable_diagram_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    diagram = tmp_path / "missing-folder" / "flow.md"
    code, out, err = check(capsys, "--stack", "dev", "--no-policies", "--diagram", str(diagram))
    assert code == EXIT_INVALID
    assert out == ""
    assert err.endswith(
        f"error: Cannot write the diagram to {diagram}: No such file or directory.\n"
    )


def test_an_invalid_policy_config_exits_2_with_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy_config = tmp_path / "policy-config.json"
    policy_config.write_text('{\n  "all": "mandatory",\n}\n')
    code, _, err = check(
        capsys,
        "--stack",
        "dev",
        "--policy-pack",
        str(REPOSITORY / "policies"),
        "--policy-config",
        str(policy_config),
    )
    assert code == EXIT_INVALID
    assert err.endswith(
        f"error: {policy_config}:3: the policy config file is not valid JSON: Expecting "
        "property name enclosed in double quotes (column 1).\n"
    )
    assert "Traceback" not in err


def test_a_binary_policy_config_exits_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy_config = tmp_path / "policy-config.json"
    policy_config.write_bytes(b"\xff\xfe\x00binary")
    code, _, err = check(
        capsys,
        "--stack",
        "dev",
        "--policy-pack",
        str(REPOSITORY / "policies"),
        "--policy-config",
        str(policy_config),
    )
    assert code == EXIT_INVALID
    assert err.endswith(
        f"error: {policy_config}: the policy config file cannot be read: it is not UTF-8 text.\n"
    )


def test_a_policy_config_that_is_a_folder_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = check(
        capsys,
        "--stack",
        "dev",
        "--policy-pack",
        str(REPOSITORY / "policies"),
        "--policy-config",
        str(tmp_path),
    )
    assert code == EXIT_INVALID
    assert err.endswith(
        f"error: The policy config file {tmp_path} is a folder; expected a JSON file of policy settings.\n"
    )


def test_a_binary_mock_values_file_exits_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mocks = tmp_path / "mocks.yaml"
    mocks.write_bytes(b"account_id: \xff\xfe")
    code, _, err = check(capsys, "--stack", "dev", "--no-policies", "--mock-values", str(mocks))
    assert code == EXIT_INVALID
    assert f"{mocks}: the mocks file is not UTF-8 text (invalid byte at offset 12)." in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("file", "what"),
    [("Pulumi.yaml", "project file"), ("stacks/Pulumi.dev.yaml", "stack settings file")],
)
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "name: caf\u00e9\n".encode("latin-1"),
            "is not UTF-8 text (invalid byte at offset 9); save it as UTF-8, as Pulumi reads it.",
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "is a binary file (it contains NUL bytes); expected YAML text.",
        ),
    ],
    ids=["latin-1", "binary"],
)
def test_a_project_or_stack_file_that_is_not_utf8_text_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    file: str,
    what: str,
    content: bytes,
    problem: str,
) -> None:
    project = tmp_path / "service"
    shutil.copytree(SERVICE, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / file).write_bytes(content)

    code, out, err = check(capsys, "--program", str(project), "--stack", "dev", "--no-policies")

    assert code == EXIT_INVALID
    assert out == ""
    assert err == f"error: {project / file}: the {what} {problem}\n"


def test_a_missing_project_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = check(capsys, "--program", str(tmp_path))
    assert code == EXIT_INVALID
    assert err == f"error: No Pulumi project in {tmp_path}: expected a Pulumi.yaml file there.\n"


# --- as a process ------------------------------------------------------------------------------


def run_process(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != TOPOLOGY_OVERRIDE_ENV}
    return subprocess.run(
        [sys.executable, "-m", "eventinfra", "check", *arguments],
        cwd=cwd,
        env={**environment, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_python_m_eventinfra_check_prints_json() -> None:
    result = run_process("--stack", "prod", "--format", "json", "--no-policies", cwd=REPOSITORY)

    assert result.returncode == EXIT_OK, result.stderr
    document = json.loads(result.stdout)
    assert (document["stack"], document["broker"]) == ("prod", "sns-sqs")
    urns = [r["urn"] for r in document["resources"]]
    assert urns[0] == "urn:pulumi:prod::eventinfra::pulumi:pulumi:Stack::eventinfra-prod"
    assert "Planned 69 resources" in result.stderr


def test_python_m_eventinfra_check_exits_2_without_a_traceback(tmp_path: Path) -> None:
    result = run_process("--program", str(SERVICE), "--stack", "prod", cwd=tmp_path)

    assert result.returncode == EXIT_INVALID
    assert result.stdout == ""
    assert "has no stack 'prod'" in result.stderr
    assert "the stacks that exist are 'dev'" in result.stderr
    assert "Traceback" not in result.stderr


# --- golden URNs -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_example_urns_match_the_golden_list(stack: str) -> None:
    # A changed URN is a replaced resource: renames must ship with an alias, and update this
    # list on purpose (UPDATE_GOLDEN=1 pytest tests/test_check_cli.py).
    synthesis = synthesize(REPOSITORY, stack)
    urns = sorted([synthesis.stack_urn, *(r.urn for r in synthesis.resources)])
    golden = GOLDEN / f"{stack}.urns.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text("".join(f"{urn}\n" for urn in urns))
    assert golden.read_text().splitlines() == urns


def test_violations_show_their_enforcement_level(capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    from eventinfra.check.cli import _print_violations

    violation = {
        "policy": "sqs-queue-has-dlq",
        "enforcementLevel": "mandatory",
        "severity": "high",
        "urn": "urn:pulumi:dev::shop::aws:sqs/queue:Queue::orders[1]",
        "message": "SQS queue 'orders' must have a dead-letter queue, because [...]",
    }
    _print_violations(Console(soft_wrap=True), [violation])
    assert capsys.readouterr().out.splitlines() == [
        "",
        "Policy violations:",
        "  [mandatory] sqs-queue-has-dlq  urn:pulumi:dev::shop::aws:sqs/queue:Queue::orders[1]",
        "    SQS queue 'orders' must have a dead-letter queue, because [...]",
        "1 violations, 1 mandatory.",
    ]
