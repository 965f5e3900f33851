"""JSON Schemas of the topology and stack files, generated from the models, for editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eventinfra.config.loader import SETTINGS_KEY
from eventinfra.config.models import Settings, Topology

SCHEMA_DIR = Path(__file__).parent / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema: the topology file, and a stack file holding the settings."""
    topology = {"$schema": DIALECT, **Topology.model_json_schema(by_alias=True)}
    settings = Settings.model_json_schema(by_alias=True)
    definitions = settings.pop("$defs", {})
    stack_file = {
        "$schema": DIALECT,
        "title": "Pulumi stack file with eventinfra settings",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": {SETTINGS_KEY: settings},
                "required": [SETTINGS_KEY],
            },
        },
        "required": ["config"],
        "$defs": definitions,
    }
    return {"topology.schema.json": topology, "stack-settings.schema.json": stack_file}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, schema in config_schemas().items():
        path = directory / file_name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas():
        print(f"wrote {path}")
