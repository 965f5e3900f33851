"""What a topology's own words (event descriptions, filter values) become in the generated
documents: data in AsyncAPI and SARIF, plain text and sealed code blocks in EventCatalog pages."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventinfra.check.asyncapi import EXTENSION
from eventinfra.check.cli import EXIT_OK, main
from eventinfra.check.eventcatalog import GENERATED_END, GENERATED_START, write_eventcatalog
from eventinfra.check.policy_runner import PolicyInfo, PolicyReport, Violation
from eventinfra.check.sarif import to_sarif
from tests.check.test_cli import copy_project
from tests.support.catalogue_tools import parse_asyncapi, read_eventcatalog

# Each closes or opens something in one of the documents: MDX expressions and ES modules, HTML,
# a code fence (indented as YAML indents a folded string), the generated part's own markers,
# YAML and JSON quoting.
DESCRIPTION = (
    "Signed up {process.exit(1)} </script><script>alert(1)</script>\n"
    "export const leaked = 1\n"
    "  ```\n"
    f"{GENERATED_END}\n"
    "'quoted' \"double\" \\ back\\slash & &amp; #heading `code` *bold*"
)
FILTER_VALUE = "pro\n```\n<img src=x onerror=alert(1)>\n{/* */}"


@pytest.fixture(scope="module")
def hostile_docs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example project with a hostile description and filter value, documented once."""
    root = tmp_path_factory.mktemp("hostile-docs")
    project = copy_project(root)
    topology = project / "topology.yaml"
    text = topology.read_text()
    hostile = text.replace(
        "description: A user finished signing up.",
        f"description: {json.dumps(DESCRIPTION)}",
    ).replace("filter: {plan: [pro, team]}", f"filter: {{plan: [{json.dumps(FILTER_VALUE)}]}}")
    assert hostile.count(json.dumps(DESCRIPTION)) == 1
    assert hostile.count(json.dumps(FILTER_VALUE)) == 1
    topology.write_text(hostile)
    asyncapi, catalogue = root / "asyncapi.yaml", root / "eventcatalog"
    code = main(
        [
            "docs",
            "--program",
            str(project),
            "--stack",
            "dev",
            "--asyncapi",
            str(asyncapi),
            "--eventcatalog",
            str(catalogue),
        ]
    )
    assert code == EXIT_OK
    return asyncapi, catalogue


def generated_part(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    assert text.count(GENERATED_START) == 1 and text.count(GENERATED_END) == 1, text
    return text.split(GENERATED_START, 1)[1].split(GENERATED_END, 1)[0]


def code_blocks(body: str) -> tuple[list[str], list[str]]:
    """(the lines outside code blocks, each block's content), as CommonMark fences them: a
    block closes only at a fence of the same character at least as long, indented <= 3."""
    prose: list[str] = []
    blocks: list[str] = []
    fence: str | None = None
    content: list[str] = []
    for line in body.splitlines():
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        run = re.match(r"`{3,}", stripped)
        if fence is None:
            if run and indent <= 3:
                fence, content = run[0], []
            else:
                prose.append(line)
        elif run and indent <= 3 and len(run[0]) >= len(fence) and not stripped[len(run[0]) :]:
            blocks.append("\n".join(content))
            fence = None
        else:
            content.append(line)
    assert fence is None, f"a code block is never closed:\n{body}"
    return prose, blocks


def test_an_event_description_is_plain_text_on_its_channel_page(
    hostile_docs: tuple[Path, Path],
) -> None:
    page = hostile_docs[1] / "channels" / "sns.user.signup" / "index.mdx"
    prose, _ = code_blocks(generated_part(page))
    text = "\n".join(prose)
    # Nothing MDX would run or render as markup, and no ES module line.
    assert re.findall(r"[{}<>`\\]", text.replace("<NodeGraph />", "")) == []
    assert [line for line in prose if line.lstrip().startswith(("import", "export"))] == []
    # What the page shows, once MDX decodes the character references, is the description.
    assert html.unescape(text).strip().startswith(DESCRIPTION + "\n\nCarries: user.signup.")


def filter_policies(value: Any) -> list[Any]:
    if isinstance(value, dict):
        found = [value["filterPolicy"]] if "filterPolicy" in value else []
        return found + [f for inner in value.values() for f in filter_policies(inner)]
    if isinstance(value, list):
        return [f for inner in value for f in filter_policies(inner)]
    return []


def test_a_planned_value_stays_inside_its_bindings_code_block(tmp_path: Path) -> None:
    # `eventinfra docs` plans any program: a binding may hold whatever a resource was given,
    # and YAML indents a multi-line string by two spaces, within a fence's reach.
    binding = {"sqs": {"queues": [{"name": "q"}]}, "x-note": FILTER_VALUE, "x-run": "\n````"}
    document = {
        "servers": {"sqs": {"protocol": "sqs"}},
        "channels": {
            "queue.q": {
                "address": "q",
                "servers": [{"$ref": "#/servers/sqs"}],
                "messages": {"e": {"$ref": "#/components/messages/e"}},
                "bindings": binding,
            }
        },
        "operations": {
            "svc.receives.e": {
                "action": "receive",
                "channel": {"$ref": "#/channels/queue.q"},
                "messages": [{"$ref": "#/channels/queue.q/messages/e"}],
                f"{EXTENSION}-service": "svc",
                "bindings": binding,
            }
        },
        "components": {"messages": {"e": {f"{EXTENSION}-version": "1.0.0"}}},
    }
    write_eventcatalog(tmp_path, document, {}, {})
    for page in (
        tmp_path / "channels" / "sqs.queue.q" / "index.mdx",
        tmp_path / "services" / "svc" / "index.mdx",
    ):
        prose, blocks = code_blocks(generated_part(page))
        assert "<img" not in "\n".join(prose) and "{/*" not in "\n".join(prose)
        assert [yaml.safe_load(block) for block in blocks] == [binding]


def test_the_eventcatalog_sdk_reads_the_hostile_pages_back(
    hostile_docs: tuple[Path, Path],
) -> None:
    found = read_eventcatalog(hostile_docs[1])
    events = {event["id"]: event for event in found["events"]}
    # The summary is front matter (YAML): the description as written.
    assert events["user.signup"]["summary"] == DESCRIPTION
    services = {service["id"]: service for service in found["services"]}
    assert "welcome-email" in services


def test_the_asyncapi_document_carries_the_values_as_data(
    hostile_docs: tuple[Path, Path],
) -> None:
    path = hostile_docs[0]
    code, report = parse_asyncapi(path)
    assert code == 0, report
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert document["components"]["messages"]["user.signup"]["summary"] == DESCRIPTION
    channel = document["channels"]["user.signup"]
    assert channel["description"] == DESCRIPTION
    publish = document["operations"]["accounts-api.sends.user.signup"]["bindings"]["sns"]
    filters = [c["filterPolicy"] for c in publish["consumers"] if "filterPolicy" in c]
    assert filters == [{"plan": [FILTER_VALUE]}]


def test_a_sarif_message_is_text_carried_literally() -> None:
    message = 'Queue "x"} must … </script>```\n${aws:username} * ?'
    policy = PolicyInfo("sqs-queue-has-dlq", "Queues have a DLQ.", "resource", "mandatory", None)
    violation = Violation(
        "sqs-queue-has-dlq",
        "eventinfra",
        "mandatory",
        'urn:pulumi:dev::p::aws:sqs/queue:Queue::a"b',
        message,
        "Queues have a DLQ.",
        None,
    )
    report = PolicyReport("eventinfra", "1.0.0", (policy,), (violation,), (), 1)
    log = json.loads(json.dumps(to_sarif(report)))
    (result,) = log["runs"][0]["results"]
    # `text` is shown as plain text by SARIF viewers; no `markdown` is ever given.
    assert result["message"] == {"text": message}
    assert result["locations"][0]["logicalLocations"][0]["name"] == 'a"b'
