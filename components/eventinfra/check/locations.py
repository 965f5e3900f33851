"""Where in the user's files each planned resource comes from: topology entry, stack settings."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from eventinfra.config.stack import TOPOLOGY_OVERRIDE_ENV, stack_file_path
from eventinfra.config.yaml_reader import YamlDocument, read_yaml
from eventinfra.errors import EventInfraError
from eventinfra.graph import RecordedResource
from eventinfra.keypaths import KeyPath

SETTINGS_KEY_PATH: Final[KeyPath] = ("config", "eventinfra:settings")
# A platform names the child it builds for a topology entry `<platform>-<role>-<entry>`
# (graph.PLATFORM_CHILD_ROLES); the role says which section of the topology holds the entry.
_SECTIONS: Final = {
    "consumer": "consumers",
    "producer": "producers",
    "event": "events",
    "parking": "events",
}


@dataclass(frozen=True)
class SourceLocation:
    path: Path
    line: int | None


def _slug(name: str) -> str:
    # Event children are named by a slug of the event (`user.signup` → `user-signup`).
    return re.sub(r"[^a-z0-9]", "-", name.lower())


def _topology_entry(
    resource: RecordedResource,
    by_urn: Mapping[str, RecordedResource],
    topology: Mapping[str, object],
) -> KeyPath | None:
    """The topology key path (`consumers.mailer`) of the entry whose platform child `resource`
    is, or descends from; None for the platform's own resources."""
    node: RecordedResource | None = resource
    while node is not None:
        parent = by_urn.get(node.parent or "")
        if parent is not None and not parent.custom:
            for role, section in _SECTIONS.items():
                prefix = f"{parent.name}-{role}-"
                entries = topology.get(section)
                if node.name.startswith(prefix) and isinstance(entries, Mapping):
                    rest = node.name[len(prefix) :]
                    for key in entries:
                        if str(key) == rest or _slug(str(key)) == rest:
                            return (section, str(key))
        node = parent
    return None


def _read(path: Path) -> YamlDocument | None:
    try:
        return read_yaml(path) if path.is_file() else None
    except EventInfraError:
        return None


def source_locations(
    resources: Iterable[RecordedResource], program: Path, stack: str
) -> dict[str, SourceLocation]:
    """URN → the file and line that caused the resource: the topology entry it was built for,
    else the stack's `eventinfra:settings`, else (a program without them) the line of the
    program's own code that constructed it. Key `""`: the stack's settings, for violations of
    the whole stack."""
    resources = list(resources)
    by_urn = {r.urn: r for r in resources}
    program = program.resolve()
    stack_doc = _read(stack_file_path(program, stack.rsplit("/", 1)[-1]))
    topology_doc = None
    if stack_doc is not None:
        config = stack_doc.data.get("config") if isinstance(stack_doc.data, Mapping) else None
        settings = config.get("eventinfra:settings") if isinstance(config, Mapping) else None
        topology = os.environ.get(TOPOLOGY_OVERRIDE_ENV) or (
            settings.get("topology") if isinstance(settings, Mapping) else None
        )
        if isinstance(topology, str):
            topology_doc = _read((program / topology).resolve())
    locations = {}
    if stack_doc is not None:
        locations[""] = SourceLocation(stack_doc.path, stack_doc.line_of(SETTINGS_KEY_PATH))
    for resource in resources:
        location = None
        if topology_doc is not None and isinstance(topology_doc.data, Mapping):
            entry = _topology_entry(resource, by_urn, topology_doc.data)
            if entry is not None:
                location = SourceLocation(topology_doc.path, topology_doc.line_of(entry))
        if location is None and stack_doc is not None:
            location = SourceLocation(stack_doc.path, stack_doc.line_of(SETTINGS_KEY_PATH))
        if location is None:
            location = _constructed_at(resource, program)
        if location is not None:
            locations[resource.urn] = location
    return locations


def _constructed_at(resource: RecordedResource, program: Path) -> SourceLocation | None:
    """The program's own line that constructed the resource (not a library's)."""
    if not resource.source_position:
        return None
    file, _, line = resource.source_position.rpartition(":")
    path = Path(file.removeprefix("file://"))
    if not line.isdigit() or not path.is_absolute() or not path.is_relative_to(program):
        return None
    if any(part in (".venv", "site-packages") for part in path.relative_to(program).parts):
        return None
    return SourceLocation(path, int(line))
