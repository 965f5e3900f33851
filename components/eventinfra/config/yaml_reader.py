"""Reads a YAML file literally, with the line of every key, refusing what it cannot read safely."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from eventinfra.errors import ConfigError, Problem
from eventinfra.keypaths import KeyPath, format_key_path
from eventinfra.yaml_errors import describe_yaml_error

# An alias-expansion ("billion laughs") bomb of a few hundred bytes expands to billions of
# values; a real topology has a few thousand. Both bounds fail fast, long before memory does.
MAX_VALUES: Final = 200_000
MAX_DEPTH: Final = 64
MAX_FILE_BYTES: Final = 10 * 1024 * 1024

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _LiteralLoader(yaml.SafeLoader):
    """YAML 1.2 core-schema scalars: `yes`, `off`, `007`, `1:30` and `2024-01-01` stay the
    strings the user wrote (YAML 1.1 would read them as true, false, 7, 90 and a date)."""

    yaml_implicit_resolvers: dict[Any, Any] = {  # noqa: RUF012 (PyYAML's own attribute)
        first: [
            (tag, regexp)
            for tag, regexp in resolvers
            if tag.rsplit(":", 1)[-1] not in {"bool", "int", "float", "timestamp"}
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_LiteralLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# No leading zeros: `007` is a string, as written. Underscores (`1_209_600`) are kept readable.
_LiteralLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"),
    list("-+0123456789"),
)
_LiteralLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:0|[1-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


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


def read_text_file(path: Path, what: str) -> str:
    """A UTF-8 text file's content; a clear error for a folder, a binary file or other encoding.
    Errors name the file and never echo what is in it."""

    def refuse(message: str) -> ConfigError:
        return ConfigError([Problem(path, "", message)])

    if path.is_dir():
        raise refuse(f"is a folder; expected {what}.")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise refuse(f"cannot be read: {error.strerror or error}.") from None
    if len(data) > MAX_FILE_BYTES:
        raise refuse(
            f"has {len(data)} bytes; expected {what} of at most {MAX_FILE_BYTES} bytes."
        ) from None
    if b"\x00" in data:
        raise refuse(f"is a binary file (it contains NUL bytes); expected {what}.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise refuse(
            f"is not UTF-8 text (invalid byte at offset {error.start}); expected {what} "
            "saved as UTF-8."
        ) from None


def read_yaml(path: Path) -> YamlDocument:
    """Parse a YAML file, refusing syntax errors, duplicate keys and expansion bombs."""
    text = read_text_file(path, "a YAML file")
    try:
        # The loader refuses control characters as it is built, before it parses anything.
        loader = _LiteralLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        problem = describe_yaml_error(error)
        raise ConfigError(
            [Problem(path, "", f"is not valid YAML: {problem.reason}.", problem.line)]
        ) from None
    except RecursionError:
        raise ConfigError(
            [Problem(path, "", f"nests values too deeply; expected at most {MAX_DEPTH} levels.")]
        ) from None
    reader = _Reader(path, loader)
    try:
        data = reader.plain(node, ()) if node is not None else None
    except _TooLarge as error:
        raise ConfigError([Problem(path, error.key_path, error.message, error.line)]) from None
    if reader.problems:
        raise ConfigError(reader.problems)
    return YamlDocument(path, data, reader.lines)


class _TooLarge(Exception):
    def __init__(self, key_path: str, message: str, line: int) -> None:
        super().__init__(message)
        self.key_path, self.message, self.line = key_path, message, line


class _Reader:
    """Builds plain values from a node tree, noting each key's line and every duplicate key,
    and counting every value it builds: an alias is built again each time it is used."""

    def __init__(self, path: Path, loader: yaml.SafeLoader) -> None:
        self.path = path
        self.loader = loader
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[Problem] = []
        self.values = 0

    def plain(self, node: yaml.Node, key_path: KeyPath) -> Any:
        line = node.start_mark.line + 1
        self.values += 1
        if self.values > MAX_VALUES:
            raise _TooLarge(
                format_key_path(key_path),
                f"expands to more than {MAX_VALUES} values (through aliases); expected a "
                "configuration of ordinary size.",
                line,
            )
        if len(key_path) > MAX_DEPTH:
            raise _TooLarge(
                format_key_path(key_path),
                f"nests values too deeply; expected at most {MAX_DEPTH} levels.",
                line,
            )
        self.lines.setdefault(key_path, line)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, key_path)
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(item, (*key_path, index)) for index, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, key_path: KeyPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merge = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                merged.extend(merge)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Problem(
                        self.path,
                        format_key_path(key_path),
                        "has a key that is a list or mapping; expected plain names as keys.",
                        key_node.start_mark.line + 1,
                    )
                )
                continue
            key = self.loader.construct_object(key_node, deep=True)
            child = (*key_path, key)
            if key in result:
                self.problems.append(
                    Problem(
                        self.path,
                        format_key_path(child),
                        f"is defined twice (first on line {self.lines[child]}); "
                        "expected each name once.",
                        key_node.start_mark.line + 1,
                    )
                )
                continue
            self.lines[child] = key_node.start_mark.line + 1
            result[key] = self.plain(value_node, child)
        # `<<: *base` fills the keys the mapping does not set itself; of several merged
        # mappings, the first one listed wins (YAML merge-key spec).
        for source in merged:
            if not isinstance(source, yaml.MappingNode):
                self.problems.append(
                    Problem(
                        self.path,
                        format_key_path((*key_path, "<<")),
                        "merges something that is not a mapping; expected `<<: *anchor` of a "
                        "mapping, or a list of them.",
                        source.start_mark.line + 1,
                    )
                )
                continue
            values = self._mapping(source, key_path)
            for key, value in values.items():
                result.setdefault(key, value)
        return result
