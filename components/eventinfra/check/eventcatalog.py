"""EventCatalog content (events, services, channels, schemas) from a stack's AsyncAPI document."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from eventinfra.check.asyncapi import EXTENSION, EventInfo
from eventinfra.errors import EventInfraError

__all__ = ["GENERATED_END", "GENERATED_START", "write_eventcatalog"]

# MDX comments: invisible on the page, and the only part of a body `eventinfra docs` rewrites.
GENERATED_START: Final = "{/* eventinfra docs: generated from the plan, rewritten on every run */}"
GENERATED_END: Final = "{/* eventinfra docs: end of generated part; notes below are kept */}"
SCHEMA_FILE: Final = "schema.json"
INDEX_FILE: Final = "index.mdx"
UNCONSUMED_BADGE: Final = {"content": "No consumer", "backgroundColor": "red", "textColor": "red"}


@dataclass(frozen=True)
class _Page:
    front_matter: dict[str, Any]
    body: str


def write_eventcatalog(
    directory: Path,
    document: Mapping[str, Any],
    events: Mapping[str, EventInfo],
    service_summaries: Mapping[str, str | None],
) -> list[Path]:
    """Write or update the catalogue's pages; return the files whose content changed."""
    if directory.exists() and not directory.is_dir():
        raise EventInfraError(
            f"Cannot write the EventCatalog content to {directory}: it is a file; expected a "
            "folder."
        )
    pages, schemas = _catalogue(document, events, service_summaries)
    changed: list[Path] = []
    try:
        for relative, page in pages.items():
            path = directory / relative
            existing = path.read_text(encoding="utf-8") if path.is_file() else None
            text = _merge(page, existing, path)
            if text != existing:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                changed.append(path)
        for relative, source in schemas.items():
            path = directory / relative
            content = source.read_bytes()
            if not path.is_file() or path.read_bytes() != content:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                changed.append(path)
    except OSError as error:
        raise EventInfraError(
            f"Cannot write the EventCatalog content to {directory}: {error.strerror or error} "
            f"({error.filename})."
        ) from None
    return changed


def _catalogue(
    document: Mapping[str, Any],
    events: Mapping[str, EventInfo],
    service_summaries: Mapping[str, str | None],
) -> tuple[dict[Path, _Page], dict[Path, Path]]:
    messages: Mapping[str, Any] = document["components"]["messages"]
    channels: Mapping[str, Any] = document["channels"]
    operations: Mapping[str, Any] = document["operations"]
    servers: Mapping[str, Any] = document["servers"]

    def channel_id(key: str) -> str:
        return f"{_server_of(channels[key])}.{key}"

    def version(event: str) -> str:
        return str(messages[event][f"{EXTENSION}-version"])

    sends: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    receives: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for operation in operations.values():
        service = str(operation[f"{EXTENSION}-service"])
        channel = _last_token(operation["channel"]["$ref"])
        target = sends if operation["action"] == "send" else receives
        for message in operation["messages"]:
            target.setdefault(service, []).append(
                (_last_token(message["$ref"]), channel, operation)
            )

    pages: dict[Path, _Page] = {}
    schemas: dict[Path, Path] = {}
    for event, message in messages.items():
        info = events.get(event, EventInfo(event))
        event_channels = [k for k, c in channels.items() if event in c.get("messages", {})]
        producers = sorted({s for s, entries in sends.items() for e, _, _ in entries if e == event})
        consumers = sorted(
            {s for s, entries in receives.items() for e, _, _ in entries if e == event}
        )
        front: dict[str, Any] = {
            "id": event,
            "name": event,
            "version": version(event),
            "summary": message.get("summary") or f"The {event} event.",
            "channels": [{"id": channel_id(k), "version": version(event)} for k in event_channels],
        }
        unconsumed = channels.get(event, {}).get(f"{EXTENSION}-unconsumed")
        if unconsumed:
            front["badges"] = [UNCONSUMED_BADGE]
        if info.schema_file is not None:
            front["schemaPath"] = SCHEMA_FILE
            schemas[Path("events", event, SCHEMA_FILE)] = info.schema_file
        lines: list[str] = [
            f"Producers: {_names(producers)}.",
            "",
            f"Consumers: {_names(consumers)}.",
        ]
        if unconsumed:
            stored = _mdx_text(str(unconsumed["storedIn"]))
            how = _mdx_text(str(unconsumed["how"]))
            lines += ["", f"Nobody consumes this event: it is stored in {stored} ({how})."]
        lines += ["", "<NodeGraph />"]
        if info.schema_file is not None:
            lines += ["", f'<SchemaViewer file="{SCHEMA_FILE}" />']
        pages[Path("events", event, INDEX_FILE)] = _Page(front, "\n".join(lines))

    for key, channel in channels.items():
        server = _server_of(channel)
        protocol = str(servers.get(server, {}).get("protocol", server))
        channel_events = list(channel.get("messages", {}))
        front = {
            "id": channel_id(key),
            "name": str(channel.get("title", key)),
            "version": DEFAULT_CHANNEL_VERSION,
            "summary": _first_line(channel.get("description"))
            or f"{protocol} {channel['address']}",
            "address": str(channel["address"]),
            "protocols": [protocol],
        }
        lines = [f"Carries: {_names(channel_events)}.", "", "Bindings, as planned:", ""]
        lines += _fenced("yaml", _yaml(channel.get("bindings", {})))
        if channel.get("description"):
            lines = [_mdx_text(str(channel["description"])), "", *lines]
        pages[Path("channels", channel_id(key), INDEX_FILE)] = _Page(front, "\n".join(lines))

    for service in sorted({*sends, *receives}):
        front = {
            "id": service,
            "name": service,
            "version": DEFAULT_CHANNEL_VERSION,
            "summary": service_summaries.get(service) or f"The {service} service.",
        }
        if service in sends:
            front["sends"] = _pointers(sends[service], version, channel_id, "to")
        if service in receives:
            front["receives"] = _pointers(receives[service], version, channel_id, "from")
        lines = []
        for event, channel, operation in [*sends.get(service, []), *receives.get(service, [])]:
            verb = "Sends" if operation["action"] == "send" else "Receives"
            lines += [
                f"## {verb} {_mdx_text(event)}",
                "",
                f"Channel: {_mdx_text(channel_id(channel))}.",
            ]
            runtime = operation.get(EXTENSION, {}).get("runtime")
            if runtime:
                lines += ["", f"Runtime: {_mdx_text(str(runtime))}."]
            dead_letters = operation.get(EXTENSION, {}).get("deadLetterTopics")
            if dead_letters:
                lines += ["", f"Dead-letter topics: {_names(map(str, dead_letters))}."]
            if operation.get("bindings") and operation["action"] == "receive":
                lines += ["", *_fenced("yaml", _yaml(operation["bindings"]))]
            lines.append("")
        lines.append("<NodeGraph />")
        pages[Path("services", service, INDEX_FILE)] = _Page(front, "\n".join(lines))
    return pages, schemas


DEFAULT_CHANNEL_VERSION: Final = "1.0.0"


def _pointers(
    entries: Iterable[tuple[str, str, Mapping[str, Any]]],
    version: Any,
    channel_id: Any,
    direction: str,
) -> list[dict[str, Any]]:
    grouped: dict[str, list[str]] = {}
    for event, channel, _ in entries:
        ids = grouped.setdefault(event, [])
        if channel_id(channel) not in ids:
            ids.append(channel_id(channel))
    return [
        {"id": event, "version": version(event), direction: [{"id": c} for c in ids]}
        for event, ids in grouped.items()
    ]


def _server_of(channel: Mapping[str, Any]) -> str:
    servers = channel.get("servers") or [{"$ref": "#/servers/default"}]
    return _last_token(servers[0]["$ref"])


def _last_token(reference: str) -> str:
    return reference.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")


def _names(names: Iterable[str]) -> str:
    listed = [_mdx_text(name) for name in names]
    return ", ".join(listed) if listed else "none"


# What page text may show as written: letters, digits, spaces, line breaks and plain
# punctuation. MDX runs `{...}` as JavaScript and `<...>` as JSX or HTML when the site is built,
# and a line starting `import` or `export` as an ES module statement, so every other character
# (braces, angle brackets, backticks, `&`, `\`, `#`, `*`, control characters) becomes a character
# reference (`&#123;`), which MDX shows as the character itself, and so does the first letter of
# such a line. No description or name read from the plan can then run code, add markup, open a
# code block or forge the markers of the generated part.
_SAFE_TEXT: Final = re.compile(r"[\w \n.,:;/=+@()'\"!?%-]")
_MODULE_KEYWORDS: Final = ("import", "export")


def _mdx_text(text: str) -> str:
    """`text` as MDX that shows exactly `text` and is nothing but text."""
    lines = []
    for line in text.split("\n"):
        escaped = "".join(c if _SAFE_TEXT.fullmatch(c) else f"&#{ord(c)};" for c in line)
        words = escaped.lstrip(" ")
        if words.startswith(_MODULE_KEYWORDS):
            indent = escaped[: len(escaped) - len(words)]
            escaped = f"{indent}&#{ord(words[0])};{words[1:]}"
        lines.append(escaped)
    return "\n".join(lines)


def _fenced(language: str, text: str) -> list[str]:
    """A code block no line of `text` can close: its fence is longer than any backtick run in
    it (CommonMark closes a fence only with one at least as long, indented up to 3 spaces)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + language, text.rstrip("\n"), fence]


def _first_line(text: Any) -> str:
    return str(text).strip().split("\n", 1)[0] if text else ""


def _yaml(value: Any) -> str:
    # A JSON round trip first: plain containers only, and no anchors for shared objects.
    return yaml.safe_dump(json.loads(json.dumps(value)), sort_keys=False, width=100)


def _merge(page: _Page, existing: str | None, path: Path) -> str:
    """The page's new text: generated front matter and block, the rest of `existing` kept."""
    front: dict[str, Any] = dict(page.front_matter)
    prose = ""
    if existing:
        old_front, body = _split(existing, path)
        # Keys a person added (owners, badges of their own…) stay; generated keys are replaced.
        front.update({k: v for k, v in old_front.items() if k not in page.front_matter})
        if GENERATED_START in body and GENERATED_END in body:
            before, rest = body.split(GENERATED_START, 1)
            prose = before.strip() + "\0" + rest.split(GENERATED_END, 1)[1].strip()
        else:
            prose = "\0" + body.strip()
    before, after = prose.split("\0", 1) if prose else ("", "")
    parts = [
        *([before] if before else []),
        GENERATED_START,
        page.body.strip(),
        GENERATED_END,
        *([after] if after else []),
    ]
    matter = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{matter}---\n\n" + "\n\n".join(parts) + "\n"


def _split(text: str, path: Path) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 3)
    if end < 0:
        raise EventInfraError(
            f"{path}: the front matter opened on line 1 is never closed; expected a line `---`."
        )
    try:
        front = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError as error:
        raise EventInfraError(f"{path}: the front matter is not valid YAML: {error}.") from None
    if not isinstance(front, dict):
        raise EventInfraError(
            f"{path}: expected the front matter to be a mapping, found {front!r}."
        )
    return front, text[end + 5 :]
