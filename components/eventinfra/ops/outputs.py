"""Where the queues are: a stack's outputs, read from `pulumi stack output --json` or its file."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from eventinfra.errors import EventInfraError, problem_list
from eventinfra.rabbitmq import naming as rabbitmq_naming

__all__ = ["Broker", "StackOutputs", "load_outputs", "parse_outputs"]

Broker = Literal["sns-sqs", "rabbitmq", "kafka"]

# The output names the example program (__main__.py) exports. One table per broker: a new
# output (say `dead_letter_queue_urls`) is one more line here and one more field below.
AWS_OUTPUTS: Final = {
    "queue_urls": "queue_urls",
    "queue_arns": "queue_arns",
    "dead_letter_queue_arns": "dead_letter_queue_arns",
    # Not exported yet: when the platform adds it, the URLs are used instead of a GetQueueUrl call.
    "dead_letter_queue_urls": "dead_letter_queue_urls",
    "parking_queue_urls": "parking_queue_urls",
    "topic_arns": "topic_arns",
}
AWS_REQUIRED: Final = ("queue_urls", "queue_arns", "dead_letter_queue_arns")
RABBITMQ_OUTPUTS: Final = {
    "vhost": "vhost",
    "queues": "queues",
    "dead_letter_queues": "dead_letter_queues",
    "exchanges": "exchanges",
    # Not exported yet; without it the parking queue's name follows rabbitmq/naming.py.
    "parking_queues": "parking_queues",
    "credential_secrets": "credential_secrets",
    "rabbitmq_cluster": "rabbitmq_cluster",
    "namespace": "namespace",
}
RABBITMQ_REQUIRED: Final = ("vhost", "queues", "dead_letter_queues", "exchanges")
# A Kafka consumer's "queue" is its retry topic: the one topic it alone reads, where a redrive
# writes (a record sent back to the event's topic would reach every consumer group again).
KAFKA_MAPS: Final = ("dead_letter_topics", "retry_topics")
KAFKA_STRINGS: Final = ("bootstrap", "ops_group")
PULUMI_TIMEOUT_SECONDS: Final = 120


@dataclass(frozen=True)
class StackOutputs:
    """The queue names and addresses the ops commands need, by consumer and by event."""

    broker: Broker
    source: str
    """Where the outputs came from (a file name, or `pulumi stack output`), for messages."""
    queues: Mapping[str, str]
    """Consumer -> its queue: an SQS URL, or a RabbitMQ queue name."""
    dead_letter_queues: Mapping[str, str]
    """Consumer -> its DLQ: an SQS ARN (or URL when the stack exports URLs), or a queue name."""
    parking_queues: Mapping[str, str]
    """Event -> its parking queue: an SQS URL, or a RabbitMQ queue name."""
    queue_arns: Mapping[str, str] = field(default_factory=dict)
    topic_arns: Mapping[str, str] = field(default_factory=dict)
    vhost: str | None = None
    credential_secrets: Mapping[str, str] = field(default_factory=dict)
    rabbitmq_cluster: str | None = None
    namespace: str | None = None
    kafka_bootstrap: str | None = None
    """Kafka: the cluster's bootstrap address as planned (in-cluster)."""
    ops_group: str | None = None
    """Kafka: the group whose committed offsets mark how far each dead-letter topic is taken."""
    ops_secret: str | None = None
    """Kafka: the Secret with the ops user's credentials."""

    def consumer(self, name: str) -> str:
        """`name` itself, once it is known to be a consumer of this stack."""
        if name not in self.queues:
            raise EventInfraError(
                f"Consumer {name!r} is not in the stack's outputs ({self.source}); expected one "
                f"of {sorted(self.queues)!r}."
            )
        return name

    def parking_queue(self, event: str) -> str:
        if event not in self.parking_queues:
            raise EventInfraError(
                f"Event {event!r} has no parking queue in the stack's outputs ({self.source}); "
                f"events with one: {sorted(self.parking_queues)!r}."
            )
        return self.parking_queues[event]


def load_outputs(
    files: Sequence[Path], *, stack: str | None = None, cwd: Path | None = None
) -> StackOutputs:
    """Merge the saved output files (later files win per key), or ask the Pulumi CLI."""
    if files:
        merged: dict[str, Any] = {}
        for file in files:
            for key, value in _read_file(file).items():
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
        return parse_outputs(merged, ", ".join(str(f) for f in files))
    return parse_outputs(_run_pulumi(stack, cwd), "`pulumi stack output --json`")


def _read_file(file: Path) -> dict[str, Any]:
    if file.is_dir():
        raise EventInfraError(
            f"{file}: the stack outputs file is a folder; expected the JSON file that "
            "`pulumi stack output --json` prints."
        )
    if not file.exists():
        raise EventInfraError(f"The stack outputs file {file} does not exist.")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise EventInfraError(
            f"{file}: the stack outputs file is not UTF-8 text (invalid byte at offset "
            f"{error.start}); expected the JSON that `pulumi stack output --json` prints."
        ) from None
    except OSError as error:
        raise EventInfraError(
            f"Cannot read the stack outputs file {file}: {error.strerror or error}."
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise EventInfraError(
            f"{file}:{error.lineno}: expected the JSON that `pulumi stack output --json` prints, "
            f"but it does not parse: {error.msg}."
        ) from None
    if not isinstance(document, dict):
        raise EventInfraError(
            f"{file}: expected a JSON object of stack outputs (`pulumi stack output --json`), "
            f"but found a {type(document).__name__}."
        )
    return document


def _run_pulumi(stack: str | None, cwd: Path | None) -> dict[str, Any]:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise EventInfraError(
            "Expected --outputs FILE (saved with `pulumi stack output --json > FILE`), because "
            "the Pulumi CLI is not on the PATH to read the stack's outputs."
        )
    command = [pulumi, "stack", "output", "--json", *(["--stack", stack] if stack else [])]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=PULUMI_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EventInfraError(f"`{' '.join(command[1:])}` could not run: {error}.") from None
    if done.returncode != 0:
        raise EventInfraError(
            f"`pulumi {' '.join(command[1:])}` exited with {done.returncode}: "
            f"{done.stderr.strip() or done.stdout.strip()}"
        )
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise EventInfraError(
            f"`pulumi stack output --json` printed something that is not JSON: {error.msg}."
        ) from None
    if not isinstance(document, dict):
        raise EventInfraError("`pulumi stack output --json` printed no JSON object of outputs.")
    return document


def parse_outputs(document: Mapping[str, Any], source: str) -> StackOutputs:
    """Which broker the outputs describe, and its queue maps; every problem raised once."""
    if "queue_urls" in document:
        return _aws(document, source)
    if "queues" in document and "vhost" in document:
        return _rabbitmq(document, source)
    if "kafka_cluster" in document:
        return _kafka(document, source)
    raise EventInfraError(
        f"{source}: expected the outputs of an eventinfra stack (`queue_urls` for SNS/SQS, "
        f"`queues` and `vhost` for RabbitMQ, or `kafka_cluster` for Kafka), but found the keys "
        f"{sorted(document)!r}."
    )


def _aws(document: Mapping[str, Any], source: str) -> StackOutputs:
    problems: list[str] = []
    maps = {
        key: _string_map(document, name, problems, required=key in AWS_REQUIRED)
        for key, name in AWS_OUTPUTS.items()
    }
    if problems:
        raise EventInfraError(problem_list(f"the stack outputs ({source})", problems))
    dead_letters = {**maps["dead_letter_queue_arns"], **maps["dead_letter_queue_urls"]}
    return StackOutputs(
        broker="sns-sqs",
        source=source,
        queues=maps["queue_urls"],
        dead_letter_queues=dead_letters,
        parking_queues=maps["parking_queue_urls"],
        queue_arns=maps["queue_arns"],
        topic_arns=maps["topic_arns"],
    )


def _rabbitmq(document: Mapping[str, Any], source: str) -> StackOutputs:
    problems: list[str] = []
    vhost = document.get("vhost")
    if not isinstance(vhost, str) or not vhost:
        problems.append(f"`vhost` must be the virtual host's name, but it is {vhost!r}.")
    maps = {
        key: _string_map(document, name, problems, required=key in RABBITMQ_REQUIRED)
        for key, name in RABBITMQ_OUTPUTS.items()
        if key not in ("vhost", "rabbitmq_cluster", "namespace")
    }
    if problems:
        raise EventInfraError(problem_list(f"the stack outputs ({source})", problems))
    parking = {event: rabbitmq_naming.parking_queue(event) for event in maps["exchanges"]} | maps[
        "parking_queues"
    ]
    cluster = document.get("rabbitmq_cluster")
    namespace = document.get("namespace")
    return StackOutputs(
        broker="rabbitmq",
        source=source,
        queues=maps["queues"],
        dead_letter_queues=maps["dead_letter_queues"],
        parking_queues=parking,
        vhost=str(vhost),
        credential_secrets=maps["credential_secrets"],
        rabbitmq_cluster=cluster if isinstance(cluster, str) else None,
        namespace=namespace if isinstance(namespace, str) else None,
    )


def _kafka(document: Mapping[str, Any], source: str) -> StackOutputs:
    problems: list[str] = []
    # Without `retry_topics` the stack predates them: say so rather than "missing".
    maps = {
        name: _string_map(document, name, problems, required=name != "retry_topics")
        for name in KAFKA_MAPS
    }
    for name in KAFKA_STRINGS:
        value = document.get(name)
        if not isinstance(value, str) or not value:
            problems.append(f"`{name}` must be a non-empty string, but it is {value!r}.")
    if document.get("retry_topics") is None:
        problems.append(
            "`retry_topics` is missing: the stack was deployed before eventinfra gave each "
            "Kafka consumer a retry topic; run `pulumi up`, then save the outputs again."
        )
    if problems:
        raise EventInfraError(problem_list(f"the stack outputs ({source})", problems))
    missing = sorted(set(maps["dead_letter_topics"]) - set(maps["retry_topics"]))
    if missing:
        raise EventInfraError(
            f"the stack outputs ({source}): `retry_topics` must name every consumer of "
            f"`dead_letter_topics`, but it lacks {missing!r}."
        )
    secret = document.get("ops_secret")
    namespace = document.get("namespace")
    return StackOutputs(
        broker="kafka",
        source=source,
        queues=maps["retry_topics"],
        dead_letter_queues=maps["dead_letter_topics"],
        parking_queues={},
        namespace=namespace if isinstance(namespace, str) else None,
        kafka_bootstrap=str(document["bootstrap"]),
        ops_group=str(document["ops_group"]),
        ops_secret=secret if isinstance(secret, str) else None,
    )


def _string_map(
    document: Mapping[str, Any], name: str, problems: list[str], *, required: bool
) -> dict[str, str]:
    value = document.get(name)
    if value is None:
        if required:
            problems.append(f'`{name}` is missing; expected an object like {{"orders": "…"}}.')
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        problems.append(f"`{name}` must map names to strings, but it is {value!r}.")
        return {}
    return dict(value)
