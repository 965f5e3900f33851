"""`eventinfra check`: plan a stack offline, show its resources and event flow, run policies."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from eventinfra.check.diagram import event_flow
from eventinfra.check.docs import add_docs_parser, run_docs
from eventinfra.check.kafka_diagram import is_kafka_stack, kafka_event_flow
from eventinfra.check.policy_source import PolicySource, choose_policy_source
from eventinfra.check.rabbitmq_diagram import is_rabbitmq_stack, rabbitmq_event_flow
from eventinfra.config.loader import SETTINGS_KEY
from eventinfra.config.stack import TOPOLOGY_OVERRIDE_ENV
from eventinfra.errors import EventInfraError
from eventinfra.graph import RecordedResource
from eventinfra.ops.cli import add_ops_parsers, run_ops

if TYPE_CHECKING:
    from eventinfra.check.policy_runner import PolicyReport
    from eventinfra.check.synth import Synthesis

EXIT_OK = 0
EXIT_MANDATORY_VIOLATION = 1
EXIT_INVALID = 2

STACK_TYPE = "pulumi:pulumi:Stack"
ENFORCEMENT_LEVELS = ("mandatory", "advisory", "remediate", "disabled")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eventinfra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check",
        help="plan a stack offline: resources, event-flow diagram, policy violations",
        description="Run a Pulumi program under recording mocks (no CLI, no cloud), then "
        "evaluate the policy pack over the recorded graph.",
    )
    check.add_argument("--stack", default="dev", help="stack name (default: dev)")
    check.add_argument(
        "--program", type=Path, default=Path("."), help="Pulumi project folder (default: .)"
    )
    check.add_argument("--topology", type=Path, help="topology file instead of the stack's")
    check.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    check.add_argument("--diagram", type=Path, help="write the event flow as Mermaid Markdown")
    check.add_argument("--mock-values", type=Path, help="mock-values file instead of the default")
    check.add_argument(
        "--policy-pack",
        type=Path,
        help="policy pack folder (default: $EVENTINFRA_POLICY_PACK, else the program's "
        "policies/ pack, else the pack installed with eventinfra)",
    )
    check.add_argument(
        "--policy-config",
        type=Path,
        help="policy config JSON file (default: <program>/policies/config/<stack>.json if it "
        "exists, else the pack's own levels)",
    )
    check.add_argument(
        "--no-policies", action="store_true", help="run no policies (the summary says so)"
    )
    add_docs_parser(commands)
    add_ops_parsers(commands)
    args = parser.parse_args(argv)
    if args.command == "docs":
        return run_docs(args)
    if args.command in ("dlq", "replay"):
        return run_ops(args)
    return run_check(args)


def run_check(args: argparse.Namespace) -> int:
    with _topology_override(args.topology):
        return _run_check(args)


@contextlib.contextmanager
def _topology_override(topology: Path | None) -> Iterator[None]:
    """`--topology FILE` for this run only, through the environment: the program reads it there
    (the CLI hands it to the language host the same way), and so do the SARIF locations, which
    are looked up after planning. The caller's own value, if any, comes back afterwards, so a
    second run in one process (tests, a wrapper script) plans what its own arguments say."""
    if topology is None:
        yield
        return
    previous = os.environ.get(TOPOLOGY_OVERRIDE_ENV)
    os.environ[TOPOLOGY_OVERRIDE_ENV] = str(topology.resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(TOPOLOGY_OVERRIDE_ENV, None)
        else:
            os.environ[TOPOLOGY_OVERRIDE_ENV] = previous


def _run_check(args: argparse.Namespace) -> int:
    out = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    program = args.program.resolve()
    try:
        if args.topology is not None:
            os.environ[TOPOLOGY_OVERRIDE_ENV] = str(_topology_option(args.topology))
        from eventinfra.check.synth import synthesize

        started = time.perf_counter()
        with err.status("Planning…") as status:

            def progress(count: int) -> None:
                status.update(f"Planning… {count} resources recorded")

            synthesis = synthesize(
                program, args.stack, mock_values=args.mock_values, progress=progress
            )
        err.print(
            f"Planned {len(synthesis.resources)} resources in "
            f"{time.perf_counter() - started:.1f} s.",
            style="dim",
        )
        source, report = _evaluate(args, program, synthesis.resources, synthesis.project)
        if args.diagram is not None:
            _write_diagram(args.diagram, synthesis.resources, f"{synthesis.project} / {args.stack}")
    except EventInfraError as error:
        # Escaped: text in brackets ("one of [lambda, external]") is not Rich markup.
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        return EXIT_INVALID

    broker = _broker(program, args.stack)
    violations = [_violation_json(v) for v in report.violations] if report else []
    summary = policy_summary(source, report, program)
    if args.format == "json":
        document = {
            "stack": args.stack,
            "broker": broker,
            # The stack first, as `pulumi preview --json` lists it: every parent is in the list.
            "resources": [_stack_json(synthesis), *(r.to_json() for r in synthesis.resources)],
            "policies": summary,
            "violations": violations,
        }
        print(json.dumps(document, indent=2, default=str))
    elif args.format == "sarif":
        from eventinfra.check.locations import source_locations
        from eventinfra.check.sarif import to_sarif

        if report is None:
            print(json.dumps(_empty_sarif(), indent=2))
        else:
            locations = source_locations(synthesis.resources, program, args.stack)
            print(json.dumps(to_sarif(report, locations=locations), indent=2))
    else:
        _print_plan(out, synthesis.resources, args.stack, broker)
        _print_violations(out, violations)
    # Always said, so that a gate which ran nothing cannot pass unnoticed: beside the plan for
    # text, on stderr where stdout is a document.
    (out if args.format == "text" else err).print(summary_line(summary), highlight=False)
    if report is not None and report.has_mandatory:
        return EXIT_MANDATORY_VIOLATION
    return EXIT_OK


def _evaluate(
    args: argparse.Namespace, program: Path, resources: list[RecordedResource], project: str
) -> tuple[PolicySource | None, PolicyReport | None]:
    """The pack that ran and its report; (None, None) only with --no-policies."""
    if args.no_policies:
        return None, None
    from eventinfra.check.policy_runner import evaluate_policies

    source = choose_policy_source(program, args.stack, args.policy_pack, args.policy_config)
    report = evaluate_policies(
        resources,
        source.pack,
        policy_config=source.config,
        policy_config_file=source.config_file,
        stack=args.stack,
        project=project,
    )
    return source, report


def policy_summary(
    source: PolicySource | None, report: PolicyReport | None, program: Path
) -> dict[str, Any]:
    """What ran: pack, origin, config, enforcement and the count of violations."""
    if source is None or report is None:
        return {"ran": False, "reason": "--no-policies"}
    levels = Counter[str](p.enforcement_level for p in report.policies)
    return {
        "ran": True,
        "pack": report.pack_name,
        "version": report.pack_version,
        "origin": source.origin,
        "path": str(source.pack),
        "config": _shown_path(source.config_file, program) if source.config_file else None,
        "policies": len(report.policies),
        "enforcement": {level: levels[level] for level in ENFORCEMENT_LEVELS},
        "violations": len(report.violations),
        "mandatoryViolations": sum(
            1 for v in report.violations if v.enforcement_level == "mandatory"
        ),
    }


def summary_line(summary: dict[str, Any]) -> str:
    """`Policies: eventinfra@0.2.0 (bundled), config policies/config/prod.json: 42 policies, …`"""
    if not summary["ran"]:
        return "Policies: none ran (--no-policies); this plan was not checked against any pack."
    origin = summary["origin"]
    where = {"bundled": "bundled", "project": "the project's policies/"}.get(
        origin, f"{origin} {summary['path']}"
    )
    config = (
        f"config {summary['config']}"
        if summary["config"]
        else "no config file (the pack's own enforcement levels)"
    )
    enforcement = ", ".join(
        f"{count} {level}" for level, count in summary["enforcement"].items() if count
    )
    return (
        f"Policies: {summary['pack']}@{summary['version']} ({where}), {config}: "
        f"{_count(summary['policies'], 'policy', 'policies')} ({enforcement}), "
        f"{_count(summary['violations'], 'violation', 'violations')} "
        f"({summary['mandatoryViolations']} mandatory)."
    )


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _shown_path(path: Path, program: Path) -> str:
    """Relative to the program folder when inside it, as users wrote it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(program))
    except ValueError:
        return str(resolved)


def _topology_option(path: Path) -> Path:
    """`--topology FILE`, refused here when it is no file: the loader would blame the stack
    file's `topology:` line, which this option replaces."""
    resolved = path.resolve()
    if resolved.is_dir():
        raise EventInfraError(f"--topology {path}: is a folder; expected a topology YAML file.")
    if not resolved.exists():
        raise EventInfraError(f"--topology {path}: the topology file does not exist.")
    return resolved


def _write_diagram(path: Path, resources: list[RecordedResource], title: str) -> None:
    if path.is_dir():
        raise EventInfraError(
            f"Cannot write the diagram to {path}: it is a folder; expected a file."
        )
    try:
        if is_rabbitmq_stack(resources):
            draw = rabbitmq_event_flow
        elif is_kafka_stack(resources):
            draw = kafka_event_flow
        else:
            draw = event_flow
        path.write_text(draw(resources, f"{title}: event flow"), encoding="utf-8")
    except OSError as error:
        raise EventInfraError(
            f"Cannot write the diagram to {path}: {error.strerror or error}."
        ) from None


def _broker(program: Path, stack: str) -> str | None:
    """The stack's broker setting, for the JSON output; None for programs without one."""
    from eventinfra.check.synth import read_stack_config_values

    # The settings file the run used (stackConfigDir, project defaults), not any file of that
    # name below the program folder.
    config, _ = read_stack_config_values(program, stack)
    try:
        settings = json.loads(config.get(SETTINGS_KEY, "null"))
    except json.JSONDecodeError:
        return None
    if isinstance(settings, dict):
        return str(settings.get("broker", "sns-sqs"))
    return None


def _stack_json(synthesis: Synthesis) -> dict[str, Any]:
    return {
        "urn": synthesis.stack_urn,
        "type": STACK_TYPE,
        "name": f"{synthesis.project}-{synthesis.stack}",
        "parent": None,
        "dependencies": [],
        "inputs": {},
    }


def _print_plan(
    console: Console, resources: list[RecordedResource], stack: str, broker: str | None
) -> None:
    """Resources grouped by component, with counts by type, like a preview."""
    known = {resource.urn for resource in resources}
    children: dict[str | None, list[RecordedResource]] = {}
    for resource in resources:
        # The stack itself is not recorded: its children, like orphans, sit at the top.
        parent = resource.parent if resource.parent in known else None
        children.setdefault(parent, []).append(resource)

    def add(tree: Tree, parent: str | None) -> None:
        kids = children.get(parent, [])
        for marker, external in (("[green]+[/]", False), ("[cyan]>[/] read", True)):
            counts = Counter(r.type for r in kids if r.custom and r.external is external)
            for type_token, count in sorted(counts.items()):
                tree.add(f"{marker} {type_token} [dim]x{count}[/]")
        for child in kids:
            if not child.custom:
                add(tree.add(f"[bold]{child.type}[/] {escape(child.name)}"), child.urn)

    tree = Tree(f"[bold]stack {stack}[/]" + (f" (broker {broker})" if broker else ""))
    add(tree, None)
    console.print(tree)
    created = sum(1 for r in resources if r.custom and not r.external)
    read = sum(1 for r in resources if r.custom and r.external)
    components = sum(1 for r in resources if not r.custom)
    kinds = len({r.type for r in resources if r.custom and not r.external})
    console.print(
        f"Plan: [green]{created} to create[/] ({kinds} resource types)"
        + (f", {read} to read" if read else "")
        + f" in {components} components, stack {stack}."
    )


def _violation_json(violation: Any) -> dict[str, Any]:
    return {
        "policy": violation.policy_name,
        "enforcementLevel": violation.enforcement_level,
        "severity": violation.severity,
        "urn": violation.urn,
        "message": violation.message,
    }


def _print_violations(console: Console, violations: list[dict[str, Any]]) -> None:
    if not violations:
        return
    console.print()
    console.print("[bold]Policy violations:[/]")
    for violation in violations:
        colour = "red" if violation["enforcementLevel"] == "mandatory" else "yellow"
        # Escaped: "[mandatory]" would otherwise be read as a (unknown) style tag and vanish.
        level = escape(f"[{violation['enforcementLevel']}]")
        console.print(
            f"  [{colour}]{level}[/] {escape(violation['policy'])}  "
            f"[dim]{escape(violation['urn'])}[/]\n    {escape(violation['message'])}",
            highlight=False,
        )
    mandatory = sum(1 for v in violations if v["enforcementLevel"] == "mandatory")
    console.print(f"{len(violations)} violations, {mandatory} mandatory.")


def _empty_sarif() -> dict[str, Any]:
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "eventinfra", "rules": []}}, "results": []}],
    }


if __name__ == "__main__":
    sys.exit(main())
