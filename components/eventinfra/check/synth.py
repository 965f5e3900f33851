"""Run a Pulumi Python program offline under a recording mock monitor, like `cdk synth`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import re
import runpy
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final, TypeVar
from urllib.parse import unquote, urlparse

import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockCallArgs, MockEngine, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import engine_pb2, resource_pb2
from pulumi.runtime.stack import run_in_stack

from eventinfra.check.mock_values import (
    CloudEnvironment,
    MockValues,
    MockValuesError,
    PlanError,
    ResourceRequest,
    SynthesisError,
    compute_invoke,
    compute_resource,
    load_mock_values,
    stack_reference_outputs,
)
from eventinfra.graph import RecordedResource

__all__ = [
    "SECRET_PLACEHOLDER",
    "Diagnostic",
    "MockValuesError",
    "PlanError",
    "ProgramError",
    "ProjectFileError",
    "Synthesis",
    "SynthesisError",
    "UnknownStackError",
    "critical_path",
    "list_stacks",
    "load_stack_config",
    "record",
    "synthesize",
]

SECRET_PLACEHOLDER: Final = "[secret]"  # what `pulumi config` shows for a value it cannot decrypt
STACK_TYPE: Final = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE: Final = "pulumi:pulumi:StackReference"
DEFAULT_ORGANIZATION: Final = "organization"  # what the Python host reports for DIY backends

_SIG_KEY: Final = rpc._special_sig_key
_SECRET_SIG: Final = rpc._special_secret_sig
_ASSET_SIG: Final = rpc._special_asset_sig
_ARCHIVE_SIG: Final = rpc._special_archive_sig
_RESOURCE_SIG: Final = rpc._special_resource_sig
_OUTPUT_VALUE_SIG: Final = rpc._special_output_value_sig

_T = TypeVar("_T")


class UnknownStackError(SynthesisError):
    """The program has no settings file for the requested stack."""


class ProjectFileError(SynthesisError):
    """Pulumi.yaml or a stack settings file cannot be used."""


class ProgramError(SynthesisError):
    """The Pulumi program itself raised an exception."""

    def __init__(
        self, message: str, *, exception_type: str, file: Path | None, line: int | None
    ) -> None:
        super().__init__(message)
        self.exception_type = exception_type
        self.file = file
        self.line = line


@dataclass(frozen=True)
class Diagnostic:
    """A message the program logged through `pulumi.log`."""

    severity: str
    message: str
    urn: str = ""


@dataclass(frozen=True)
class Synthesis:
    """The resource graph of one offline run, with the stack's exports."""

    project: str
    stack: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    secret_outputs: frozenset[str] = frozenset()
    stack_urn: str = ""
    environment: CloudEnvironment = field(default_factory=CloudEnvironment)
    diagnostics: tuple[Diagnostic, ...] = ()

    def by_type(self, token: str) -> list[RecordedResource]:
        """Every resource of type `token` (e.g. `aws:sqs/queue:Queue`), in registration order."""
        return [resource for resource in self.resources if resource.type == token]

    def get(self, urn: str) -> RecordedResource:
        """The resource with this URN; `KeyError` if the program registered none."""
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(f"No resource with the URN {urn!r} was registered.")

    def named(self, name: str, token: str | None = None) -> RecordedResource:
        """The one resource with this logical name (and type, if given)."""
        found = [
            resource
            for resource in self.resources
            if resource.name == name and (token is None or resource.type == token)
        ]
        if len(found) != 1:
            raise KeyError(
                f"Expected one resource named {name!r}"
                + (f" of type {token!r}" if token else "")
                + f", found {len(found)}."
            )
        return found[0]

    def children(self, urn: str) -> list[RecordedResource]:
        """The resources whose parent is `urn`, in registration order."""
        return [resource for resource in self.resources if resource.parent == urn]


# --- Pulumi.yaml and stack settings ------------------------------------------------------------


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


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_PulumiYamlLoader)
    except OSError as error:
        raise ProjectFileError(f"Cannot read the {what} {path}: {error.strerror}.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or str(error)
        raise ProjectFileError(f"{where}: the {what} is not valid YAML: {problem}.") from None


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
    project_file = program_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise ProjectFileError(
            f"No Pulumi project in {program_dir}: expected a Pulumi.yaml file there."
        )
    raw = _read_yaml(project_file, "project file")
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ProjectFileError(
            f"{project_file}: the project file must set `name` to the project's name "
            f"(for example `name: orders`), but found {raw!r}."
        )
    config_dir = raw.get("stackConfigDir") or "."
    main = program_dir / str(raw.get("main") or ".")
    if main.is_dir():
        main = main / "__main__.py"
    if not main.is_file():
        raise ProjectFileError(
            f"{project_file}: the program's entry point {main} does not exist; create it or set "
            "`main:` to the file (or folder with a __main__.py) that declares the resources."
        )
    project_config = raw.get("config")
    return _Project(
        name=raw["name"],
        directory=program_dir,
        stack_config_dir=(program_dir / str(config_dir)).resolve(),
        main=main.resolve(),
        config=project_config if isinstance(project_config, dict) else {},
    )


def _stack_file_stacks(directory: Path) -> list[str]:
    names = []
    for path in directory.glob("Pulumi.*.yaml"):
        stack = path.name[len("Pulumi.") : -len(".yaml")]
        if stack and not stack.endswith(".mocks"):
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


def load_stack_config(program_dir: Path, stack: str) -> tuple[dict[str, str], list[str]]:
    """The config map and secret keys `pulumi up` would give the program for `stack`."""
    project = _read_project(Path(program_dir).resolve())
    return _load_stack_config(project, stack)


def _load_stack_config(project: _Project, stack: str) -> tuple[dict[str, str], list[str]]:
    short_stack = stack.rsplit("/", 1)[-1]
    stack_file = project.stack_config_dir / f"Pulumi.{short_stack}.yaml"
    if not stack_file.is_file():
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
    values: dict[str, Any] = {}
    for key, entry in project.config.items():
        if isinstance(entry, dict) and entry and set(entry) <= _PROJECT_CONFIG_SCHEMA_KEYS:
            entry = entry.get("value", entry.get("default"))
        if entry is not None:
            values[_qualified_key(str(key), project.name)] = entry
    raw = _read_yaml(stack_file, "stack settings file")
    stack_config = raw.get("config") if isinstance(raw, dict) else None
    if raw is not None and not isinstance(raw, dict):
        raise ProjectFileError(
            f"{stack_file}: a stack settings file must be a mapping with a `config:` key, "
            f"but found {raw!r}."
        )
    if stack_config is not None and not isinstance(stack_config, dict):
        raise ProjectFileError(
            f"{stack_file}: `config` must map keys (`namespace:key`) to values, "
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


# --- the engine's wire format ------------------------------------------------------------------


def _path_text(parts: Sequence[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _plain(value: Any, path: tuple[str | int, ...], secrets: list[tuple[str | int, ...]]) -> Any:
    """A wire value as plain JSON: secrets unwrapped (their paths noted), assets readable."""
    if isinstance(value, dict):
        signature = value.get(_SIG_KEY)
        if signature == _SECRET_SIG:
            secrets.append(path)
            return _plain(value.get("value"), path, secrets)
        if signature == _OUTPUT_VALUE_SIG:
            if value.get("secret"):
                secrets.append(path)
            return _plain(value["value"], path, secrets) if "value" in value else None
        if signature == _ASSET_SIG:
            return {"__asset": {k: value[k] for k in ("path", "text", "uri") if k in value}}
        if signature == _ARCHIVE_SIG:
            if "assets" in value:
                assets = {
                    name: _plain(item, (*path, "assets", name), secrets)
                    for name, item in value["assets"].items()
                }
                return {"__archive": {"assets": assets}}
            return {"__archive": {k: value[k] for k in ("path", "uri") if k in value}}
        if signature == _RESOURCE_SIG:
            # What a provider that does not accept resource references receives: the URN.
            return value.get("urn")
        return {key: _plain(item, (*path, key), secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, (*path, index), secrets) for index, item in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        # Struct numbers are float64; the engine prints integral ones as integers.
        return int(value)
    if value == rpc.UNKNOWN:
        return None
    return value


def _struct_to_plain(
    struct: struct_pb2.Struct,
) -> tuple[dict[str, Any], list[tuple[str | int, ...]]]:
    secrets: list[tuple[str | int, ...]] = []
    plain = _plain(json_format.MessageToDict(struct), (), secrets)
    return plain, secrets


def _wire(value: Any) -> Any:
    """The inverse of `_plain` for assets and archives: the SDK rebuilds them from signatures."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("__asset"), dict):
            return {_SIG_KEY: _ASSET_SIG, **value["__asset"]}
        if len(value) == 1 and isinstance(value.get("__archive"), dict):
            archive = dict(value["__archive"])
            if isinstance(archive.get("assets"), dict):
                archive["assets"] = {name: _wire(item) for name, item in archive["assets"].items()}
            return {_SIG_KEY: _ARCHIVE_SIG, **archive}
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def _to_struct(values: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()) -> Any:
    struct = struct_pb2.Struct()
    struct.update(
        {
            key: (
                {_SIG_KEY: _SECRET_SIG, "value": _wire(value)}
                if key in secret_keys
                else _wire(value)
            )
            for key, value in values.items()
        }
    )
    return struct


def _source_position(position: Any) -> str | None:
    if not position.uri:
        return None
    return f"{unquote(urlparse(position.uri).path)}:{position.line}"


@contextlib.contextmanager
def _located(position: Any) -> Iterator[None]:
    """Prefix a mocks-file error with the program line that needed the missing value."""
    try:
        yield
    except MockValuesError as error:
        where = _source_position(position)
        if where is None:
            raise
        raise MockValuesError(f"{where}: {error}") from None


# --- the recording monitor ---------------------------------------------------------------------


class _NoMocks(Mocks):
    """The monitor below answers every request itself; nothing reaches these."""

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(args.token)

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        raise NotImplementedError(args.typ)


@dataclass
class _Record:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    protect: bool
    provider: str
    id: str | None
    external: bool
    secret_inputs: tuple[str, ...]
    secret_outputs: tuple[str, ...]
    source_position: str | None
    aliases: tuple[str, ...] = ()

    def freeze(self) -> RecordedResource:
        return RecordedResource(
            urn=self.urn,
            type=self.type,
            name=self.name,
            custom=self.custom,
            parent=self.parent,
            dependencies=self.dependencies,
            property_dependencies=self.property_dependencies,
            inputs=self.inputs,
            outputs=self.outputs,
            protect=self.protect,
            provider=self.provider,
            id=self.id,
            external=self.external,
            secret_inputs=self.secret_inputs,
            secret_outputs=self.secret_outputs,
            source_position=self.source_position,
            aliases=self.aliases,
        )


def _alias_urns(request: Any, parent: _Record | None, stack: str, project: str) -> tuple[str, ...]:
    """The earlier URNs of a registration, as the engine's step generator derives them
    (`collapseAliasToUrn`, `generateAliases`): each alias spec collapsed to a URN, then, for every
    alias of the parent, the child's and its aliases' names under that old parent (a child named
    `<parent name>-x` was `<old parent name>-x`). The engine follows only the parent alias that
    matched its old state; with no state here, every candidate counts."""

    def urn(parent_urn: str, stack: str, project: str, type_: str, name: str) -> str:
        if parent_urn and (parent_type := parent_urn.split("::", 3)[2]) != STACK_TYPE:
            type_ = f"{parent_type}${type_}"
        return f"urn:pulumi:{stack}::{project}::{type_}::{name}"

    own = list(request.aliasURNs)  # already URNs when the SDK resolved them itself
    for alias in request.aliases:
        spec = alias.spec
        own.append(
            urn(
                "" if spec.noParent else spec.parentUrn or request.parent,
                spec.stack or stack,
                spec.project or project,
                spec.type or request.type,
                spec.name or request.name,
            )
            if alias.HasField("spec")
            else alias.urn
        )
    found = dict.fromkeys(own)
    if parent is None:
        return tuple(found)
    for parent_alias in parent.aliases:
        old_parent_name = parent_alias.split("::", 3)[3]
        named = [(request.type, request.name)]
        named += [(u.split("::", 3)[2].rsplit("$", 1)[-1], u.split("::", 3)[3]) for u in own]
        for type_, name in named:
            if name.startswith(parent.name):
                name = old_parent_name + name[len(parent.name) :]
            found.setdefault(urn(parent_alias, stack, project, type_, name))
    return tuple(found)


class _RecordingMonitor(MockMonitor):
    """A resource monitor that answers like a real provider would, and records every request."""

    def __init__(
        self,
        project: str,
        stack: str,
        environment: CloudEnvironment,
        progress: Callable[[int], None] | None,
    ) -> None:
        super().__init__(_NoMocks())
        self.project = project
        self.stack = stack
        self.environment = environment
        self.progress = progress
        self.records: dict[str, _Record] = {}
        self.stack_urn = ""
        self.stack_outputs: dict[str, Any] = {}
        self.stack_secret_outputs: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine does: the parent's full type chain, except for the root stack.
        if parent:
            parent_type = parent.split("::", 3)[2]
            if parent_type != STACK_TYPE:
                type_ = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def _provider_inputs(self, reference: str) -> dict[str, Any]:
        provider_urn = reference.rsplit("::", 1)[0] if reference else ""
        record = self.records.get(provider_urn)
        return record.inputs if record is not None else {}

    def _add(self, record: _Record) -> None:
        with self._lock:
            existing = self.records.get(record.urn)
            if existing is not None:
                raise PlanError(
                    f"Two resources have the URN {record.urn!r} (registered at "
                    f"{existing.source_position or 'an unknown place'} and at "
                    f"{record.source_position or 'an unknown place'}); the engine rejects "
                    "duplicate URNs. Give each resource a unique name (children of a component: "
                    "derive their names from the component's name)."
                )
            self.records[record.urn] = record
            count = len(self.records)
        self.resources[record.urn] = MockMonitor.ResourceRegistration(
            record.urn, record.id or "", record.outputs
        )
        if self.progress is not None:
            self.progress(count)

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs, secret_paths = _struct_to_plain(request.object)
        resource_id: str | None = None
        if request.custom:
            resource_id, outputs = compute_resource(
                ResourceRequest(
                    type=request.type,
                    name=request.name,
                    urn=urn,
                    inputs=inputs,
                    environment=self.environment,
                    provider_inputs=self._provider_inputs(request.provider),
                )
            )
            if request.importId:
                resource_id = request.importId
        elif request.remote:
            # A multi-language component: its children are built by its provider, not here.
            outputs = dict(inputs)
        else:
            outputs = {}
        # Like the engine: outputs whose inputs were secret, and those the SDK asks for, are secret.
        secret_outputs = frozenset(
            key
            for key in {*request.additionalSecretOutputs, *(str(p[0]) for p in secret_paths if p)}
            if key in outputs
        )
        self._add(
            _Record(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                # The SDK collects these in sets of objects: sorted, two runs record the same.
                dependencies=tuple(sorted(set(request.dependencies))),
                property_dependencies={
                    key: tuple(sorted(set(deps.urns)))
                    for key, deps in sorted(request.propertyDependencies.items())
                    if deps.urns
                },
                inputs=inputs,
                outputs=outputs,
                protect=request.protect if request.HasField("protect") else False,
                provider=request.provider,
                id=resource_id,
                external=False,
                secret_inputs=tuple(_path_text(p) for p in secret_paths if p),
                secret_outputs=tuple(sorted(secret_outputs)),
                source_position=_source_position(request.sourcePosition),
                aliases=_alias_urns(
                    request, self.records.get(request.parent), self.stack, self.project
                ),
            )
        )
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=resource_id or "", object=_to_struct(outputs, secret_outputs)
        )

    def ReadResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs, secret_paths = _struct_to_plain(request.properties)
        if request.type == STACK_REFERENCE_TYPE:
            with _located(request.sourcePosition):
                outputs = stack_reference_outputs(request.id, self.environment)
        else:
            _, outputs = compute_resource(
                ResourceRequest(
                    type=request.type,
                    name=request.name,
                    urn=urn,
                    inputs=inputs,
                    environment=self.environment,
                    provider_inputs=self._provider_inputs(request.provider),
                )
            )
        self._add(
            _Record(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=True,
                parent=request.parent or None,
                dependencies=tuple(sorted(set(request.dependencies))),
                property_dependencies={},
                inputs=inputs,
                outputs=outputs,
                protect=False,
                provider=request.provider,
                id=request.id,
                external=True,
                secret_inputs=tuple(_path_text(p) for p in secret_paths if p),
                secret_outputs=(),
                source_position=_source_position(request.sourcePosition),
            )
        )
        return resource_pb2.ReadResourceResponse(urn=urn, properties=_to_struct(outputs))

    def Invoke(self, request: Any) -> Any:
        if request.tok == "pulumi:pulumi:getResource":
            return super().Invoke(request)  # type: ignore[no-untyped-call]
        args, _ = _struct_to_plain(request.args)
        with _located(request.sourcePosition):
            result = compute_invoke(request.tok, args, self.environment)
        return resource_pb2.ResourceInvokeResponse(**{"return": _to_struct(result)})

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs, secret_paths = _struct_to_plain(request.outputs)
        with self._lock:
            if request.urn == self.stack_urn:
                self.stack_outputs = outputs
                self.stack_secret_outputs = frozenset(str(p[0]) for p in secret_paths if p)
            elif request.urn in self.records:
                self.records[request.urn].outputs = outputs
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


_SEVERITIES: Final = {
    engine_pb2.DEBUG: "debug",
    engine_pb2.INFO: "info",
    engine_pb2.WARNING: "warning",
    engine_pb2.ERROR: "error",
}


class _RecordingEngine(MockEngine):
    """Keeps what the program logs through `pulumi.log`, for the caller to show."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger(__name__))
        self.diagnostics: list[Diagnostic] = []

    def Log(self, request: Any) -> None:
        severity = _SEVERITIES.get(request.severity, "info")
        if severity == "debug":  # the SDK's own tracing, not the program's
            return
        self.diagnostics.append(Diagnostic(severity, request.message, request.urn))


# --- running a program -------------------------------------------------------------------------


@dataclass(frozen=True)
class _RunSettings:
    project: str
    stack: str
    config: Mapping[str, str]
    secret_keys: Sequence[str]
    environment: CloudEnvironment
    root_directory: str
    progress: Callable[[int], None] | None = None


class _InlineExecutor(ThreadPoolExecutor):
    """Runs the SDK's monitor calls at once, on the event loop's thread.

    The SDK sends every RPC through `loop.run_in_executor`; with worker threads, the order in
    which answers come back (and so the order of later registrations) varies from run to run.
    The recording monitor never waits on the loop, so calling it inline is safe, and makes two
    runs of one program record the same graph in the same order. No thread is ever started.
    """

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # handed to the awaiting coroutine, as a worker would
            future.set_exception(error)
        return future


# The SDK keeps every Output, future and task alive until the program ends, so each cyclic
# collection walks all of them: with the default thresholds two thirds of a large run's CPU went
# to collections that freed nothing (benchmarks/RESULTS.md). Collect far less often instead.
GC_THRESHOLDS_DURING_RUN: Final = (10_000, 50, 1_000)


@contextlib.contextmanager
def _rare_garbage_collection() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS_DURING_RUN)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _in_fresh_thread(work: Callable[[], _T]) -> _T:
    """Run `work` on a new thread: its own event loop and its own (empty) contextvars.

    Pulumi keeps its runtime state (settings, config, root stack) in contextvars and uses the
    thread's event loop; a new thread starts with neither, so runs cannot leak into each other
    or into the caller's own Pulumi mocks.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, name="eventinfra-synth", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    result: _T = outcome["result"]
    return result


_DUPLICATE_FAILURE_MESSAGES: Final = frozenset(
    {"Task exception was never retrieved", "Future exception was never retrieved"}
)


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # When a program fails, the SDK leaves sibling tasks holding the same exception; the first one
    # is reported to the caller, the copies would only be logged as "never retrieved".
    if context.get("message") in _DUPLICATE_FAILURE_MESSAGES:
        return
    loop.default_exception_handler(context)


@contextlib.contextmanager
def _warnings_as_diagnostics(diagnostics: list[Diagnostic]) -> Iterator[None]:
    """Warnings filtered as plain `python __main__.py` (and so `pulumi up`) would, kept as
    diagnostics: a caller's warnings-as-errors setting must not fail the user's program."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        _ignore_unawaited_coroutines()
        yield
    diagnostics.extend(
        Diagnostic(
            "warning",
            f"{item.filename}:{item.lineno}: {item.category.__name__}: {item.message}",
        )
        for item in caught
    )


@contextlib.contextmanager
def _callers_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        _ignore_unawaited_coroutines()
        yield


def _ignore_unawaited_coroutines() -> None:
    # A failed program leaves coroutines of the SDK's own that were never scheduled; collecting
    # them warns, which says nothing about the program.
    warnings.filterwarnings(
        "ignore", message="coroutine .* was never awaited", category=RuntimeWarning
    )


def _run(program: Callable[[], None], run: _RunSettings, *, isolate_warnings: bool) -> Synthesis:
    monitor = _RecordingMonitor(run.project, run.stack, run.environment, run.progress)
    engine = _RecordingEngine()
    warning_diagnostics: list[Diagnostic] = []

    def work() -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_exception_handler)
        loop.set_default_executor(_InlineExecutor())
        asyncio.set_event_loop(loop)
        try:
            # Constructing Settings sets the (context-local) runtime state for this thread.
            pulumi_settings.configure(
                pulumi_settings.Settings(
                    project=run.project,
                    stack=run.stack,
                    monitor=monitor,
                    engine=engine,
                    dry_run=False,
                    organization=DEFAULT_ORGANIZATION,
                    root_directory=run.root_directory,
                )
            )
            pulumi_settings.ROOT.set(None)
            pulumi_config.set_all_config(dict(run.config), list(run.secret_keys))
            loop.run_until_complete(run_in_stack(program))
        finally:
            # As Pulumi's own automation host does: a failed program leaves tasks pending.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            for task in pending:
                with suppress(asyncio.CancelledError, Exception):
                    loop.run_until_complete(task)
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()

    filters = (
        _warnings_as_diagnostics(warning_diagnostics) if isolate_warnings else _callers_warnings()
    )
    with filters, _rare_garbage_collection():
        try:
            _in_fresh_thread(work)
        except BaseException:
            gc.collect()  # so the abandoned coroutines are collected under these filters
            raise
    return Synthesis(
        project=run.project,
        stack=run.stack,
        resources=[record.freeze() for record in monitor.records.values()],
        outputs=monitor.stack_outputs,
        secret_outputs=monitor.stack_secret_outputs,
        stack_urn=monitor.stack_urn,
        environment=run.environment,
        diagnostics=(*engine.diagnostics, *warning_diagnostics),
    )


def _within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _is_program_module(module: ModuleType | None, name: str, roots: Sequence[Path]) -> bool:
    """Was this module imported from the program's own folders (not from an installed package)?"""
    location = getattr(module, "__file__", None)
    if not location:
        return False
    path = Path(location).resolve()
    top = name.split(".", 1)[0]
    return any(path == root / f"{top}.py" or _within(path, root / top) for root in roots)


@contextlib.contextmanager
def _program_process(directory: Path, import_roots: Sequence[Path]) -> Iterator[None]:
    """cwd and sys.path as the Pulumi Python host sets them; restored, and the program's own
    modules forgotten, afterwards so the next run imports (and so declares) them afresh."""
    saved_cwd = os.getcwd()
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    os.chdir(directory)
    sys.path[:0] = [str(root) for root in import_roots]
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if _is_program_module(sys.modules.get(name), name, import_roots):
                del sys.modules[name]


def _display_path(path: Path, base: Path) -> str:
    return str(path.relative_to(base)) if _within(path, base) else str(path)


def _exception_type_name(error: BaseException) -> str:
    kind = type(error)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


_OWN_FILES: Final = frozenset(
    Path(module_file).resolve()
    for module_file in (__file__, sys.modules[CloudEnvironment.__module__].__file__)
    if module_file
)


def _not_program_code(path: Path) -> bool:
    # Installed packages, and this runner itself when the program folder contains eventinfra.
    return "site-packages" in path.parts or "dist-packages" in path.parts or path in _OWN_FILES


_PULUMI_SDK: Final = Path(pulumi_settings.__file__).resolve().parent.parent


def _unwrap_sdk_wrappers(error: BaseException) -> BaseException:
    """The exception the program (or the monitor) raised, not the SDK's re-wrapping of it.

    The SDK re-raises a failure met while serializing an input as a new `ValueError` ("While
    processing input: …") `from` the original: that original is what the user must see.
    """
    while error.__cause__ is not None:
        frames = traceback.extract_tb(error.__traceback__)
        if not frames or not _within(Path(frames[-1].filename).resolve(), _PULUMI_SDK):
            break
        error = error.__cause__
    return error


def _program_location(error: BaseException, program_dir: Path) -> tuple[Path, int] | None:
    """The deepest frame of the traceback in the program's own files."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return Path(error.filename).resolve(), error.lineno
    candidates = [
        (Path(frame.filename).resolve(), frame.lineno or 0)
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename and not frame.filename.startswith("<")
    ]
    own = [
        (path, line)
        for path, line in candidates
        if _within(path, program_dir) and not _not_program_code(path)
    ]
    return own[-1] if own else None


def _program_error(error: BaseException, program_dir: Path, cwd: Path) -> ProgramError:
    type_name = _exception_type_name(error)
    message = str(error).strip()
    what = f"{type_name}: {message}" if message else type_name
    location = _program_location(error, program_dir)
    if location is None:
        return ProgramError(
            f"The Pulumi program in {_display_path(program_dir, cwd)} failed: {what}",
            exception_type=type_name,
            file=None,
            line=None,
        )
    path, line = location
    return ProgramError(
        f"The Pulumi program failed at {_display_path(path, cwd)}:{line}: {what}",
        exception_type=type_name,
        file=path,
        line=line,
    )


def synthesize(
    program_dir: Path,
    stack: str,
    *,
    mock_values: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Synthesis:
    """Run the Pulumi program in `program_dir` for `stack` offline and record what it declares.

    Raises `UnknownStackError` without a stack settings file, `MockValuesError` for a bad
    mocks file (or a value it lacks), `PlanError` for what the engine or a provider would
    reject, `ProgramError` when the program raises; exceptions whose class sets
    `is_user_error = True` propagate unchanged.
    """
    cwd = Path.cwd()
    program_dir = Path(program_dir).resolve()
    project = _read_project(program_dir)
    config, secret_keys = _load_stack_config(project, stack)
    short_stack = stack.rsplit("/", 1)[-1]
    mocks_path = (
        Path(mock_values).resolve()
        if mock_values is not None
        else project.stack_config_dir / f"Pulumi.{short_stack}.mocks.yaml"
    )
    values = (
        load_mock_values(mocks_path)
        if mock_values is not None or mocks_path.is_file()
        else MockValues()
    )
    environment = CloudEnvironment.from_mock_values(values, mocks_path, config.get("aws:region"))

    def program() -> None:
        runpy.run_path(str(project.main), run_name="__main__")

    import_roots = list(dict.fromkeys([program_dir, project.main.parent]))
    run = _RunSettings(
        project=project.name,
        stack=short_stack,
        config=config,
        secret_keys=secret_keys,
        environment=environment,
        root_directory=str(program_dir),
        progress=progress,
    )
    with _program_process(program_dir, import_roots):
        try:
            return _run(program, run, isolate_warnings=True)
        except (Exception, SystemExit) as raised:
            error = _unwrap_sdk_wrappers(raised)
            if getattr(type(error), "is_user_error", False) is True:
                if error is raised:
                    raise
                raise error  # noqa: B904 (its own cause, if any, is the one to keep)
            raise _program_error(error, program_dir, cwd) from error


def record(
    build: Callable[[], None],
    *,
    project: str = "test",
    stack: str = "test",
    config: Mapping[str, str] | None = None,
    mock_values: Path | None = None,
) -> Synthesis:
    """Run `build` (e.g. constructing one component) as a program and return what it declared.

    `config` maps `namespace:key` to the string the engine would pass. Exceptions from `build`
    propagate unchanged, so tests can assert on them.
    """
    values = load_mock_values(mock_values) if mock_values is not None else MockValues()
    settings = dict(config or {})
    run = _RunSettings(
        project=project,
        stack=stack,
        config=settings,
        secret_keys=(),
        environment=CloudEnvironment.from_mock_values(
            values, mock_values, settings.get("aws:region")
        ),
        root_directory=os.getcwd(),
    )
    return _run(build, run, isolate_warnings=False)


# --- analysis ----------------------------------------------------------------------------------


def critical_path(resources: Sequence[RecordedResource]) -> list[RecordedResource]:
    """The longest chain of custom resources that must be created one after another.

    Edges are `dependencies` and `propertyDependencies`; a dependency on a component stands for
    every custom resource inside it. Parent links and provider references do not order creation
    here. Ties go to the chain that ends (then starts) earliest in registration order.
    """
    by_urn = {resource.urn: resource for resource in resources}
    order = {resource.urn: index for index, resource in enumerate(resources)}
    children: dict[str, list[str]] = {}
    for resource in resources:
        if resource.parent is not None:
            children.setdefault(resource.parent, []).append(resource.urn)

    expanded: dict[str, frozenset[str]] = {}

    def custom_targets(urn: str) -> frozenset[str]:
        if urn not in expanded:
            expanded[urn] = frozenset()  # guards against a malformed, cyclic parent chain
            resource = by_urn.get(urn)
            if resource is None:
                result: frozenset[str] = frozenset()
            elif resource.custom:
                result = frozenset({urn})
            else:
                result = frozenset().union(*(custom_targets(c) for c in children.get(urn, [])))
            expanded[urn] = result
        return expanded[urn]

    customs = [resource for resource in resources if resource.custom]
    predecessors: dict[str, set[str]] = {}
    for resource in customs:
        direct = {*resource.dependencies}
        for deps in resource.property_dependencies.values():
            direct.update(deps)
        targets: set[str] = set()
        for dependency in direct:
            targets |= custom_targets(dependency)
        targets.discard(resource.urn)
        predecessors[resource.urn] = targets

    # Kahn's algorithm, taking ready resources in registration order.
    successors: dict[str, list[str]] = {resource.urn: [] for resource in customs}
    waiting = {urn: len(preds) for urn, preds in predecessors.items()}
    for urn, preds in predecessors.items():
        for pred in preds:
            successors[pred].append(urn)
    ready = sorted((urn for urn, count in waiting.items() if count == 0), key=order.__getitem__)
    length: dict[str, int] = {}
    previous: dict[str, str | None] = {}
    while ready:
        urn = ready.pop(0)
        best = min(
            predecessors[urn],
            key=lambda pred: (-length[pred], order[pred]),
            default=None,
        )
        length[urn] = 1 + (length[best] if best is not None else 0)
        previous[urn] = best
        for successor in successors[urn]:
            waiting[successor] -= 1
            if waiting[successor] == 0:
                ready.append(successor)
                ready.sort(key=order.__getitem__)
    if not length:
        return []
    end: str | None = min(length, key=lambda urn: (-length[urn], order[urn]))
    chain: list[RecordedResource] = []
    while end is not None:
        chain.append(by_urn[end])
        end = previous[end]
    return chain[::-1]
