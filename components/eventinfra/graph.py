"""The resource graph a Pulumi program declares, as recorded offline and shown to policies."""

from __future__ import annotations

from collections.abc import Mapping
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
    retain_on_delete: bool = False
    """Left in the cloud when the program stops declaring it (`retain_on_delete`)."""
    provider: str = ""
    id: str | None = None
    """The provider's id for a custom resource (None for components)."""
    external: bool = False
    """Read, not managed (`Resource.get`, `pulumi.StackReference`)."""
    secret_inputs: tuple[str, ...] = ()
    """Property paths of `inputs` that were secret (`password`, `environment.variables.TOKEN`)."""
    secret_outputs: tuple[str, ...] = ()
    """Top-level `outputs` the engine would store as secrets."""
    source_position: str | None = None
    """`file:line` of the code that constructed the resource, as the SDK reports it."""
    aliases: tuple[str, ...] = ()
    """URNs the engine would look this resource up by in an earlier deployment: its own aliases
    and those inherited from its parent's, resolved as the engine resolves them."""

    @property
    def spec(self) -> Mapping[str, Any]:
        """A Kubernetes object's `spec` input; empty when it has none."""
        spec = self.inputs.get("spec")
        return spec if isinstance(spec, Mapping) else {}

    @property
    def object_name(self) -> str:
        """A Kubernetes object's `metadata.name`, else the resource's Pulumi name."""
        metadata = self.inputs.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        return str(name) if name is not None else self.name

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


# The roles a platform names its per-topology children with (`<platform>-<role>-<name>`).
PLATFORM_CHILD_ROLES = ("producer", "consumer", "event", "parking")


def topology_name(resource: RecordedResource, by_urn: Mapping[str, RecordedResource]) -> str:
    """The name the topology gave a component: a platform's child `events-consumer-billing`
    is `billing`; a component declared on its own keeps its name."""
    parent = by_urn.get(resource.parent or "")
    if parent is not None and not parent.custom:
        for role in PLATFORM_CHILD_ROLES:
            prefix = f"{parent.name}-{role}-"
            if resource.name.startswith(prefix):
                return resource.name[len(prefix) :]
    return resource.name
