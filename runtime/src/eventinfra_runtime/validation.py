"""JSON Schema validation of payloads, naming the first wrong field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from eventinfra_runtime.errors import InvalidEventError

__all__ = ["validate"]


@cache
def _validator(schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate(event_type: str, schema: Mapping[str, Any], payload: Any) -> None:
    """Raise `InvalidEventError` naming the field (JSON path, `$` for the whole payload)."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    error = best_match(validator.iter_errors(payload))
    if error is None:
        return
    path = error.absolute_path
    if error.validator == "required":
        # The missing property is the field the user has to fix, not its parent object.
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path = type(path)([*path, missing]) if missing else path
    field = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    raise InvalidEventError(event_type, field, error.message)
