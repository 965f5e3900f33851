"""The policy runner starts a real pack the CLI's way and speaks the Analyzer gRPC protocol to it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from eventinfra.check.policy_runner import (
    ENGINE_ADDRESS_NOBODY_ANSWERS,
    PolicyConfigError,
    PolicyInfo,
    PolicyPackError,
    PolicyReport,
    Violation,
    evaluate_policies,
)
from eventinfra.check.sarif import SARIF_VERSION, to_sarif
from eventinfra.graph import RecordedResource

STACK = "dev"
PROJECT = "shop"
PREFIX = f"urn:pulumi:{STACK}::{PROJECT}::"
QUEUE = "aws:sqs/queue:Queue"
CONSUMER = "eventinfra:index:QueueConsumer"

PACK_MAIN = """
import json
import os
import sys

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

# Evidence of how the runner launched us, read back by the tests.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "launches.jsonl"), "a") as log:
    log.write(json.dumps({
        "cmdline": open("/proc/self/cmdline").read().split("\\0")[:-1],
        "pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(),
        "stack": pulumi.get_stack(), "project": pulumi.get_project(),
    }) + "\\n")

QUEUE = "aws:sqs/queue:Queue"


def queue_min_receives(args, report_violation):
    if args.resource_type == "test:index:Explode":
        raise RuntimeError("this policy has a bug")
    if args.resource_type != QUEUE:
        return
    minimum = args.get_config()["minReceiveCount"]
    found = args.props.get("maxReceiveCount", 0)
    if found < minimum:
        report_violation(
            f"Queue '{args.name}' must allow at least {minimum:g} receives, but allows {found:g}."
        )


def graph_printer(args, report_violation):
    for resource in args.resources:
        if resource.resource_type != QUEUE:
            continue
        parent = resource.parent.name if resource.parent else None
        dependencies = sorted(d.name for d in resource.dependencies)
        property_dependencies = {
            key: sorted(d.name for d in deps)
            for key, deps in sorted(resource.property_dependencies.items())
        }
        report_violation(
            f"{resource.name}: parent={parent} dependencies={dependencies} "
            f"propertyDependencies={property_dependencies} arn={resource.props.get('arn')}",
            resource.urn,
        )


PolicyPack(
    name="throwaway",
    enforcement_level=EnforcementLevel.ADVISORY,
    initial_config={"graph-printer": EnforcementLevel.MANDATORY},
    policies=[
        ResourceValidationPolicy(
            name="queue-min-receives",
            description="Queues retry a message enough times.",
            validate=queue_min_receives,
            severity=Severity.HIGH,
            url="https://example.com/queue-min-receives",
            remediation_steps="Raise maxReceiveCount.",
            config_schema=PolicyConfigSchema(
                properties={"minReceiveCount": {"type": "integer", "minimum": 1, "default": 5}},
            ),
        ),
        StackValidationPolicy(
            name="graph-printer",
            description="Prints the graph it sees.",
            validate=graph_printer,
        ),
    ],
)
"""


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("throwaway-pack")
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 1.2.3\n")
    (directory / "__main__.py").write_text(PACK_MAIN)
    return directory


def _pack_processes() -> list[int]:
    """Children of this test process that run `-m pulumi.policy`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent_pid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent_pid == os.getpid() and b"pulumi.policy" in cmdline:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(autouse=True)
def no_pack_left_running() -> Iterator[None]:
    yield
    assert _pack_processes() == [], "a policy pack process outlived evaluate_policies"


def _resource(name: str, **changes: Any) -> RecordedResource:
    """A queue inside the `orders` consumer component, retrying 10 times."""
    queue = RecordedResource(
        urn=f"{PREFIX}{CONSUMER}${QUEUE}::{name}",
        type=QUEUE,
        name=name,
        custom=True,
        parent=f"{PREFIX}{CONSUMER}::orders",
        inputs={"name": name, "maxReceiveCount": 10},
        outputs={"name": name, "maxReceiveCount": 10, "arn": f"arn:aws:sqs:eu-west-1:1:{name}"},
    )
    return replace(queue, **changes)


def _graph() -> list[RecordedResource]:
    component = RecordedResource(
        urn=f"{PREFIX}{CONSUMER}::orders", type=CONSUMER, name="orders", custom=False
    )
    dead_letter_queue = _resource(
        "orders-dlq",
        inputs={"name": "orders-dlq", "maxReceiveCount": 3},
        outputs={"name": "orders-dlq", "maxReceiveCount": 3, "arn": "arn:dlq"},
    )
    queue = _resource(
        "orders-queue",
        dependencies=(dead_letter_queue.urn,),
        property_dependencies={"redrivePolicy": (dead_letter_queue.urn,), "tags": ()},
    )
    return [component, dead_letter_queue, queue]


def _evaluate(pack: Path, config: dict[str, Any] | None = None) -> PolicyReport:
    return evaluate_policies(_graph(), pack, policy_config=config, stack=STACK, project=PROJECT)


def _of(report: PolicyReport, policy: str) -> list[Violation]:
    return [v for v in report.violations if v.policy_name == policy]


@pytest.fixture(scope="module")
def report(pack_dir: Path) -> PolicyReport:
    """`all: mandatory`, then the stack policy turned back to advisory."""
    return _evaluate(pack_dir, {"all": "mandatory", "graph-printer": "advisory"})


def test_pack_runs_as_the_cli_starts_it(pack_dir: Path) -> None:
    # This test's own launch, checked at once: in random order other tests' launches may come
    # first in the log, and minutes later the kernel may have given their PIDs to new processes.
    launches = pack_dir / "launches.jsonl"
    earlier = len(launches.read_text().splitlines()) if launches.exists() else 0

    report = _evaluate(pack_dir)

    (launch,) = (json.loads(line) for line in launches.read_text().splitlines()[earlier:])
    assert not Path(f"/proc/{launch['pid']}").exists()
    assert launch["cmdline"] == [
        sys.executable,
        "-u",
        "-m",
        "pulumi.policy",
        ENGINE_ADDRESS_NOBODY_ANSWERS,
        ".",
    ]
    assert Path(launch["cwd"]) == pack_dir
    assert launch["ppid"] == os.getpid() != launch["pid"]
    assert (launch["stack"], launch["project"]) == (STACK, PROJECT)
    assert (report.pack_name, report.pack_version) == ("throwaway", "1.2.3")


def test_violating_resource_gives_exactly_one_violation(report: PolicyReport) -> None:
    # minReceiveCount comes from the config schema's default: no config sets it.
    assert _of(report, "queue-min-receives") == [
        Violation(
            policy_name="queue-min-receives",
            policy_pack="throwaway",
            enforcement_level="mandatory",
            urn=f"{PREFIX}{CONSUMER}${QUEUE}::orders-dlq",
            message="Queue 'orders-dlq' must allow at least 5 receives, but allows 3.",
            description="Queues retry a message enough times.",
            severity="high",
        )
    ]


def test_stack_policy_sees_parents_dependencies_and_outputs(report: PolicyReport) -> None:
    assert [(v.urn, v.message, v.enforcement_level) for v in _of(report, "graph-printer")] == [
        (
            f"{PREFIX}{CONSUMER}${QUEUE}::orders-dlq",
            "orders-dlq: parent=orders dependencies=[] propertyDependencies={} arn=arn:dlq",
            "advisory",
        ),
        (
            f"{PREFIX}{CONSUMER}${QUEUE}::orders-queue",
            "orders-queue: parent=orders dependencies=['orders-dlq'] "
            "propertyDependencies={'redrivePolicy': ['orders-dlq']} "
            "arn=arn:aws:sqs:eu-west-1:1:orders-queue",
            "advisory",
        ),
    ]


def test_report_describes_policies_with_resolved_levels(report: PolicyReport) -> None:
    (queue_policy,) = (p for p in report.policies if p.name == "queue-min-receives")
    assert [(p.name, p.policy_type, p.enforcement_level) for p in report.policies] == [
        ("graph-printer", "stack", "advisory"),
        ("queue-min-receives", "resource", "mandatory"),
    ]
    assert queue_policy.config == {"minReceiveCount": 5}
    assert queue_policy.config_schema["properties"]["minReceiveCount"]["default"] == 5
    assert (queue_policy.severity, queue_policy.url, queue_policy.remediation_steps) == (
        "high",
        "https://example.com/queue-min-receives",
        "Raise maxReceiveCount.",
    )
    assert report.has_mandatory
    assert report.resources_analyzed == 3


def test_policy_object_overrides_level_and_property(pack_dir: Path) -> None:
    report = _evaluate(
        pack_dir, {"queue-min-receives": {"enforcementLevel": "advisory", "minReceiveCount": 12}}
    )

    assert [(v.urn, v.enforcement_level, v.message) for v in _of(report, "queue-min-receives")] == [
        (
            f"{PREFIX}{CONSUMER}${QUEUE}::orders-dlq",
            "advisory",
            "Queue 'orders-dlq' must allow at least 12 receives, but allows 3.",
        ),
        (
            f"{PREFIX}{CONSUMER}${QUEUE}::orders-queue",
            "advisory",
            "Queue 'orders-queue' must allow at least 12 receives, but allows 10.",
        ),
    ]
    # Untouched by the file, the pack's initial_config still makes the stack policy mandatory.
    assert {v.enforcement_level for v in _of(report, "graph-printer")} == {"mandatory"}


def test_clean_resources_give_no_violation(pack_dir: Path) -> None:
    clean = [_resource("orders-queue")]

    report = evaluate_policies(
        clean, pack_dir, policy_config={"graph-printer": "disabled"}, stack=STACK, project=PROJECT
    )

    assert report.violations == ()
    assert not report.has_mandatory


def test_bad_policy_config_names_policy_key_expected_and_found(pack_dir: Path) -> None:
    with pytest.raises(PolicyConfigError) as raised:
        _evaluate(pack_dir, {"queue-min-receives": {"minReceiveCount": "five"}, "typo": "advisory"})

    assert raised.value.problems == (
        "The policy config key 'queue-min-receives.minReceiveCount' must be of type integer, "
        "but found 'five' (str).",
        "The policy config names policy 'typo', but the pack has no such policy; expected 'all' "
        "or one of 'graph-printer', 'queue-min-receives'.",
    )
    assert str(raised.value) == "\n".join(
        ["2 problems in the policy config:", *(f"  - {p}" for p in raised.value.problems)]
    )
    assert isinstance(raised.value, ValueError)


def test_one_bad_policy_config_entry_reads_like_every_problem_list(pack_dir: Path) -> None:
    with pytest.raises(PolicyConfigError) as raised:
        _evaluate(pack_dir, {"typo": "advisory"})

    assert str(raised.value) == (
        "1 problem in the policy config:\n"
        "  - The policy config names policy 'typo', but the pack has no such policy; expected "
        "'all' or one of 'graph-printer', 'queue-min-receives'."
    )


def test_problems_in_a_policy_config_file_name_its_lines_in_order(
    pack_dir: Path, tmp_path: Path
) -> None:
    config_file = tmp_path / "prod.json"
    # Tab-indented, as some editors write JSON; the file's keys on lines 3, 5 and 6.
    config_file.write_text(
        '{\n\t"graph-printer": "advisory",\n\t"typo": "advisory",\n\t"queue-min-receives": {\n'
        '\t\t"enforcementLevel": "loud",\n\t\t"minReceiveCount": "five"\n\t}\n}\n'
    )
    config = json.loads(config_file.read_text())

    with pytest.raises(PolicyConfigError) as raised:
        evaluate_policies(
            _graph(),
            pack_dir,
            policy_config=config,
            policy_config_file=config_file,
            stack=STACK,
            project=PROJECT,
        )

    assert [problem.split(": ", 1)[0] for problem in raised.value.problems] == [
        f"{config_file}:3",
        f"{config_file}:5",
        f"{config_file}:6",
    ]
    assert "names policy 'typo'" in raised.value.problems[0]
    assert "'queue-min-receives.enforcementLevel' must be one of" in raised.value.problems[1]
    assert (
        "'queue-min-receives.minReceiveCount' must be of type integer" in (raised.value.problems[2])
    )


def test_policy_that_crashes_fails_the_evaluation(pack_dir: Path) -> None:
    explode = RecordedResource(
        urn=f"{PREFIX}test:index:Explode::x", type="test:index:Explode", name="x", custom=True
    )

    with pytest.raises(PolicyPackError, match="this policy has a bug"):
        evaluate_policies([explode], pack_dir, stack=STACK, project=PROJECT)


def test_pack_that_cannot_start_raises_with_its_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text("import not_a_module_anywhere\n")

    with pytest.raises(PolicyPackError) as raised:
        evaluate_policies(_graph(), tmp_path, stack=STACK, project=PROJECT)

    message = str(raised.value)
    assert "exited before it started its analyzer server" in message
    assert "ModuleNotFoundError: No module named 'not_a_module_anywhere'" in message
    assert "Traceback" not in message and 'File "' not in message
    assert raised.value.__suppress_context__ or raised.value.__cause__ is None


def test_folder_without_pack_is_rejected_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(PolicyPackError, match=r"has no PulumiPolicy\.yaml"):
        evaluate_policies(_graph(), tmp_path, stack=STACK, project=PROJECT)


def test_a_pack_file_that_is_not_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    project_file = tmp_path / "PulumiPolicy.yaml"
    project_file.write_text("runtime: python\nversion: [1\n")

    with pytest.raises(PolicyPackError) as raised:
        evaluate_policies(_graph(), tmp_path, stack=STACK, project=PROJECT)

    assert str(raised.value) == (
        f"{project_file}:3: the policy pack file is not valid YAML: "
        "expected ',' or ']', but got '<stream end>'."
    )


def test_missing_interpreter_is_named(pack_dir: Path, tmp_path: Path) -> None:
    python = str(tmp_path / "no-such-python")

    with pytest.raises(PolicyPackError) as raised:
        evaluate_policies(_graph(), pack_dir, stack=STACK, project=PROJECT, python=python)

    assert str(raised.value) == (
        f"Cannot run the Python interpreter {python!r} for the policy pack: "
        "No such file or directory."
    )


def test_sarif_has_rules_results_levels_and_logical_locations(report: PolicyReport) -> None:
    sarif = to_sarif(report, artifact_uri="topology.yaml")

    assert sarif["version"] == SARIF_VERSION
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "eventinfra"
    assert [(r["id"], r["defaultConfiguration"]["level"]) for r in rules] == [
        ("graph-printer", "warning"),
        ("queue-min-receives", "error"),
    ]
    assert rules[1]["helpUri"] == "https://example.com/queue-min-receives"
    assert rules[1]["help"] == {"text": "Raise maxReceiveCount."}
    mandatory = [r for r in run["results"] if r["ruleId"] == "queue-min-receives"]
    assert mandatory == [
        {
            "ruleId": "queue-min-receives",
            "ruleIndex": 1,
            "level": "error",
            "message": {"text": "Queue 'orders-dlq' must allow at least 5 receives, but allows 3."},
            "locations": [
                {
                    "logicalLocations": [
                        {
                            "name": "orders-dlq",
                            "fullyQualifiedName": f"{PREFIX}{CONSUMER}${QUEUE}::orders-dlq",
                            "kind": "resource",
                        }
                    ],
                    "physicalLocation": {"artifactLocation": {"uri": "topology.yaml"}},
                }
            ],
            "partialFingerprints": mandatory[0]["partialFingerprints"],
            "properties": {
                "enforcementLevel": "mandatory",
                "policyPack": "throwaway",
                "severity": "high",
            },
        }
    ]
    assert {r["level"] for r in run["results"] if r["ruleId"] == "graph-printer"} == {"warning"}
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    json.dumps(sarif)  # a SARIF log is plain JSON


def test_sarif_keeps_a_malformed_policy_url_out_of_help_uri() -> None:
    policy = PolicyInfo(
        name="sqs-queue-has-dlq",
        description="Queues have a DLQ.",
        policy_type="stack",
        enforcement_level="mandatory",
        severity="high",
        url="https://example.com/RULES.md (AwsSolutions-SQS3)",
    )
    report = PolicyReport("pack", "1.0.0", (policy,), (), (), resources_analyzed=0)

    rule = to_sarif(report)["runs"][0]["tool"]["driver"]["rules"][0]

    assert "helpUri" not in rule
    assert rule["properties"]["url"] == "https://example.com/RULES.md (AwsSolutions-SQS3)"
