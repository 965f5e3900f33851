"""What one offline run produces: the recorded graph, the stack's exports and the log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventinfra.check.mock_values import CloudEnvironment
from eventinfra.graph import RecordedResource


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
