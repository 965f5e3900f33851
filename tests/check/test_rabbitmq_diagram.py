"""The rabbitmq backend's event flow, drawn from the recorded Kubernetes objects only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eventinfra.check.rabbitmq_diagram import anchored_names, is_rabbitmq_stack, rabbitmq_event_flow
from eventinfra.check.synth import synthesize
from tests.support import REPOSITORY


def edges(chart: str) -> set[str]:
    """Edges as `source --> target` with node texts instead of ids."""
    texts = dict(re.findall(r"^  (n[0-9a-f]{8})([^ ].*)$", chart, re.MULTILINE))
    found = set()
    for line in chart.splitlines():
        match = re.fullmatch(r"  (n[0-9a-f]{8}) (-->|-\.->)(\|\"[^\"]*\"\|)? (n[0-9a-f]{8})", line)
        if match:
            source, arrow, label, target = match.groups()
            found.add(f"{texts[source]} {arrow}{label or ''} {texts[target]}")
    return found


@pytest.mark.parametrize(
    ("regex", "names"),
    [("^$", []), (r"^user\.signup$", ["user.signup"]), (r"^(a\.b|c)$", ["a.b", "c"])],
)
def test_anchored_names(regex: str, names: list[str]) -> None:
    assert anchored_names(regex) == names


def test_the_k8s_stack_draws_producers_events_queues_consumers_and_failure_paths() -> None:
    graph = synthesize(REPOSITORY, "k8s")
    assert is_rabbitmq_stack(graph.resources)
    chart = rabbitmq_event_flow(graph.resources, "eventinfra / k8s: event flow")
    assert chart.startswith('```mermaid\n---\ntitle: "eventinfra / k8s: event flow"\n')
    assert edges(chart) == {
        '["accounts-api"]:::producer -->|"publishes"| (["user.signup"]):::topic',
        '["checkout-api"]:::producer -->|"publishes"| (["order.placed"]):::topic',
        '["billing"]:::producer -->|"publishes"| (["invoice.paid"]):::topic',
        '(["user.signup"]):::topic --> [["mailer"]]:::queue',
        '(["user.signup"]):::topic --> [["analytics"]]:::queue',
        '(["order.placed"]):::topic --> [["analytics"]]:::queue',
        '(["order.placed"]):::topic --> [["fulfilment"]]:::queue',
        '(["user.signup"]):::topic -.->|"unroutable"| [("user.signup.parking")]:::parking',
        '(["order.placed"]):::topic -.->|"unroutable"| [("order.placed.parking")]:::parking',
        '(["invoice.paid"]):::topic -.->|"unroutable"| [("invoice.paid.parking")]:::parking',
        '[["mailer"]]:::queue --> ("mailer (container)"):::consumer',
        '[["analytics"]]:::queue --> ("analytics (external)"):::consumer',
        '[["fulfilment"]]:::queue --> ("fulfilment (external)"):::consumer',
        '[["mailer"]]:::queue -.->|"delivery-limit 5"| [("mailer.dead-letter")]:::deadletter',
        '[["analytics"]]:::queue -.->|"delivery-limit 5"| [("analytics.dead-letter")]:::deadletter',
        '[["fulfilment"]]:::queue -.->|"delivery-limit 8"| '
        '[("fulfilment.dead-letter")]:::deadletter',
    }


def test_an_aws_stack_is_not_a_rabbitmq_stack() -> None:
    assert not is_rabbitmq_stack(synthesize(REPOSITORY, "dev").resources)


def test_check_draws_the_rabbitmq_flow_for_a_rabbitmq_stack(tmp_path: Path) -> None:
    from eventinfra.check.cli import main

    diagram = tmp_path / "flow.md"
    assert main(["check", "--stack", "k8s", "--no-policies", "--diagram", str(diagram)]) == 0
    text = diagram.read_text()
    assert '(["user.signup"]):::topic' in text
    assert '[("mailer.dead-letter")]:::deadletter' in text
    assert '-.->|"unroutable"|' in text
