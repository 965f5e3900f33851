"""Reads the topology and stack settings and reports every problem in them at once."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any, Final

import jsonschema
from pydantic import BaseModel

from eventinfra import physical_names
from eventinfra.aws import naming
from eventinfra.aws import validation as aws_rules
from eventinfra.config.messages import validate_model
from eventinfra.config.models import Consumer, Settings, Topology
from eventinfra.config.yaml_reader import YamlDocument, read_text_file, read_yaml
from eventinfra.contract import Finding, under
from eventinfra.errors import ConfigError, Problem
from eventinfra.kafka import validation as kafka_rules
from eventinfra.kafka.topics import topic_settings
from eventinfra.keypaths import KeyPath, format_key_path
from eventinfra.rabbitmq import validation as rabbitmq_rules

SETTINGS_KEY = "eventinfra:settings"


@dataclass(frozen=True)
class PlatformConfig:
    """A validated environment: its settings, its topology and the names they give."""

    stack: str
    settings: Settings
    topology: Topology
    topology_path: Path
    project_dir: Path | None = None
    """Every file the topology names must resolve inside it (default: the topology's folder)."""

    @property
    def prefix(self) -> str:
        return self.settings.name_prefix or self.stack

    @property
    def topology_dir(self) -> Path:
        return self.topology_path.parent

    def consumer_fifo(self, name: str) -> bool:
        consumer = self.topology.consumers[name]
        return self.topology.events[consumer.subscribes[0].event].fifo

    def unconsumed_events(self) -> list[str]:
        """Events no consumer subscribes to: they get a parking queue."""
        consumed = {
            s.event for consumer in self.topology.consumers.values() for s in consumer.subscribes
        }
        return [event for event in self.topology.events if event not in consumed]

    def max_receive_count(self, name: str) -> int:
        consumer = self.topology.consumers[name]
        return consumer.max_receive_count or self.settings.queues.max_receive_count

    def retention_seconds(self, name: str) -> int:
        consumer = self.topology.consumers[name]
        return consumer.message_retention_seconds or self.settings.queues.message_retention_seconds

    def visibility_timeout_seconds(self, name: str) -> int:
        """The consumer's own value, else enough for every Lambda retry, else the default."""
        consumer = self.topology.consumers[name]
        if consumer.visibility_timeout_seconds is not None:
            return consumer.visibility_timeout_seconds
        required = self.required_visibility_seconds(consumer)
        return max(required, self.settings.queues.visibility_timeout_seconds)

    def required_visibility_seconds(self, consumer: Consumer) -> int:
        if consumer.lambda_ is None:
            return 0
        return aws_rules.required_visibility_seconds(
            consumer.lambda_.timeout_seconds,
            consumer.lambda_.batch_window_seconds,
            self.settings.queues.visibility_multiplier,
        )


def topology_problem(config: PlatformConfig, key_path: KeyPath, message: str) -> Problem:
    """A problem found while planning (once a value from the cloud is known), placed at its file,
    line and key path in the topology as the loader places its own."""
    path = config.topology_path
    if not path.is_file():  # a config built from args has no topology file
        return Problem(None, format_key_path(key_path), message)
    return Problem(path, format_key_path(key_path), message, read_yaml(path).line_of(key_path))


def load_platform_config(
    settings_data: Any, *, stack: str, project_dir: Path, stack_file: Path | None = None
) -> PlatformConfig:
    """Validate an environment's settings and its topology; raise every problem at once."""
    settings_doc = _stack_document(stack_file)
    settings_base: KeyPath = ("config", SETTINGS_KEY)
    settings, problems = validate_model(Settings, settings_data, settings_doc, settings_base)
    if settings is None:
        if settings_doc is None and stack_file is not None:
            problems = [Problem(stack_file, p.key_path, p.message, p.line) for p in problems]
        raise ConfigError(problems)
    topology_path = (project_dir / settings.topology).resolve()
    if not topology_path.is_file():
        found = "which is a folder" if topology_path.is_dir() else "which does not exist"
        raise ConfigError(
            [
                Problem(
                    stack_file,
                    format_key_path((*settings_base, "topology")),
                    f"expected the path of a topology file (relative to {project_dir}), "
                    f"found {settings.topology!r}, {found}.",
                    settings_doc.line_of((*settings_base, "topology")) if settings_doc else None,
                )
            ]
        )

    def settings_problem(key_path: KeyPath, message: str) -> Problem:
        full = (*settings_base, *key_path)
        line = settings_doc.line_of(full) if settings_doc else None
        return Problem(stack_file, format_key_path(full), message, line)

    settings_problems = list(stack_settings_problems(settings, stack, settings_problem))
    doc = read_yaml(topology_path)
    topology, problems = validate_model(Topology, doc.data, doc, ())
    if topology is None:
        raise ConfigError(settings_problems + problems)
    config = PlatformConfig(stack, settings, topology, topology_path, project_dir.resolve())
    settings_problems += settings_topology_problems(settings, topology, settings_problem)
    problems = settings_problems + list(_cross_checks(config, doc))
    if problems:
        raise ConfigError(problems)
    return config


def stack_settings_problems(
    settings: Settings, stack: str, problem: Callable[[KeyPath, str], Problem]
) -> Iterator[Problem]:
    """Rules on the stack's settings that the model alone cannot say: the prefix per broker,
    alarm periods and AWS tags.

    `problem` places a message at a settings key path: in a stack file, or in component args.
    """

    def place(key: KeyPath, findings: list[Finding]) -> Iterator[Problem]:
        for finding in findings:
            yield problem((*key, *finding.key_path), finding.message)

    prefix = settings.name_prefix or stack
    prefix_key: KeyPath = ("name_prefix",)
    subject = f"the prefix {prefix!r}" + ("" if settings.name_prefix else " (the stack name)")
    if settings.broker in ("rabbitmq", "kafka"):
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", prefix):
            yield from place(
                prefix_key,
                [
                    Finding(
                        (),
                        f"expected a prefix of lowercase letters, digits and '-' (it names "
                        f"Kubernetes objects and the {_broker_names[settings.broker]}), "
                        f"found {subject}.",
                    )
                ],
            )
        elif settings.broker == "rabbitmq":
            yield from place(prefix_key, physical_names.rabbitmq_prefix_problems(prefix, stack))
        else:
            yield from place(prefix_key, physical_names.kafka_prefix_problems(prefix, stack))
        if settings.broker == "kafka":
            kafka = settings.kafka
            yield from place(
                ("kafka",),
                kafka_rules.cluster_settings_problems(
                    cpu=kafka.cpu,
                    memory=kafka.memory,
                    storage=kafka.storage,
                    storage_class=kafka.storage_class,
                    rack_topology_key=kafka.rack_topology_key,
                ),
            )
            yield from place(
                ("kafka", "redis_image"), rabbitmq_rules.image_problems(kafka.redis_image)
            )
        broker = settings.rabbitmq
        yield from place(
            ("rabbitmq",),
            rabbitmq_rules.broker_settings_problems(
                image=broker.image,
                redis_image=broker.redis_image,
                cpu=broker.cpu,
                memory=broker.memory,
                storage=broker.storage,
                storage_class=broker.storage_class,
                tls_secret=broker.tls_secret,
            ),
        )
    else:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", prefix):
            yield from place(
                prefix_key,
                [
                    Finding(
                        (),
                        "expected a prefix of letters, digits, '-' and '_' (it begins every "
                        f"SNS, SQS, Lambda and DynamoDB name), found {subject}.",
                    )
                ],
            )
        yield from place(("tags",), aws_rules.tag_problems(settings.tags, key=()))
    yield from place(("alarms",), aws_rules.alarm_period_problems(settings.alarms.period_seconds))
    for key_path, used_by in unused_settings(settings):
        yield problem(
            key_path,
            f"is set, but broker {settings.broker!r} does not use it (it applies to {used_by}); "
            "expected no such key, since its value would be ignored.",
        )


# The settings each broker reads beside `broker`, `topology` and `name_prefix`: a section maps
# to None when the broker reads all of it, else to the keys it reads.
_SETTINGS_READ: Final[dict[str, dict[str, frozenset[str] | None]]] = {
    "sns-sqs": dict.fromkeys(
        ("queues", "alarms", "log_retention_days", "protect", "tags", "tracing")
    ),
    "rabbitmq": {
        "rabbitmq": None,
        "queues": frozenset({"max_receive_count"}),
        "alarms": frozenset({"queue_age_seconds"}),
    },
    # The Kafka consumer runtime's attempts at a record before dead-lettering it.
    "kafka": {"kafka": None, "queues": frozenset({"max_receive_count"})},
}
_COMMON_SETTINGS: Final = frozenset({"broker", "topology", "name_prefix"})


def unused_settings(settings: Settings) -> Iterator[tuple[KeyPath, str]]:
    """Each key set in the stack settings that its broker never reads, with who does."""
    read = _SETTINGS_READ[settings.broker]
    for key in sorted(settings.model_fields_set - _COMMON_SETTINGS):
        if key not in read:
            users = [broker for broker, keys in _SETTINGS_READ.items() if key in keys]
            yield (key,), " and ".join(f"broker {b!r}" for b in users)
            continue
        keys = read[key]
        section = getattr(settings, key)
        if keys is None or not isinstance(section, BaseModel):
            continue
        for nested in sorted(section.model_fields_set - keys):
            yield (key, nested), "broker 'sns-sqs'"


def settings_topology_problems(
    settings: Settings, topology: Topology, problem: Callable[[KeyPath, str], Problem]
) -> Iterator[Problem]:
    """Rules on the stack's settings that name the topology's events: `kafka.topics` may only
    configure declared events.

    `problem` places a message at a settings key path: in a stack file, or in component args.
    """
    if settings.broker == "kafka":
        for finding in kafka_rules.topic_settings_problems(settings.kafka.topics, topology.events):
            yield problem(("kafka", "topics", *finding.key_path), finding.message)


_broker_names = {"rabbitmq": "RabbitMQ vhost", "kafka": "Kafka cluster and users"}


def _stack_document(stack_file: Path | None) -> YamlDocument | None:
    if stack_file is None or not stack_file.is_file():
        return None
    return read_yaml(stack_file)


def _cross_checks(config: PlatformConfig, doc: YamlDocument) -> Iterator[Problem]:
    def problem(key_path: KeyPath, message: str) -> Problem:
        return Problem(doc.path, format_key_path(key_path), message, doc.line_of(key_path))

    return cross_check_problems(config, problem)


def cross_check_problems(
    config: PlatformConfig, problem: Callable[[KeyPath, str], Problem]
) -> Iterator[Problem]:
    """Every rule that spans keys, or reaches out to AWS limits and the file system.

    `problem` places a message at a topology key path: in a file, or in component args.
    """
    topology = config.topology

    def problems(base: KeyPath, findings: list[Finding]) -> Iterator[Problem]:
        """The components' own rules, placed in the YAML under `base`."""
        for finding in findings:
            yield problem((*base, *finding.key_path), finding.message)

    declared = ", ".join(repr(e) for e in topology.events)
    if config.settings.broker == "rabbitmq":
        yield from problems((), physical_names.rabbitmq_name_problems(config))
    elif config.settings.broker == "kafka":
        yield from problems((), physical_names.kafka_name_problems(config))
        yield from _kafka_problems(config, problem)
    else:
        yield from problems((), physical_names.aws_name_problems(config))
    for event_name, event in topology.events.items():
        topic = naming.topic_name(config.prefix, event_name, event.fifo)
        yield from problems(
            ("events", event_name), aws_rules.topic_name_problems(topic, fifo=event.fifo)
        )
        if event.payload_schema is not None:
            schema_key: KeyPath = ("events", event_name, "schema")
            located = project_file(config, event.payload_schema, "a JSON Schema file", "file")
            if isinstance(located, str):
                yield problem(schema_key, located)
            else:
                yield from (problem(schema_key, message) for message in schema_problems(located))
    for event_name in config.unconsumed_events():
        fifo = topology.events[event_name].fifo
        parking = naming.parking_queue_name(config.prefix, event_name, fifo)
        yield from problems(
            ("events", event_name),
            aws_rules.queue_name_problems(
                parking, fifo=fifo, subject="has no consumer, so it gets the parking queue"
            ),
        )

    for producer_name, producer in topology.producers.items():
        seen: set[str] = set()
        for index, event_name in enumerate(producer.publishes):
            key = ("producers", producer_name, "publishes", index)
            if event_name not in topology.events:
                yield problem(
                    key,
                    f"expected a declared event ({declared}), found {event_name!r}.",
                )
            if event_name in seen:
                yield problem(key, f"lists {event_name!r} twice; expected each event once.")
            seen.add(event_name)
        if producer_name in topology.consumers:
            yield problem(
                ("producers", producer_name),
                f"is also the name of a consumer; expected distinct names, as each gets its "
                f"own credentials (found {producer_name!r} in both).",
            )

    for consumer_name, consumer in topology.consumers.items():
        yield from _consumer_problems(config, consumer_name, consumer, declared, problem)
    if config.settings.broker == "rabbitmq":
        for name, consumer in topology.consumers.items():
            for index, subscription in enumerate(consumer.subscribes):
                yield from problems(
                    ("consumers", name, "subscribes", index, "filter"),
                    rabbitmq_rules.filter_problems(subscription.filter),
                )


def _kafka_problems(
    config: PlatformConfig, problem: Callable[[KeyPath, str], Problem]
) -> Iterator[Problem]:
    """The kafka broker's rules: topic names, filters, and replicas a group can use.

    `kafka.topics` (stack settings) naming undeclared events is reported by the loader, in
    the stack file."""
    topology, kafka = config.topology, config.settings.kafka
    for finding in kafka_rules.topic_problems(topology.events, topology.consumers):
        yield problem(finding.key_path, finding.message)
    applications: dict[str, Collection[str]] = {
        "producers": list(topology.producers),
        "consumers": list(topology.consumers),
    }
    for finding in kafka_rules.reserved_name_problems(applications):
        yield problem(finding.key_path, finding.message)
    for name, consumer in topology.consumers.items():
        for index, subscription in enumerate(consumer.subscribes):
            for finding in kafka_rules.filter_problems(subscription.filter):
                yield problem(("consumers", name, "subscribes", index, "filter"), finding.message)
        if consumer.container is None or consumer.runtime != "container":
            continue
        partitions = {
            s.event: topic_settings(kafka, s.event).partitions
            for s in consumer.subscribes
            if s.event in topology.events
        }
        for finding in kafka_rules.max_replicas_problems(
            consumer.container.replicas.max, partitions
        ):
            yield problem(("consumers", name, "container", *finding.key_path), finding.message)


def _consumer_problems(
    config: PlatformConfig,
    name: str,
    consumer: Consumer,
    declared: str,
    problem: Any,
) -> Iterator[Problem]:
    topology = config.topology
    base: KeyPath = ("consumers", name)
    events = topology.events
    seen: set[str] = set()
    fifo_events: list[str] = []
    standard_events: list[str] = []
    for index, subscription in enumerate(consumer.subscribes):
        key = (*base, "subscribes", index)
        if subscription.event not in events:
            yield problem(
                (*key, "event"),
                f"expected a declared event ({declared}), found {subscription.event!r}.",
            )
            continue
        if subscription.event in seen:
            yield problem(
                (*key, "event"), f"subscribes to {subscription.event!r} twice; expected once."
            )
        seen.add(subscription.event)
        (fifo_events if events[subscription.event].fifo else standard_events).append(
            subscription.event
        )
        if subscription.filter is not None and config.settings.broker == "sns-sqs":
            for finding in [
                *aws_rules.filter_policy_problems(subscription.filter),
                *aws_rules.filter_rule_problems(subscription.filter),
            ]:
                yield problem((*key, "filter", *finding.key_path), finding.message)

    if fifo_events and standard_events:
        yield problem(
            (*base, "subscribes"),
            f"mixes FIFO events ({', '.join(fifo_events)}) with standard events "
            f"({', '.join(standard_events)}); expected one kind, as a queue is either FIFO "
            "or standard.",
        )
    elif consumer.fifo is not None and (fifo_events or standard_events):
        events_fifo = bool(fifo_events)
        if consumer.fifo != events_fifo:
            kind = "FIFO" if events_fifo else "standard"
            yield problem(
                (*base, "fifo"),
                f"expected {str(events_fifo).lower()}, as its events are {kind}, "
                f"found {str(consumer.fifo).lower()}.",
            )
    fifo = bool(fifo_events)

    findings: list[Finding] = []
    for queue in (
        naming.queue_name(config.prefix, name, fifo),
        naming.dead_letter_queue_name(config.prefix, name, fifo),
    ):
        findings += aws_rules.queue_name_problems(
            queue, fifo=fifo, detail=f" with the prefix {config.prefix!r}"
        )
    findings += aws_rules.retention_problems(config.retention_seconds(name))
    for finding in findings:
        yield problem((*base, *finding.key_path), finding.message)

    yield from _runtime_problems(config, name, consumer, fifo, problem)


def _runtime_problems(
    config: PlatformConfig, name: str, consumer: Consumer, fifo: bool, problem: Any
) -> Iterator[Problem]:
    settings = config.settings
    base: KeyPath = ("consumers", name)
    broker_runtimes = {
        "sns-sqs": ("lambda", "external"),
        "rabbitmq": ("container", "external"),
        "kafka": ("container", "external"),
    }
    allowed = broker_runtimes[settings.broker]
    if consumer.runtime not in allowed:
        yield problem(
            (*base, "runtime"),
            f"expected one of {', '.join(allowed)} on the {settings.broker!r} broker, "
            f"found {consumer.runtime!r}.",
        )
    blocks = {"lambda": consumer.lambda_, "container": consumer.container}
    for runtime, block in blocks.items():
        if consumer.runtime == runtime and block is None:
            yield problem(
                base,
                f"has runtime {runtime!r} but no {runtime!r} block; expected one describing "
                f"the {runtime} (see the README's config reference).",
            )
        if consumer.runtime != runtime and block is not None:
            yield problem(
                (*base, runtime),
                f"is set, but runtime is {consumer.runtime!r}; expected either runtime "
                f"{runtime!r} or no {runtime!r} block, not both.",
            )

    container = consumer.container
    if container is not None and consumer.runtime == "container":
        for finding in rabbitmq_rules.container_problems(
            image=container.image,
            env=container.env,
            cpu=container.resources.cpu,
            memory=container.resources.memory,
            min_replicas=container.replicas.min,
            max_replicas=container.replicas.max,
        ):
            yield problem((*base, "container", *finding.key_path), finding.message)

    function = consumer.lambda_
    if function is None or consumer.runtime != "lambda":
        return
    key = (*base, "lambda")
    code_dir = project_file(config, function.code, "a folder with the function's code", "folder")
    if isinstance(code_dir, str):
        yield problem((*key, "code"), code_dir)
    else:
        for finding in aws_rules.handler_problems(code_dir, function.handler, function.runtime):
            yield problem((*key, *finding.key_path), finding.message)
    # The function's name is derived from the consumer's, so its length is the consumer's
    # problem; the batching rules speak of keys inside the `lambda` block.
    findings = aws_rules.function_name_problems(naming.function_name(config.prefix, name))
    findings += under(
        ("lambda",),
        aws_rules.batching_problems(
            batch_size=function.batch_size,
            batch_window_seconds=function.batch_window_seconds,
            fifo=fifo,
        ),
    )
    findings += under(("lambda",), aws_rules.runtime_problems(function.runtime))
    # Counted toward Lambda's 4 KB: what EventConsumer adds for eventinfra-runtime (the queue
    # URL is unknown here; its longest form is counted).
    events = {
        s.event: {"destination": None, "schema_version": "1", "fifo": fifo,
                  "group_key": config.topology.events[s.event].group_key}
        for s in consumer.subscribes
    }  # fmt: skip
    added = {
        "EVENTINFRA_BROKER": "sns",
        "EVENTINFRA_SERVICE": name,
        "EVENTINFRA_EVENTS": json.dumps(events, sort_keys=True, separators=(",", ":")),
        "EVENTINFRA_SCHEMAS_DIR": "/var/task/eventinfra_schemas",
        "EVENTINFRA_DEAD_LETTER_QUEUE_URL": "https://sqs.xx-xxxxxxxxx-1.amazonaws.com/"
        f"123456789012/{naming.dead_letter_queue_name(config.prefix, name, fifo)}",
    }
    if consumer.idempotency.enabled:
        added["EVENTINFRA_IDEMPOTENCY_TABLE"] = f"{config.prefix}-{name}-idempotency"
        added["EVENTINFRA_IDEMPOTENCY_TTL_SECONDS"] = str(consumer.idempotency.ttl_seconds)
        if consumer.idempotency.key:
            added["EVENTINFRA_IDEMPOTENCY_KEY"] = consumer.idempotency.key
    findings += under(("lambda",), aws_rules.environment_problems(function.environment, added))
    findings += aws_rules.visibility_problems(
        consumer.visibility_timeout_seconds,
        timeout_seconds=function.timeout_seconds,
        batch_window_seconds=function.batch_window_seconds,
        function_key=("lambda",),
        multiplier=settings.queues.visibility_multiplier,
    )
    for finding in findings:
        yield problem((*base, *finding.key_path), finding.message)


def project_file(config: PlatformConfig, relative: str, what: str, kind: str) -> Path | str:
    """A path the topology names, resolved (symlinks too) and kept inside the project folder;
    or the sentence saying why it cannot be used."""
    project = config.project_dir or config.topology_dir
    if PurePath(relative).is_absolute() or PureWindowsPath(relative).is_absolute():
        return (
            f"expected {what} relative to the topology file, found the absolute path {relative!r}."
        )
    try:
        path = (config.topology_dir / relative).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return f"expected {what}, found {relative!r}, which cannot be resolved (a symlink loop?)."
    if not path.is_relative_to(project):
        return (
            f"expected {what} inside the project folder {project}, found {relative!r}, which "
            "resolves outside it."
        )
    if not path.exists():
        return (
            f"expected {what} (relative to {config.topology_dir}), found {relative!r}, "
            "which does not exist."
        )
    if kind == "file" and not path.is_file():
        return f"expected {what}, found {relative!r}, which is a folder."
    if kind == "folder" and not path.is_dir():
        return f"expected {what}, found {relative!r}, which is a file."
    return path


def schema_problems(path: Path) -> list[str]:
    """The schema file's problems; never its content (a value from it could be a secret)."""
    try:
        text = read_text_file(path, "a JSON Schema file")
    except ConfigError as error:
        return [f"expected a JSON Schema, but {path} {error.problems[0].message}"]
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        return [
            f"expected a JSON Schema, but {path} is not JSON: {error.msg} (line {error.lineno}, "
            f"column {error.colno})."
        ]
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as error:
        return [
            f"expected a valid JSON Schema in {path}: the value at {error.json_path} breaks the "
            f"metaschema's {error.validator!r} rule."
        ]
    return []
