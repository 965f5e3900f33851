"""`python -m eventinfra.provider.schema`: the package schema, as the provider host infers it."""

import json
import sys
from pathlib import Path
from typing import Any

from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema

from eventinfra.provider.components import PACKAGE_NAME, hosted_components

SCHEMA_VERSION = "0.0.0"
"""What `component_provider_host` reports when it is given no version (pulumi 3.272)."""


def package_schema() -> dict[str, Any]:
    """The schema `component_provider_host` serves: the same analyzer and generator, offline.

    Mirrors `pulumi.provider.experimental.component.ComponentProvider.__init__` (3.272).
    """
    result = Analyzer(PACKAGE_NAME).analyze(hosted_components())
    dependencies = sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}")
    spec = generate_schema(
        PACKAGE_NAME,
        SCHEMA_VERSION,
        None,
        result["component_definitions"],
        result["type_definitions"],
        dependencies,
    )
    schema: dict[str, Any] = spec.to_json()
    return schema


def schema_text() -> str:
    return json.dumps(package_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """Write the schema to the path given (default: provider/schema.json below the current
    folder, the checkout's root)."""
    target = Path(argv[0] if argv else "provider/schema.json")
    target.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
