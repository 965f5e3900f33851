"""`eventinfra dlq list|peek|redrive|purge` and `eventinfra replay`: operate a deployed stack."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from eventinfra.errors import EventInfraError
from eventinfra.ops.model import Backend, QueueStat
from eventinfra.ops.moves import (
    Audit,
    MoveResult,
    StopRequest,
    move,
    peek,
    redrive_with_task,
    stop_on_interrupt,
)
from eventinfra.ops.outputs import StackOutputs, load_outputs

__all__ = ["add_ops_parsers", "open_backend", "run_ops"]

EXIT_OK: Final = 0
EXIT_INCOMPLETE: Final = 1
EXIT_INVALID: Final = 2
DEFAULT_PEEK: Final = 10
METHODS: Final = ("auto", "move-task", "receive")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number like 100, not {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected messages per second like 5, not {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected more than 0 messages per second, not {text}")
    return value


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where the queues are")
    where.add_argument(
        "--outputs",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="saved `pulumi stack output --json`; repeat to merge files (later ones win). "
        "Default: run `pulumi stack output --json` when the Pulumi CLI is on the PATH",
    )
    where.add_argument("--stack", help="stack for `pulumi stack output` (default: the selected)")
    where.add_argument(
        "--rabbitmq-url",
        help="amqps://USER:PASSWORD@HOST:5671[/VHOST] (default: $EVENTINFRA_RABBITMQ_URL); "
        "without a vhost the stack's",
    )
    where.add_argument(
        "--rabbitmq-credentials",
        type=Path,
        metavar="DIR",
        help="folder with the files username, password (and host, port), like a mounted "
        "Secret (default: $EVENTINFRA_RABBITMQ_CREDENTIALS_DIR)",
    )
    where.add_argument(
        "--kafka-bootstrap",
        metavar="HOST:PORT",
        help="Kafka bootstrap address (default: $EVENTINFRA_KAFKA_BOOTSTRAP, else the stack's "
        "`bootstrap`, which resolves inside the cluster only)",
    )
    where.add_argument(
        "--kafka-security",
        choices=("tls", "scram-sha-512", "plaintext"),
        help="default: $EVENTINFRA_KAFKA_SECURITY, else tls when the credentials folder has "
        "user.crt, else scram-sha-512",
    )
    where.add_argument(
        "--kafka-credentials",
        type=Path,
        metavar="DIR",
        help="folder with the ops user's Secret files: user.crt and user.key (TLS), or "
        "username and password (SCRAM) (default: $EVENTINFRA_KAFKA_CREDENTIALS_DIR)",
    )
    where.add_argument(
        "--kafka-ca",
        type=Path,
        metavar="FILE",
        help="the cluster CA certificate, ca.crt (default: $EVENTINFRA_KAFKA_CA_FILE)",
    )
    common.add_argument("--format", choices=("text", "json"), default="text")
    return common


def _moving(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max", type=_positive_int, help="move at most N messages")
    parser.add_argument(
        "--rate", type=_positive_float, metavar="R", help="at most R messages per second"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would move; change nothing"
    )
    parser.add_argument(
        "--audit",
        type=Path,
        metavar="FILE",
        help="append the audit lines (JSON, one per message) to FILE instead of stderr",
    )


def add_ops_parsers(commands: Any) -> None:
    common = _common()
    dlq = commands.add_parser(
        "dlq",
        help="inspect, redrive or purge the consumers' dead-letter queues",
        description="Dead-letter queues of a deployed stack, found by its outputs.",
    )
    actions = dlq.add_subparsers(dest="dlq_command", required=True)
    actions.add_parser(
        "list", parents=[common], help="every consumer's DLQ: depth and oldest message's age"
    )
    peek_parser = actions.add_parser(
        "peek",
        parents=[common],
        help="show messages without consuming them (they become visible again)",
    )
    peek_parser.add_argument("consumer")
    peek_parser.add_argument(
        "--max", type=_positive_int, default=DEFAULT_PEEK, help=f"default {DEFAULT_PEEK}"
    )
    redrive = actions.add_parser(
        "redrive",
        parents=[common],
        help="move dead letters back to the consumer's own queue (send, then delete)",
    )
    redrive.add_argument("consumer")
    _moving(redrive)
    redrive.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help="SQS only. auto: StartMessageMoveTask when neither --max nor --dry-run is given "
        "and the API answers, else receive-send-delete with an audit line per message",
    )
    purge = actions.add_parser(
        "purge", parents=[common], help="delete every message of a consumer's DLQ"
    )
    purge.add_argument("consumer")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    replay = commands.add_parser(
        "replay",
        parents=[common],
        help="deliver an event's parked messages to a consumer added later",
        description="Move the messages in an event's parking queue to one consumer's own "
        "queue (send, then delete), then they are gone from the parking queue.",
    )
    replay.add_argument("event")
    replay.add_argument("--to", required=True, metavar="CONSUMER", dest="consumer")
    _moving(replay)


def open_backend(outputs: StackOutputs, args: argparse.Namespace) -> Backend:
    if outputs.broker == "sns-sqs":
        from eventinfra.ops.sqs import SqsBackend

        return SqsBackend(outputs)
    if outputs.broker == "kafka":
        from eventinfra.ops.kafka import REPLAY_REFUSAL, KafkaBackend, client_config, connection

        if args.command == "replay":
            # Before any connection: no flag or credential can make a replay mean anything.
            raise EventInfraError(REPLAY_REFUSAL)
        chosen = connection(
            outputs,
            bootstrap=args.kafka_bootstrap,
            security=args.kafka_security,
            credentials_dir=args.kafka_credentials,
            ca_file=args.kafka_ca,
        )
        # Only what changes the ops group's offsets joins it; readers never rebalance a mover.
        moves = args.command == "dlq" and (
            args.dlq_command == "purge" or (args.dlq_command == "redrive" and not args.dry_run)
        )
        holds = outputs.dead_letter_queues.get(args.consumer) if moves else None
        return KafkaBackend(outputs, client_config(chosen), holds=holds)
    from eventinfra.ops.rabbitmq import RabbitMQBackend, connection_parameters

    parameters = connection_parameters(
        outputs, url=args.rabbitmq_url, credentials_dir=args.rabbitmq_credentials
    )
    return RabbitMQBackend(outputs, parameters)


def run_ops(args: argparse.Namespace) -> int:
    err = Console(stderr=True, soft_wrap=True)
    try:
        outputs = load_outputs(args.outputs, stack=args.stack)
        backend = open_backend(outputs, args)
        try:
            return _dispatch(args, outputs, backend, err)
        finally:
            backend.close()
    except EventInfraError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        return EXIT_INVALID
    except KeyboardInterrupt:
        err.print("[bold red]interrupted:[/] nothing more was changed.", highlight=False)
        return EXIT_INCOMPLETE


def _dispatch(
    args: argparse.Namespace, outputs: StackOutputs, backend: Backend, err: Console
) -> int:
    if args.command == "replay":
        source = backend.parking_queue(args.event)
        destination = backend.consumer_queue(args.consumer)
        return _move(args, backend, "replay", source, destination, err)
    if args.dlq_command == "list":
        return _list(args, outputs, backend, err)
    source = backend.dead_letter_queue(args.consumer)
    if args.dlq_command == "peek":
        return _peek(args, backend, source)
    if args.dlq_command == "purge":
        return _purge(args, backend, source, err)
    destination = backend.consumer_queue(args.consumer)
    return _move(args, backend, "redrive", source, destination, err)


def _list(args: argparse.Namespace, outputs: StackOutputs, backend: Backend, err: Console) -> int:
    stats: list[QueueStat] = []
    with err.status("Reading the dead-letter queues…"):
        for consumer in sorted(outputs.dead_letter_queues):
            stats.append(backend.stats(consumer, backend.dead_letter_queue(consumer)))
    if args.format == "json":
        document = {
            "broker": outputs.broker,
            "deadLetterQueues": [
                {
                    "consumer": s.consumer,
                    "queue": s.queue.address,
                    "messages": s.messages,
                    "inFlight": s.in_flight,
                    "oldestAgeSeconds": s.oldest_age_seconds,
                    "ageSource": s.age_source,
                }
                for s in stats
            ],
        }
        print(json.dumps(document, indent=2))
        return EXIT_OK
    table = Table(title=f"Dead-letter queues ({outputs.broker})")
    for column in ("consumer", "queue", "messages", "in flight", "oldest"):
        table.add_column(column, justify="right" if column in ("messages", "in flight") else "left")
    for s in stats:
        table.add_row(
            escape(s.consumer),
            escape(s.queue.address),
            str(s.messages),
            "-" if s.in_flight is None else str(s.in_flight),
            _age(s.oldest_age_seconds) + (f" ({s.age_source})" if s.age_source else ""),
        )
    Console(soft_wrap=True).print(table)
    return EXIT_OK


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _peek(args: argparse.Namespace, backend: Backend, source: Any) -> int:
    messages = peek(backend, source, args.max)
    if args.format == "json":
        document = {"queue": source.address, "messages": [m.summary() for m in messages]}
        print(json.dumps(document, indent=2))
        return EXIT_OK
    out = Console(soft_wrap=True)
    out.print(f"[bold]{escape(source.label)}[/]: {len(messages)} message(s) shown, none consumed.")
    for message in messages:
        summary = message.summary()
        out.print(
            f"\n[bold]event {escape(str(summary['eventId']))}[/] "
            f"type {escape(str(summary['eventType']))}  deliveries {summary['deliveries']}  "
            f"sent {summary['sentAt']}",
            highlight=False,
        )
        if message.reason:
            out.print(f"  reason: {escape(message.reason)}", highlight=False)
        if message.extra.get("source"):
            out.print(f"  source: {escape(str(message.extra['source']))}", highlight=False)
        out.print(f"  body: {escape(summary['body'][:2000])}", highlight=False)
    return EXIT_OK


def _purge(args: argparse.Namespace, backend: Backend, source: Any, err: Console) -> int:
    depth = backend.depth(source)
    # Kafka deletes nothing on request: a purge moves the ops group past the records, which
    # stay in the topic until its retention ends.
    keeps = getattr(backend, "purge_keeps_records", False)
    effect = (
        "skips for good (they stay in the topic until its retention ends, but no `eventinfra "
        "dlq` command shows or redrives them again)"
        if keeps
        else "deletes for good"
    )
    if not args.yes:
        if not sys.stdin.isatty():
            raise EventInfraError(
                f"Purging {source.label} {effect} {depth} message(s): pass --yes, "
                "because there is no terminal to confirm on."
            )
        verb = "Skip" if keeps else "Delete"
        answer = err.input(
            f"{verb} all {depth} message(s) in {escape(source.label)} ({escape(source.address)}) "
            "for good? Type 'yes': "
        )
        if answer.strip().lower() != "yes":
            err.print("Nothing was purged.")
            return EXIT_INCOMPLETE
    purged = backend.purge(source)
    if args.format == "json":
        document: dict[str, Any] = {"action": "purge", "queue": source.address, "purged": purged}
        if keeps:
            document["recordsKeptUntilRetention"] = True
        print(json.dumps(document))
    else:
        Console(soft_wrap=True).print(
            f"Purged {purged} message(s) from {escape(source.label)}"
            + (
                "; they stay in the topic until its retention ends, skipped by the ops group."
                if keeps
                else "."
            ),
            highlight=False,
        )
    return EXIT_OK


@contextlib.contextmanager
def _audit(path: Path | None, err: Console) -> Iterator[Audit]:
    if path is None:
        yield Audit(err.file)
    else:
        with Audit.to_file(path) as audit:
            yield audit


def _move(
    args: argparse.Namespace,
    backend: Backend,
    action: str,
    source: Any,
    destination: Any,
    err: Console,
) -> int:
    method = getattr(args, "method", "auto")
    use_task = action == "redrive" and hasattr(backend, "start_move_task")
    if method == "move-task" and (not use_task or args.max or args.dry_run):
        raise EventInfraError(
            "--method move-task needs an SQS stack and neither --max nor --dry-run, because "
            "SQS's message move task moves a whole queue and cannot preview."
        )
    stop = StopRequest()
    progress_bar = Progress(
        TextColumn(f"{action} {escape(source.label)} → {escape(destination.label)}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    )
    task_id = progress_bar.add_task(action, total=None)

    def progress(done: int, total: int | None) -> None:
        progress_bar.update(task_id, completed=done, total=total)

    with _audit(args.audit, err) as audit, stop_on_interrupt(stop), progress_bar:
        result: MoveResult | None = None
        if use_task and method != "receive" and not args.max and not args.dry_run:
            result = redrive_with_task(
                backend,
                source,
                destination,
                rate=args.rate,
                audit=audit,
                stop=stop,
                progress=progress,
            )
            if result is None and method == "move-task":
                raise EventInfraError(
                    "SQS answered that StartMessageMoveTask is not available here; use "
                    "--method receive."
                )
        fallback = (
            use_task and result is None and method == "auto" and not args.max and not args.dry_run
        )
        if result is None:
            result = move(
                backend,
                source,
                destination,
                action="redrive" if action == "redrive" else "replay",
                max_messages=args.max,
                rate=args.rate,
                dry_run=args.dry_run,
                audit=audit,
                stop=stop,
                method=_method_name(backend),
                progress=progress,
            )
            if fallback:
                result.notes.append(
                    "StartMessageMoveTask is not available here; moved by receive, send, delete."
                )
    _report(args, result, err)
    return EXIT_OK if result.complete else EXIT_INCOMPLETE


def _method_name(backend: Backend) -> str:
    named = getattr(backend, "move_method", None)
    if isinstance(named, str):
        return named
    return (
        "receive-send-delete" if hasattr(backend, "start_move_task") else "get-publish-confirm-ack"
    )


def _report(args: argparse.Namespace, result: MoveResult, err: Console) -> None:
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        out = Console(soft_wrap=True)
        verb = "Would move" if result.dry_run else "Moved"
        count = len(result.would_move) if result.dry_run else result.moved
        out.print(
            f"{verb} {count} message(s) from {escape(result.source.label)} to "
            f"{escape(result.destination.label)} ({result.method}).",
            highlight=False,
        )
        for note in result.notes:
            out.print(f"note: {escape(note)}", highlight=False)
    if result.stopped:
        err.print(
            f"[bold yellow]stopped:[/] {escape(result.stopped)} after {result.moved} "
            f"message(s); nothing was lost, run the command again to continue.",
            highlight=False,
        )
