"""`eventinfra docs`: the event catalogue of a planned stack, as AsyncAPI 3.0 and EventCatalog."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from eventinfra.check.asyncapi import EventInfo, asyncapi_document, event_infos, render
from eventinfra.check.eventcatalog import write_eventcatalog
from eventinfra.config.loader import SETTINGS_KEY, load_platform_config
from eventinfra.config.models import Topology
from eventinfra.errors import EventInfraError

__all__ = ["add_docs_parser", "run_docs"]

EXIT_OK = 0
EXIT_INVALID = 2


def add_docs_parser(commands: Any) -> None:
    docs = commands.add_parser(
        "docs",
        help="write the stack's event catalogue: AsyncAPI 3.0 and EventCatalog content",
        description="Plan a stack offline, then describe its events, producers, consumers and "
        "queues as an AsyncAPI 3.0 document and as EventCatalog pages; binding values come "
        "from the planned resources.",
    )
    docs.add_argument("--stack", default="dev", help="stack name (default: dev)")
    docs.add_argument(
        "--program", type=Path, default=Path("."), help="Pulumi project folder (default: .)"
    )
    docs.add_argument(
        "--asyncapi", type=Path, help="write the AsyncAPI document (JSON if FILE ends .json)"
    )
    docs.add_argument(
        "--eventcatalog", type=Path, help="write or update EventCatalog content in this folder"
    )


def run_docs(args: argparse.Namespace) -> int:
    err = Console(stderr=True, soft_wrap=True)
    if args.asyncapi is None and args.eventcatalog is None:
        err.print(
            "[bold red]error:[/] expected --asyncapi FILE, --eventcatalog DIR or both: "
            "`eventinfra docs` has nothing to write.",
            highlight=False,
        )
        return EXIT_INVALID
    program = args.program.resolve()
    try:
        from eventinfra.check.synth import synthesize

        started = time.perf_counter()
        with err.status("Planning…"):
            synthesis = synthesize(program, args.stack)
        err.print(
            f"Planned {len(synthesis.resources)} resources in "
            f"{time.perf_counter() - started:.1f} s.",
            style="dim",
        )
        topology = _topology(program, args.stack)
        events = _events(topology)
        document = asyncapi_document(
            synthesis.resources, events, f"{synthesis.project} / {args.stack}: events"
        )
        if args.asyncapi is not None:
            _write(args.asyncapi, render(document, args.asyncapi))
            err.print(f"Wrote the AsyncAPI document {args.asyncapi}.", highlight=False)
        if args.eventcatalog is not None:
            summaries: dict[str, str | None] = {}
            if topology is not None:
                summaries = {n: c.description for n, c in topology[0].consumers.items()}
            changed = write_eventcatalog(args.eventcatalog, document, events, summaries)
            err.print(
                f"EventCatalog content in {args.eventcatalog}: "
                + (f"{len(changed)} files written." if changed else "unchanged."),
                highlight=False,
            )
    except EventInfraError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        return EXIT_INVALID
    return EXIT_OK


def _topology(program: Path, stack: str) -> tuple[Topology, Path] | None:
    """The stack's topology, for event descriptions and schemas; None for other programs."""
    from eventinfra.check.synth import read_stack_config_values

    config, _ = read_stack_config_values(program, stack)
    raw = config.get(SETTINGS_KEY)
    if raw is None:
        return None
    try:
        settings = json.loads(raw)
    except json.JSONDecodeError:
        settings = raw
    platform = load_platform_config(settings, stack=stack, project_dir=program)
    return platform.topology, platform.topology_dir


def _events(topology: tuple[Topology, Path] | None) -> dict[str, EventInfo]:
    if topology is None:
        return {}
    model, directory = topology
    return event_infos(
        {
            name: (
                event.description,
                directory / event.payload_schema if event.payload_schema else None,
            )
            for name, event in model.events.items()
        }
    )


def _write(path: Path, text: str) -> None:
    if path.is_dir():
        raise EventInfraError(
            f"Cannot write the AsyncAPI document to {path}: it is a folder; expected a file."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise EventInfraError(
            f"Cannot write the AsyncAPI document to {path}: {error.strerror or error}."
        ) from None
