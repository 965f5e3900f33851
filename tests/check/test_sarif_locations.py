"""SARIF results point at the topology entry (or stack setting) that caused each violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventinfra.check.locations import SourceLocation, source_locations
from eventinfra.check.policy_runner import PolicyReport, Violation
from eventinfra.check.sarif import to_sarif
from eventinfra.check.synth import Synthesis, synthesize
from tests.support import REPOSITORY


@pytest.fixture(scope="module")
def k8s() -> Synthesis:
    return synthesize(REPOSITORY, "k8s")


def line_of(path: Path, text: str) -> int:
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line == text]
    assert len(lines) == 1, (text, lines)
    return lines[0]


TOPOLOGY = REPOSITORY / "topology.k8s.yaml"
STACK = REPOSITORY / "stacks" / "Pulumi.k8s.yaml"


def urn_of(graph: Synthesis, name: str) -> str:
    (resource,) = [r for r in graph.resources if r.name == name]
    return resource.urn


@pytest.mark.parametrize(
    ("resource", "entry"),
    [
        ("events-consumer-mailer-dead-letter-queue", "  mailer:"),
        ("events-consumer-mailer-workload-deployment", "  mailer:"),
        ("events-event-user-signup", "  user.signup:"),
        ("events-producer-accounts-api", "  accounts-api:"),
    ],
)
def test_a_resource_built_for_a_topology_entry_is_located_at_that_entry(
    k8s: Synthesis, resource: str, entry: str
) -> None:
    locations = source_locations(k8s.resources, REPOSITORY, "k8s")
    assert locations[urn_of(k8s, resource)] == SourceLocation(TOPOLOGY, line_of(TOPOLOGY, entry))


@pytest.mark.parametrize("resource", ["events-broker-cluster", "events-default-deny", ""])
def test_the_platform_own_resources_are_located_at_the_stack_settings(
    k8s: Synthesis, resource: str
) -> None:
    locations = source_locations(k8s.resources, REPOSITORY, "k8s")
    urn = urn_of(k8s, resource) if resource else ""
    assert locations[urn] == SourceLocation(STACK, line_of(STACK, "  eventinfra:settings:"))


def test_every_planned_resource_has_a_location(k8s: Synthesis) -> None:
    locations = source_locations(k8s.resources, REPOSITORY, "k8s")
    assert {r.urn for r in k8s.resources} <= set(locations)


def test_sarif_results_carry_the_file_and_line_relative_to_the_root(k8s: Synthesis) -> None:
    violation = Violation(
        policy_name="rabbitmq-queue-dead-letter",
        policy_pack="eventinfra",
        enforcement_level="mandatory",
        urn=urn_of(k8s, "events-consumer-mailer-dead-letter-queue"),
        message="Queue 'mailer.dead-letter' must …",
        description="…",
        severity=None,
    )
    report = PolicyReport("eventinfra", "1", (), (violation,), (), len(k8s.resources))
    locations = source_locations(k8s.resources, REPOSITORY, "k8s")
    (result,) = to_sarif(report, locations=locations, root=REPOSITORY)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "topology.k8s.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": line_of(TOPOLOGY, "  mailer:")},
    }


def test_a_file_outside_the_root_is_an_absolute_file_uri(k8s: Synthesis, tmp_path: Path) -> None:
    violation = Violation("p", "eventinfra", "advisory", None, "m", "d", None)
    report = PolicyReport("eventinfra", "1", (), (violation,), (), 0)
    locations = {"": SourceLocation(STACK, 5)}
    (result,) = to_sarif(report, locations=locations, root=tmp_path)["runs"][0]["results"]
    assert result["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": STACK.resolve().as_uri()},
                "region": {"startLine": 5},
            }
        }
    ]
