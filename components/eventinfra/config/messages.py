"""pydantic's validation errors as sentences: where, what was expected, what was found."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any, Union

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from eventinfra.config.yaml_reader import YamlDocument
from eventinfra.errors import Problem
from eventinfra.keypaths import KeyPath, format_key_path


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional and Annotated removed)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _field_at(model: type[BaseModel], loc: KeyPath) -> tuple[Any, FieldInfo | None]:
    """Walk a model along an error location; return the type found there and its field."""
    current: Any = model
    field: FieldInfo | None = None
    for segment in loc:
        for candidate in _unwrap(current):
            origin = typing.get_origin(candidate)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                match = next(
                    (f for name, f in candidate.model_fields.items() if segment in (f.alias, name)),
                    None,
                )
                if match is not None:
                    current, field = match.annotation, match
                    break
            elif origin is dict and not isinstance(segment, int):
                current, field = typing.get_args(candidate)[1], None
                break
            elif origin is list and isinstance(segment, int):
                current, field = typing.get_args(candidate)[0], None
                break
        else:
            return None, None
    return current, field


def _allowed_keys(model: type[BaseModel], loc: KeyPath) -> list[str]:
    current, _ = _field_at(model, loc)
    for candidate in _unwrap(current):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return [f.alias or name for name, f in candidate.model_fields.items()]
    return []


NAME_RULES = {
    "events": "an event name of letters, digits, '.', '_' and '-' (like 'user.signup')",
    "producers": "a name of lowercase letters, digits and '-' (a DNS label, at most 63 "
    "characters, like 'accounts-api')",
    "consumers": "a name of lowercase letters, digits and '-' (a DNS label, at most 63 "
    "characters, like 'welcome-email')",
}


def sentence(error: Any, model: type[BaseModel]) -> tuple[KeyPath, str]:
    """One pydantic error as (key path, 'expected …, found …')."""
    loc: KeyPath = tuple(error["loc"])
    kind = error["type"]
    found = error.get("input")
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        expected = NAME_RULES.get(str(loc[0]), "a valid name") if loc else "a valid name"
        return loc, f"is not a valid name; expected {expected}, found {loc[-1]!r}."
    if kind == "missing":
        return loc, "is missing; this key is required."
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return loc, f"is not a known key; expected one of: {', '.join(allowed)}."
    if kind == "model_type":
        keys = ", ".join(_allowed_keys(model, loc))
        found_text = "nothing" if found is None else repr(found)
        return loc, f"expected a mapping of the keys {keys}, found {found_text}."
    if kind == "string_pattern_mismatch":
        _, field = _field_at(model, loc)
        rule = field.description if field and field.description else "the documented format"
        return loc, f"expected {rule.rstrip('.')}, found {found!r}."
    message = str(error["msg"])
    for prefix in ("Input should be ", "Value error, "):
        message = message.removeprefix(prefix)
    replacements = {
        "a valid integer": "an integer",
        "a valid boolean": "true or false",
        "a valid dictionary": "a mapping of keys",
        "a valid list": "a list",
        "a valid string": "a string",
    }
    for old, new in replacements.items():
        if message.startswith(old):
            message = new + message[len(old) :]
            break
    if message.startswith("List should have at least"):
        message = "at least one item"
    if message.startswith("Dictionary should have at least"):
        message = "at least one entry"
    if not message.startswith("expected"):
        message = f"expected {message[0].lower()}{message[1:]}"
    return loc, f"{message}, found {found!r}."


def validate_model(
    model: type[BaseModel],
    data: Any,
    doc: YamlDocument | None,
    base: KeyPath,
    *,
    rename: Callable[[KeyPath], KeyPath] | None = None,
) -> tuple[Any, list[Problem]]:
    """Validate `data`; `rename` maps a key path of the model to the caller's names for it."""
    try:
        return model.model_validate(data), []
    except ValidationError as errors:
        problems = []
        for error in errors.errors():
            loc, message = sentence(error, model)
            full = (*base, *loc)
            problems.append(
                Problem(
                    doc.path if doc else None,
                    format_key_path(rename(full) if rename else full),
                    message,
                    doc.line_of(full) if doc else None,
                )
            )
        return None, problems
