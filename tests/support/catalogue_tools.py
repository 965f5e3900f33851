"""The upstream catalogue tools (npm, pinned in tools/asyncapi): the AsyncAPI parser and
JSON Schema, and the EventCatalog SDK. Missing tools fail the tests; they never skip."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema

from tests.support import REPOSITORY

TOOLS = REPOSITORY / "tools" / "asyncapi"
NODE_MODULES = TOOLS / "node_modules"
ASYNCAPI_SCHEMA = NODE_MODULES / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
INSTALL_HINT = "run tools/asyncapi/install.sh (npm ci of the pinned validators) first"


def _node() -> str:
    node = shutil.which("node")
    assert node is not None, (
        f"Node.js is not on PATH; the catalogue checks need it ({INSTALL_HINT})."
    )
    for package in ("@asyncapi/parser", "@asyncapi/specs", "@eventcatalog/sdk"):
        assert (NODE_MODULES / package / "package.json").is_file(), (
            f"{package} is not installed in {NODE_MODULES}: {INSTALL_HINT}."
        )
    return node


def run_node(script: str, argument: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_node(), str(TOOLS / script), str(argument)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def parse_asyncapi(path: Path) -> tuple[int, dict[str, Any]]:
    """The official parser's verdict on a document: exit code and its report."""
    result = run_node("validate-asyncapi.mjs", path)
    assert result.stdout, f"the AsyncAPI parser printed nothing; stderr:\n{result.stderr}"
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


@functools.cache
def _asyncapi_validator() -> Any:
    _node()
    schema = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Errors against the AsyncAPI 3.0.0 JSON Schema that @asyncapi/specs ships."""
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
        for error in _asyncapi_validator().iter_errors(document)
    ]


def read_eventcatalog(directory: Path) -> dict[str, Any]:
    """What EventCatalog's own SDK finds in a catalogue folder."""
    result = run_node("read-eventcatalog.mjs", directory)
    assert result.returncode == 0, f"the EventCatalog SDK failed:\n{result.stderr}"
    found: dict[str, Any] = json.loads(result.stdout)
    return found
