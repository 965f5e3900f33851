"""A mock resource monitor that answers like the providers would and records every request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pulumi.runtime.mocks import MockCallArgs, MockEngine, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import engine_pb2, resource_pb2

from eventinfra.check.mock_values import (
    CloudEnvironment,
    ResourceRequest,
    compute_invoke,
    compute_resource,
    stack_reference_outputs,
)
from eventinfra.check.synth.result import Diagnostic
from eventinfra.check.synth.wire import (
    _located,
    _source_position,
    _struct_to_plain,
    _to_struct,
)
from eventinfra.errors import PlanError
from eventinfra.graph import RecordedResource
from eventinfra.keypaths import format_key_path

STACK_TYPE: Final = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE: Final = "pulumi:pulumi:StackReference"


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
    retain_on_delete: bool = False

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
            retain_on_delete=self.retain_on_delete,
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
                secret_inputs=tuple(format_key_path(p) for p in secret_paths if p),
                secret_outputs=tuple(sorted(secret_outputs)),
                source_position=_source_position(request.sourcePosition),
                aliases=_alias_urns(
                    request, self.records.get(request.parent), self.stack, self.project
                ),
                retain_on_delete=request.retainOnDelete
                if request.HasField("retainOnDelete")
                else False,
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
                secret_inputs=tuple(format_key_path(p) for p in secret_paths if p),
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
