"""The resource graph a Pulumi program declares, as recorded offline and shown to policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedResource:
    """One resource registration, as the engine would see it.

    `inputs` and `outputs` use the engine's camelCase property names and plain JSON values
    (numbers may be floats, as they cross protobuf `Struct`s).
    """

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    provider: str = ""

    def to_json(self) -> dict[str, Any]:
        """The resource as `eventinfra check --format json` prints it."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "dependencies": list(self.dependencies),
            "inputs": self.inputs,
        }
