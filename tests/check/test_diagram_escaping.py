"""Nothing user-written can end a Mermaid label, the code fence or the diagram, or reach the
page as HTML: every character outside a small safe set becomes a Mermaid entity code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from eventinfra.check.cli import EXIT_OK
from eventinfra.check.diagram import Flowchart, mermaid_text, mermaid_title
from tests.check.test_cli import check, copy_project

HOSTILE = [
    "```\n</code><script>alert(1)</script>",
    '"]; click n1 href "javascript:alert(1)"',
    "pro|team",
    "#quot;#lt;",
    "a\r\nb\tc\x00",
    "`**bold**`",
    "<img src=x onerror=alert(1)>",
    "{{x}} [y] <z> & %% comment",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_an_escaped_label_has_only_safe_characters_and_entity_codes(value: str) -> None:
    escaped = mermaid_text(value)
    assert re.fullmatch(r"([A-Za-z0-9 .,:;_/=+@()*'!?%-]|#\d+;)*", escaped), escaped
    decoded = re.sub(r"#(\d+);", lambda m: chr(int(m[1])), escaped)
    assert decoded == value


def test_safe_text_is_shown_as_written() -> None:
    assert mermaid_text("filter plan: pro, team") == "filter plan: pro, team"
    assert mermaid_text("dev-welcome-email (Lambda)") == "dev-welcome-email (Lambda)"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_title_is_one_quoted_line_of_safe_characters(value: str) -> None:
    title = mermaid_title(value)
    loaded = yaml.safe_load(f"title: {title}")["title"]
    assert re.fullmatch(r"[A-Za-z0-9 .,:_/=+@()-]*", loaded)
    assert "\n" not in title


@pytest.mark.parametrize("value", HOSTILE)
def test_no_label_ends_the_code_fence(value: str) -> None:
    chart = Flowchart()
    node = chart.node("a", f'["{mermaid_text(value)}"]')
    chart.edge(node, chart.node("b", '["b"]'), label=value)
    lines = chart.render(value).splitlines()
    assert lines[0] == "```mermaid" and lines[-1] == "```"
    assert [line for line in lines[1:-1] if "`" in line or "<" in line or '"]' in line[:-1]] == []


def test_a_hostile_filter_value_is_escaped_in_the_diagram(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project(tmp_path)
    topology = project / "topology.yaml"
    hostile = "```\n<script>alert(1)</script>"
    text = topology.read_text().replace(
        "filter: {plan: [pro, team]}", f"filter: {{plan: [{yaml.safe_dump(hostile).strip()}]}}"
    )
    assert text != topology.read_text()
    topology.write_text(text)
    diagram = tmp_path / "flow.md"
    code, _, err = check(
        capsys,
        "--program",
        str(project),
        "--stack",
        "dev",
        "--no-policies",
        "--diagram",
        str(diagram),
    )
    assert code == EXIT_OK, err
    lines = diagram.read_text().splitlines()
    assert lines.count("```") == 1 and lines[-1] == "```"
    assert "<script>" not in diagram.read_text()
    assert "filter plan: #96;#96;#96;#10;#60;script#62;alert(1)#60;/script#62;" in (
        diagram.read_text()
    )
