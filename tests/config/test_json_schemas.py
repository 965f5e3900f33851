"""The published JSON Schemas match the models, and the example files validate against them."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from eventinfra.config.json_schemas import SCHEMA_DIR, config_schemas, render
from tests.support import REPOSITORY


@pytest.mark.parametrize("file_name", ["topology.schema.json", "stack-settings.schema.json"])
def test_published_schema_is_current(file_name: str) -> None:
    published = (SCHEMA_DIR / file_name).read_text(encoding="utf-8")
    assert published == render(config_schemas()[file_name]), "run `make schemas`"


@pytest.mark.parametrize(
    ("document", "schema"),
    [
        ("topology.yaml", "topology.schema.json"),
        ("stacks/Pulumi.dev.yaml", "stack-settings.schema.json"),
        ("stacks/Pulumi.prod.yaml", "stack-settings.schema.json"),
    ],
)
def test_example_files_validate(document: str, schema: str) -> None:
    validator = jsonschema.Draft202012Validator(json.loads((SCHEMA_DIR / schema).read_text()))
    data = yaml.safe_load((REPOSITORY / document).read_text())
    assert [error.message for error in validator.iter_errors(data)] == []


def test_schema_rejects_what_the_models_reject() -> None:
    validator = jsonschema.Draft202012Validator(config_schemas()["topology.schema.json"])
    bad = {
        "events": {"user.signup": {}},
        "consumers": {
            "mailer": {
                "subscribes": ["user.signup"],
                "runtime": "lambda",
                "lambda": {"code": "f", "handler": "app.handler", "timeout_seconds": 901},
            }
        },
    }
    error = jsonschema.exceptions.best_match(validator.iter_errors(bad))
    assert error is not None
    assert error.message == "901 is greater than the maximum of 900"
    assert list(error.absolute_path) == ["consumers", "mailer", "lambda", "timeout_seconds"]
