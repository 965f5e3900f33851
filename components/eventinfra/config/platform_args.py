"""The platforms' shared language-neutral args and their one road to a validated PlatformConfig."""

# No `from __future__ import annotations` here: Pulumi's component analyzer reads these
# annotations at run time and cannot follow string annotations.

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import pulumi

from eventinfra.config.loader import (
    PlatformConfig,
    cross_check_problems,
    settings_topology_problems,
    stack_settings_problems,
)
from eventinfra.config.messages import validate_model
from eventinfra.config.models import Settings, Topology
from eventinfra.errors import ConfigError, Problem
from eventinfra.keypaths import KeyPath, format_key_path

# Every field below is plain (not `pulumi.Input`): the topology decides which resources exist,
# so it must be known, and validated, before any resource is declared. The analyzer marks
# plain fields `plain: true`, so generated SDKs take plain values too.
#
# The schema names a type by its class name alone, so every class here carries a `Platform`
# prefix: a building block's Args of the same name would otherwise collide with it.


class PlatformEventArgs(TypedDict):
    """An event type: one SNS topic, RabbitMQ exchange or Kafka topic."""

    description: NotRequired[str]
    """What the event means, for readers of the topology."""
    schema: NotRequired[str]
    """JSON Schema file of the payload, relative to `baseDirectory`."""
    fifo: NotRequired[bool]
    """Ordered, deduplicated delivery (on SNS/SQS a FIFO topic); default false."""
    group_key: NotRequired[str]
    """For a FIFO event: the payload field whose value is the message group."""


class PlatformIdempotencyArgs(TypedDict):
    """The consumer's idempotency store: processed-message records that expire."""

    enabled: NotRequired[bool]
    """Default true; turning it off is a deliberate, policy-visible choice."""
    key: NotRequired[str]
    """Payload field (JMESPath) that identifies a message; default: the whole payload."""
    ttl_seconds: NotRequired[int]
    """How long a processed message is remembered, 1 second to 1 year."""


class PlatformClusterProducerArgs(TypedDict):
    """A service that publishes events on a broker in Kubernetes; the platform creates its
    user and a Secret with its credentials."""

    publishes: list[str]
    """The events it publishes (names from `events`)."""


class ClusterConsumerRuntime(StrEnum):
    """Where a consumer on a broker in Kubernetes runs its code."""

    CONTAINER = "container"
    """A Deployment the platform creates, autoscaled by KEDA; give `container`."""
    EXTERNAL = "external"
    """Somewhere else: the platform creates its queue or group and credentials only."""


class PlatformContainerResourcesArgs(TypedDict):
    """CPU and memory of each replica; requests equal limits."""

    cpu: str
    """A CPU quantity, like `250m`."""
    memory: str
    """A memory quantity, like `256Mi`."""


class PlatformReplicasArgs(TypedDict):
    """How far KEDA may scale the consumer."""

    min: NotRequired[int]
    """Fewest replicas, 0 to 1,000 (0 scales to zero when nothing waits); default 1."""
    max: NotRequired[int]
    """Most replicas, 1 to 1,000; default 10."""


class PlatformContainerArgs(TypedDict):
    """A container consumer: a Deployment of one image, autoscaled by KEDA."""

    image: str
    """An image pinned by tag or digest, like `ghcr.io/acme/mailer:1.4.2` (not `latest`)."""
    resources: PlatformContainerResourcesArgs
    """CPU and memory of each replica."""
    command: NotRequired[list[str]]
    """The command, like `[python, -m, mailer]`; default: the image's entrypoint."""
    env: NotRequired[dict[str, str]]
    """Environment variables; the names eventinfra sets itself (`EVENTINFRA_*`) are refused."""
    replicas: NotRequired[PlatformReplicasArgs]
    """How far KEDA may scale it."""
    target_queue_length: NotRequired[int]
    """Messages waiting per replica KEDA scales toward (the queue length on RabbitMQ, the
    group's lag on Kafka), 1 to 100,000; default 20."""
    port: NotRequired[int]
    """The port of its health and metrics endpoint, 1 to 65,535; default 8080."""


@dataclass(frozen=True)
class ArgsSpec:
    """What tells one platform's args apart: their root type, their broker and their words."""

    root: type
    """The platform's Args TypedDict: the schema names and types of every key."""
    broker: Literal["sns-sqs", "rabbitmq", "kafka"]
    """The settings' broker."""
    source: str
    """Stands for the topology file in the config and in messages: the args' type name."""
    planned: str
    """What the platform plans from the args, like `topics, queues and functions`."""


# The topology file's `lambda` is a Python keyword, so the args call it `lambda_function`.
_FILE_NAMES = {"lambda_function": "lambda"}
_ARGS_NAMES = {file: args for args, file in _FILE_NAMES.items()}
_TOPOLOGY_KEYS = frozenset(Topology.model_fields)


def config_from_args(args: Mapping[str, Any], spec: ArgsSpec, *, stack: str) -> PlatformConfig:
    """Validate the args through the topology and settings models; raise every problem once.

    Problems name their key path in the args, with the schema's camelCase names
    (`consumers.welcome-email.lambdaFunction.timeoutSeconds`).
    """
    problems = list(_output_problems(args, (), spec))
    if problems:
        raise ConfigError(problems)

    def rename(key_path: KeyPath) -> KeyPath:
        return _args_key_path(key_path, spec.root)

    def problem(key_path: KeyPath, message: str) -> Problem:
        return problem_in_args(spec, key_path, message)

    # Keys the args do not declare are refused, not passed on: the models know settings of
    # other brokers (`queues.visibilityMultiplier`) that would otherwise be taken silently.
    unknown: list[KeyPath] = []
    data = _file_shape(args, spec.root, unknown)
    problems += [
        Problem(
            None,
            format_key_path(rename(key_path)),
            "is not a known key; expected one of: "
            f"{', '.join(sorted(_expected_keys(key_path, spec.root)))}.",
        )
        for key_path in unknown
    ]
    base_directory = Path(str(args.get("base_directory") or Path.cwd())).resolve()
    settings_data = {
        key: value
        for key, value in data.items()
        if key not in _TOPOLOGY_KEYS and key != "base_directory"
    }
    settings_data.update(broker=spec.broker, topology=spec.source)
    settings, settings_problems = validate_model(Settings, settings_data, None, (), rename=rename)
    topology_data = {key: value for key, value in data.items() if key in _TOPOLOGY_KEYS}
    topology, topology_problems = validate_model(Topology, topology_data, None, (), rename=rename)

    problems += settings_problems
    if settings is not None:
        problems += stack_settings_problems(settings, stack, problem)
    problems += topology_problems
    if problems or settings is None or topology is None:
        raise ConfigError(problems)
    problems += settings_topology_problems(settings, topology, problem)
    # Only the parent of `topology_path` is read: relative paths resolve in `base_directory`,
    # and every file the args name must resolve inside it.
    config = PlatformConfig(stack, settings, topology, base_directory / spec.source, base_directory)
    problems += cross_check_problems(config, problem)
    if problems:
        raise ConfigError(problems)
    return config


def problem_in_args(spec: ArgsSpec, key_path: KeyPath, message: str) -> Problem:
    """A problem at a topology or settings key path, named as the args name it (camelCase)."""
    return Problem(None, format_key_path(_args_key_path(key_path, spec.root)), message)


def _output_problems(value: Any, key_path: KeyPath, spec: ArgsSpec) -> list[Problem]:
    """Outputs anywhere in the args: their values are unknown while the platform is planned."""
    if isinstance(value, pulumi.Output):
        return [
            Problem(
                None,
                format_key_path(_args_key_path(key_path, spec.root)) or spec.source,
                "is an Output, a value known only during deployment; expected a plain value, "
                f"because the platform's {spec.planned} are planned from it before anything "
                "is created.",
            )
        ]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _output_problems(v, (*key_path, k), spec)]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _output_problems(v, (*key_path, i), spec)]
    return []


def _file_shape(args: Mapping[str, Any], root: type, unknown: list[KeyPath]) -> dict[str, Any]:
    """The args in the topology file's shape: its key names, enums as their values.

    Keys a TypedDict does not declare are left out, and their key paths added to `unknown`.
    """
    shaped: dict[str, Any] = _reshape(args, root, (), unknown)
    return shaped


def _reshape(value: Any, annotation: Any, key_path: KeyPath, unknown: list[KeyPath]) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if annotation is int and isinstance(value, float) and value.is_integer():
        # Numbers cross the engine as floats, and pulumi 3.272's provider maps nested integer
        # inputs back to `int` and then overwrites them with the float (component.py,
        # `map_input_properties`): the integer fields take whole floats as integers here.
        return int(value)
    if isinstance(value, Mapping):
        if typing.is_typeddict(annotation):
            fields = typing.get_type_hints(annotation)
            unknown += [(*key_path, k) for k in value if k not in fields]
            return {
                _FILE_NAMES.get(k, k): _reshape(v, fields[k], (*key_path, k), unknown)
                for k, v in value.items()
                if k in fields
            }
        item = _item_annotation(annotation, 1)
        return {k: _reshape(v, item, (*key_path, k), unknown) for k, v in value.items()}
    if isinstance(value, list | tuple):
        item = _item_annotation(annotation, 0)
        return [_reshape(v, item, (*key_path, i), unknown) for i, v in enumerate(value)]
    return value


def _expected_keys(key_path: KeyPath, root: type) -> list[str]:
    """The schema names of the keys the TypedDict holding `key_path`'s last key declares."""
    annotation: Any = root
    for segment in key_path[:-1]:
        if isinstance(segment, int):
            annotation = _item_annotation(annotation, 0)
        elif typing.is_typeddict(annotation):
            annotation = typing.get_type_hints(annotation)[segment]
        else:
            annotation = _item_annotation(annotation, 1)
    return [_camel_case(k) for k in typing.get_type_hints(annotation)]


def _item_annotation(annotation: Any, index: int) -> Any:
    """The value type of `dict[str, X]` (index 1) or the item type of `list[X]` (index 0)."""
    type_args = typing.get_args(annotation)
    return type_args[index] if len(type_args) > index else None


def _args_key_path(key_path: KeyPath, root: type) -> KeyPath:
    """A topology or settings key path in the args' schema names.

    Walks the args' TypedDicts along the path: field names become camelCase, names the user
    chose (events, consumers, tags, filter keys) and list indexes stay as they are. A path that
    goes on below a string ends there: the file's `{event: x}` is the args' plain `x`.
    """
    renamed: list[str | int] = []
    annotation: Any = root
    for segment in key_path:
        if annotation is str:
            break
        if typing.is_typeddict(annotation) and isinstance(segment, str):
            name = _ARGS_NAMES.get(segment, segment)
            renamed.append(_camel_case(name))
            annotation = typing.get_type_hints(annotation).get(name)
        elif typing.get_origin(annotation) is dict:
            renamed.append(segment)
            annotation = _item_annotation(annotation, 1)
        elif typing.get_origin(annotation) is list:
            renamed.append(segment)
            annotation = _item_annotation(annotation, 0)
        else:
            renamed.append(segment)
            annotation = None
    return tuple(renamed)


def _camel_case(name: str) -> str:
    """The schema's name for a Python field name, as Pulumi's analyzer derives it."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)
