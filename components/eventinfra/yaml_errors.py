"""Where a YAML parser gave up and why, and where each key of a parsed file is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from eventinfra.keypaths import KeyPath

MAX_NODES: Final = 100_000


@dataclass(frozen=True)
class YamlSyntaxProblem:
    """The line a YAML parser stopped at (None when it gave none) and its reason."""

    line: int | None
    reason: str

    def where(self, path: Path) -> str:
        """`path:line`, or the path alone."""
        return f"{path}:{self.line}" if self.line is not None else str(path)


def describe_yaml_error(error: yaml.YAMLError) -> YamlSyntaxProblem:
    """The 1-based line and the reason of a parser error, without PyYAML's multi-line context."""
    # A MarkedYAMLError points at the problem, or failing that at the construct it was reading;
    # other YAMLErrors (a ReaderError for a control character) carry no line at all.
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return YamlSyntaxProblem(
        line=mark.line + 1 if mark is not None else None,
        reason=getattr(error, "problem", None) or str(error).split("\n", 1)[0],
    )


def key_lines(node: yaml.Node | None, max_depth: int) -> dict[KeyPath, int]:
    """The 1-based line of every mapping key down to `max_depth` keys deep, so that a reader
    built on `yaml.load` can still say where a key is; the first of duplicate keys wins.

    Aliases are walked as often as they are used, so the walk stops after `MAX_NODES` nodes:
    a line is a courtesy, never worth an alias bomb's cost."""
    lines: dict[KeyPath, int] = {}
    pending: list[tuple[yaml.Node, KeyPath]] = [(node, ())] if node is not None else []
    visited = 0
    while pending and visited < MAX_NODES:
        visited += 1
        current, path = pending.pop()
        if len(path) >= max_depth:
            continue
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode):
                    child = (*path, key_node.value)
                    lines.setdefault(child, key_node.start_mark.line + 1)
                    pending.append((value_node, child))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                lines.setdefault((*path, index), item.start_mark.line + 1)
                pending.append((item, (*path, index)))
    return lines
