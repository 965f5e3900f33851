"""What every component checks of its Args before it builds anything, and how it says so."""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from eventinfra.errors import ConfigError, Problem
from eventinfra.keypaths import KeyPath, format_key_path


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
