"""Reads a YAML file with the line of every key, refusing syntax errors and duplicate keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eventinfra.errors import ConfigError, Problem
from eventinfra.keypaths import KeyPath, format_key_path
from eventinfra.yaml_errors import describe_yaml_error


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file and the line of every key in it."""

    path: Path
    data: Any
    lines: dict[KeyPath, int]

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of the deepest key on `key_path` that the file has."""
        for end in range(len(key_path), -1, -1):
            if key_path[:end] in self.lines:
                return self.lines[key_path[:end]]
        return None


def read_yaml(path: Path) -> YamlDocument:
    """Parse a YAML file, refusing syntax errors and duplicate keys with their line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            [Problem(path, "", f"cannot be read: {error.strerror or error}.")]
        ) from None
    try:
        # The loader refuses control characters as it is built, before it parses anything.
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        problem = describe_yaml_error(error)
        raise ConfigError(
            [Problem(path, "", f"is not valid YAML: {problem.reason}.", problem.line)]
        ) from None
    lines: dict[KeyPath, int] = {}
    problems: list[Problem] = []
    data = _plain(node, (), lines, problems, path, loader) if node is not None else None
    if problems:
        raise ConfigError(problems)
    return YamlDocument(path, data, lines)


def _plain(
    node: yaml.Node,
    key_path: KeyPath,
    lines: dict[KeyPath, int],
    problems: list[Problem],
    path: Path,
    loader: yaml.SafeLoader,
) -> Any:
    """Build plain values from a node tree, noting each key's line and every duplicate key."""
    lines.setdefault(key_path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            child = (*key_path, key)
            if key in result:
                problems.append(
                    Problem(
                        path,
                        format_key_path(child),
                        f"is defined twice (first on line {lines[child]}); "
                        "expected each name once.",
                        key_node.start_mark.line + 1,
                    )
                )
                continue
            lines[child] = key_node.start_mark.line + 1
            result[key] = _plain(value_node, child, lines, problems, path, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _plain(item, (*key_path, index), lines, problems, path, loader)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
