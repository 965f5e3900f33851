"""What every component checks of its Args before it builds anything, and how it says so."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

from eventinfra.errors import ConfigError, Problem
from eventinfra.keypaths import KeyPath, format_key_path

ArgsT = TypeVar("ArgsT")


class Finding(NamedTuple):
    """One broken rule: the key path relative to what was validated, and the sentence."""

    key_path: KeyPath
    message: str


def under(key: KeyPath, findings: Iterable[Finding]) -> list[Finding]:
    """The findings of a nested value, re-rooted at `key`."""
    return [Finding((*key, *finding.key_path), finding.message) for finding in findings]


@functools.cache
def _keys(args_type: type) -> tuple[frozenset[str], frozenset[str]]:
    """(required, known) keys of a TypedDict."""
    # Python 3.11 counts every key of a TypedDict declared under `from __future__ import
    # annotations` as required: `__required_keys__` sees the annotation as a string. Resolving
    # the strings fails on `pulumi.Input` (itself a forward reference), so read them as written.
    annotations: dict[str, Any] = args_type.__annotations__
    optional = set()
    for key, annotation in annotations.items():
        text = getattr(annotation, "__forward_arg__", annotation)
        if isinstance(text, str):
            if text.startswith(("NotRequired[", "typing.NotRequired[")):
                optional.add(key)
        elif typing.get_origin(annotation) is typing.NotRequired:
            optional.add(key)
    return frozenset(annotations) - optional, frozenset(annotations)


def shape_problems(args: object, args_type: type, key: KeyPath = ()) -> list[Finding]:
    """Missing required keys and unknown keys of a TypedDict value, checked at run time
    (callers from other languages, or untyped Python, get no help from mypy)."""
    if not isinstance(args, Mapping):
        return [Finding(key, f"expected a mapping ({args_type.__name__}), found {args!r}.")]
    required, known = _keys(args_type)
    findings = [
        Finding((*key, name), f"is required; expected a value ({args_type.__name__}), found none.")
        for name in sorted(required - set(args))
    ]
    findings += [
        Finding(
            (*key, str(name)),
            f"is not a known key of {args_type.__name__}; expected one of: "
            f"{', '.join(sorted(known))}.",
        )
        for name in args
        if name not in known
    ]
    return findings


def range_problems(value: object, low: int, high: int, why: str, key: KeyPath) -> list[Finding]:
    """An integer from `low` to `high`: components get numbers from other languages and the
    engine, where `7200.5` or `True` can arrive (the loader's models check their own fields)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return [Finding(key, f"expected an integer from {low} to {high} ({why}), found {value!r}.")]
    return []


def raise_for(component: str, name: str, findings: Iterable[Finding]) -> None:
    """Raise every finding at once, each placed at `<Component> '<name>' args.<key path>`."""
    problems = [
        Problem(
            file=None,
            key_path=f"{component} {name!r} {format_key_path(('args', *finding.key_path))}",
            message=finding.message,
        )
        for finding in findings
    ]
    if problems:
        raise ConfigError(problems)


def whole_numbers(args: ArgsT, args_type: type[ArgsT]) -> ArgsT:
    """`args` with every whole float in an integer field of `args_type` made an `int`.

    Numbers cross the engine as floats, and pulumi 3.272's provider maps integer inputs to
    `int` and then overwrites them with the float (component.py, `map_input_properties`), so a
    component built through the provider would see `5672.0` where it formats a port. The
    provider (`eventinfra.provider.host`) applies this to every component's inputs. Values
    that are not whole floats are left for the component's own rules to report.
    """
    whole: ArgsT = _whole(args, args_type)
    return whole


def _whole(value: Any, annotation: Any) -> Any:
    # `int | None`, `pulumi.Input[int]` and `Foo | None` are Unions: look at their members.
    # Only a Union's: the arguments of `dict[str, Foo]` are its key and value types, and
    # taking `Foo` for the dict itself would leave every value unconverted.
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    members = [annotation, *(typing.get_args(annotation) if union else ())]
    if isinstance(value, float) and value.is_integer() and int in members:
        return int(value)
    if isinstance(value, Mapping):
        typed = next((m for m in members if typing.is_typeddict(m)), None)
        if typed is not None:
            fields = _field_types(typed)
            return {k: _whole(v, fields.get(k)) for k, v in value.items()}
        item = _item_type(members, dict, 1)
        return {k: _whole(v, item) for k, v in value.items()}
    if isinstance(value, list):
        item = _item_type(members, list, 0)
        return [_whole(v, item) for v in value]
    return value


@functools.cache
def _field_types(args_type: type) -> dict[str, Any]:
    # `pulumi.Input` holds the forward reference 'Output[T]', which resolves in pulumi.output.
    import pulumi.output

    return typing.get_type_hints(args_type, localns=vars(pulumi.output))


def _item_type(members: list[Any], origin: type, index: int) -> Any:
    """The item type of `list[X]` (index 0) or the value type of `dict[str, X]` (index 1)."""
    for member in members:
        type_args = typing.get_args(member)
        if typing.get_origin(member) is origin and len(type_args) > index:
            return type_args[index]
    return None
