"""Pulumi.yaml and stack settings files, read as the Pulumi CLI reads them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from eventinfra.errors import ProjectFileError, UnknownStackError
from eventinfra.keypaths import KeyPath
from eventinfra.yaml_errors import describe_yaml_error, key_lines

SECRET_PLACEHOLDER: Final = "[secret]"  # what `pulumi config` shows for a value it cannot decrypt


class _PulumiYamlLoader(yaml.SafeLoader):
    """YAML as Pulumi's Go YAML (1.2) reads it: dates stay strings, only true/false are booleans."""


_PulumiYamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, pattern)
        for tag, pattern in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PulumiYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True)
class _YamlFile:
    path: Path
    data: Any
    lines: Mapping[KeyPath, int]
    """The line of each key down to `_KEY_LINE_DEPTH` keys deep (`("config", "aws:region")`)."""

    def where(self, *key_path: str) -> str:
        """`path:line` of the key, or the path alone when the file does not have it."""
        line = self.lines.get(key_path)
        return f"{self.path}:{line}" if line is not None else str(self.path)


_KEY_LINE_DEPTH: Final = 2  # Pulumi.yaml's own keys and a stack file's `config:` keys


def _read_yaml(path: Path, what: str) -> _YamlFile:
    """The parsed file; a sentence naming it (never its content) when it is not YAML text."""
    if path.is_dir():
        raise ProjectFileError(f"{path}: the {what} is a folder; expected a YAML file.")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ProjectFileError(f"Cannot read the {what} {path}: {error.strerror}.") from None
    if b"\x00" in data:
        raise ProjectFileError(
            f"{path}: the {what} is a binary file (it contains NUL bytes); expected YAML text."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProjectFileError(
            f"{path}: the {what} is not UTF-8 text (invalid byte at offset {error.start}); "
            "save it as UTF-8, as Pulumi reads it."
        ) from None
    try:
        loader = _PulumiYamlLoader(text)
        try:
            node = loader.get_single_node()
            parsed = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        problem = describe_yaml_error(error)
        raise ProjectFileError(
            f"{problem.where(path)}: the {what} is not valid YAML: {problem.reason}."
        ) from None
    except RecursionError:
        raise ProjectFileError(
            f"{path}: the {what} nests values too deeply to be a Pulumi {what}."
        ) from None
    return _YamlFile(path, parsed, key_lines(node, _KEY_LINE_DEPTH))


@dataclass(frozen=True)
class _Project:
    name: str
    directory: Path
    stack_config_dir: Path
    main: Path
    config: Mapping[str, Any]


_PROJECT_CONFIG_SCHEMA_KEYS: Final = frozenset(
    {"type", "description", "default", "value", "secret", "items"}
)


def _read_project(program_dir: Path) -> _Project:
    if not program_dir.exists():
        raise ProjectFileError(
            f"The program folder {program_dir} does not exist; expected the folder of a Pulumi "
            "project (the one that holds its Pulumi.yaml)."
        )
    if not program_dir.is_dir():
        raise ProjectFileError(
            f"The program folder {program_dir} is a file; expected the folder of a Pulumi "
            "project (the one that holds its Pulumi.yaml)."
        )
    project_file = program_dir / "Pulumi.yaml"
    if not project_file.exists():
        raise ProjectFileError(
            f"No Pulumi project in {program_dir}: expected a Pulumi.yaml file there."
        )
    document = _read_yaml(project_file, "project file")
    raw = document.data
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ProjectFileError(
            f"{document.where('name')}: the project file must set `name` to the project's name "
            f"(for example `name: orders`), but found {raw!r}."
        )
    runtime = raw.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise ProjectFileError(
            f"{document.where('runtime')}: runtime: expected 'python' (`eventinfra check` runs "
            f"Python programs, as the Pulumi Python host does), found {runtime_name!r}."
        )
    for key in ("stackConfigDir", "main"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ProjectFileError(
                f"{document.where(key)}: {key}: expected a path relative to the project folder, "
                f"found {raw[key]!r}."
            )
    config_dir = raw.get("stackConfigDir") or "."
    main = program_dir / (raw.get("main") or ".")
    if main.is_dir():
        main = main / "__main__.py"
    if not main.is_file():
        raise ProjectFileError(
            f"{document.where('main')}: main: the program's entry point {main} does not exist; "
            "create it or set `main:` to the file (or folder with a __main__.py) that declares "
            "the resources."
        )
    project_config = raw.get("config")
    return _Project(
        name=raw["name"],
        directory=program_dir,
        stack_config_dir=(program_dir / config_dir).resolve(),
        main=main.resolve(),
        config=project_config if isinstance(project_config, dict) else {},
    )


def _stack_file_stacks(directory: Path) -> list[str]:
    names = []
    for path in directory.glob("Pulumi.*.yaml"):
        stack = path.name[len("Pulumi.") : -len(".yaml")]
        if stack and not stack.endswith(".mocks") and path.is_file():
            names.append(stack)
    return sorted(names)


def list_stacks(program_dir: Path) -> list[str]:
    """The stacks that have a settings file (`Pulumi.<stack>.yaml`) in the stack config folder."""
    return _stack_file_stacks(_read_project(Path(program_dir).resolve()).stack_config_dir)


def _engine_value(value: Any, secret: list[bool]) -> Any:
    """A config value with `{secure: …}` leaves replaced by the placeholder (and noted)."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            secret.append(True)
            return SECRET_PLACEHOLDER
        return {key: _engine_value(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [_engine_value(item, secret) for item in value]
    return value


def _engine_string(value: Any) -> str:
    # The engine hands every config value to the program as a string; structured values (and
    # numbers and booleans) as their JSON text, which `Config.require_object` / `get_int` parse.
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"))


def _qualified_key(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def read_stack_config_values(program_dir: Path, stack: str) -> tuple[dict[str, str], list[str]]:
    """The config map and secret keys `pulumi up` would give the program for `stack`."""
    project = _read_project(Path(program_dir).resolve())
    return _stack_config_values(project, stack)


def _stack_config_values(project: _Project, stack: str) -> tuple[dict[str, str], list[str]]:
    document = _stack_document(project, stack)
    stack_file = document.path
    raw = document.data
    values: dict[str, Any] = {}
    for key, entry in project.config.items():
        if isinstance(entry, dict) and entry and set(entry) <= _PROJECT_CONFIG_SCHEMA_KEYS:
            entry = entry.get("value", entry.get("default"))
        if entry is not None:
            values[_qualified_key(str(key), project.name)] = entry
    stack_config = raw.get("config") if isinstance(raw, dict) else None
    if raw is not None and not isinstance(raw, dict):
        raise ProjectFileError(
            f"{stack_file}: a stack settings file must be a mapping with a `config:` key, "
            f"but found {raw!r}."
        )
    if stack_config is not None and not isinstance(stack_config, dict):
        raise ProjectFileError(
            f"{document.where('config')}: `config` must map keys (`namespace:key`) to values, "
            f"but found {stack_config!r}."
        )
    for key, value in (stack_config or {}).items():
        values[_qualified_key(str(key), project.name)] = value
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in values.items():
        secret: list[bool] = []
        config[key] = _engine_string(_engine_value(value, secret))
        if secret:
            secret_keys.append(key)
    return config, secret_keys


def _stack_document(project: _Project, stack: str) -> _YamlFile:
    """The stack's settings file, parsed; an error listing the stacks when it has none."""
    short_stack = stack.rsplit("/", 1)[-1]
    stack_file = project.stack_config_dir / f"Pulumi.{short_stack}.yaml"
    if not stack_file.exists():  # a folder of that name is refused, as such, by _read_yaml
        existing = _stack_file_stacks(project.stack_config_dir)
        listed = (
            "the stacks that exist are " + ", ".join(repr(name) for name in existing)
            if existing
            else f"no stack settings files exist in {project.stack_config_dir}"
        )
        raise UnknownStackError(
            f"Project {project.name!r} has no stack {short_stack!r}: expected its settings in "
            f"{stack_file}, and {listed}."
        )
    return _read_yaml(stack_file, "stack settings file")


def stack_config_key_location(project: _Project, stack: str, key: str) -> str:
    """`file:line` of a `config:` key in the stack's settings file, for an error about it."""
    return _stack_document(project, stack).where("config", key)
