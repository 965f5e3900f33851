"""SnsSqsPlatformArgs: the SNS/SQS platform's topology and settings as language-neutral args."""

# No `from __future__ import annotations` here: Pulumi's component analyzer reads these
# annotations at run time and cannot follow string annotations.

import typing
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pulumi

from eventinfra.aws.consumer import ConsumerRuntime
from eventinfra.config.loader import (
    PlatformConfig,
    cross_check_problems,
    stack_settings_problems,
)
from eventinfra.config.messages import validate_model
from eventinfra.config.models import Settings, Topology
from eventinfra.errors import ConfigError, Problem
from eventinfra.keypaths import KeyPath, format_key_path

# Every field below is plain (not `pulumi.Input`): the topology decides which topics, queues
# and functions exist, so it must be known, and validated, before any resource is declared.
# The analyzer marks plain fields `plain: true`, so generated SDKs take plain values too.


class PlatformEventArgs(TypedDict):
    """An event type: one SNS topic."""

    description: NotRequired[str]
    """What the event means, for readers of the topology."""
    schema: NotRequired[str]
    """JSON Schema file of the payload, relative to `baseDirectory`."""
    fifo: NotRequired[bool]
    """Ordered, deduplicated delivery (an SNS FIFO topic); default false."""
    group_key: NotRequired[str]
    """For a FIFO event: the payload field whose value is the message group."""


class PlatformProducerArgs(TypedDict):
    """A service that publishes events."""

    publishes: list[str]
    """The events it publishes (names from `events`)."""
    role_arn: NotRequired[str]
    """Its IAM role ARN, like `arn:aws:iam::123456789012:role/accounts-api`; the role gets the
    publish policy, and when every producer of an event has one, nobody else may publish. It
    must be a role of the deploying account unless `cross_account` is true."""
    cross_account: NotRequired[bool]
    """The role is in another AWS account: the topic policy lets it publish, and that account
    grants its role `sns:Publish` itself (no policy is attached here); default false."""


class PlatformSubscriptionArgs(TypedDict):
    """One event a consumer receives, optionally filtered on message attributes."""

    event: str
    """The event's name (from `events`)."""
    filter: NotRequired[dict[str, list[Any]]]
    """SNS message-attribute filter policy, like `{plan: [pro, team]}` (at most 5 keys and
    150 value combinations)."""


class PlatformLambdaArgs(TypedDict):
    """An AWS Lambda function fed by the consumer's queue."""

    code: str
    """Folder with the function's code, relative to `baseDirectory`."""
    handler: str
    """The handler `<module>.<function>`, like `app.handler`."""
    runtime: NotRequired[str]
    """Lambda runtime identifier, like `python3.12`."""
    timeout_seconds: NotRequired[int]
    """Function timeout, 1 to 900 seconds; the queue's visibility timeout follows it."""
    memory_mb: NotRequired[int]
    """Function memory, 128 to 10,240 MB."""
    batch_size: NotRequired[int]
    """Messages per invocation, 1 to 10,000 (at most 10 on a FIFO queue)."""
    batch_window_seconds: NotRequired[int]
    """Seconds to gather a batch, 0 to 300; at least 1 when `batchSize` is above 10."""
    max_concurrency: NotRequired[int]
    """Maximum concurrent invocations from the queue, 2 to 1,000."""
    environment: NotRequired[dict[str, str]]
    """Environment variables of the function."""
    tracing: NotRequired[bool]
    """Active X-Ray tracing of the function; default: the platform's `tracing`."""


class PlatformIdempotencyArgs(TypedDict):
    """The consumer's idempotency store: processed-message records that expire."""

    enabled: NotRequired[bool]
    """Default true; turning it off is a deliberate, policy-visible choice."""
    key: NotRequired[str]
    """Payload field (JMESPath) that identifies a message; default: the whole payload."""
    ttl_seconds: NotRequired[int]
    """How long a processed message is remembered, 1 second to 1 year."""


class PlatformConsumerArgs(TypedDict):
    """A service that receives events from its own queue, with a dead-letter queue."""

    subscribes: list[PlatformSubscriptionArgs]
    """The events it receives (at least one; all FIFO or all standard)."""
    runtime: ConsumerRuntime
    """Where its code runs: `lambda` (give `lambdaFunction`) or `external`."""
    description: NotRequired[str]
    """What the consumer does, for readers of the topology."""
    lambda_function: NotRequired[PlatformLambdaArgs]
    """The function, for runtime `lambda`."""
    idempotency: NotRequired[PlatformIdempotencyArgs]
    """The idempotency store; on by default."""
    fifo: NotRequired[bool]
    """Must match the subscribed events; derived from them when omitted."""
    max_receive_count: NotRequired[int]
    """Receives before a message moves to the dead-letter queue, 1 to 1,000."""
    visibility_timeout_seconds: NotRequired[int]
    """Queue visibility timeout, 0 to 43,200 seconds; default: enough for every Lambda retry."""
    message_retention_seconds: NotRequired[int]
    """Queue retention, 60 seconds to less than 14 days (the dead-letter queue keeps 14)."""


class PlatformQueueDefaultsArgs(TypedDict):
    """Queue settings for consumers that do not set their own."""

    message_retention_seconds: NotRequired[int]
    """Queue retention, 60 seconds to less than 14 days."""
    visibility_timeout_seconds: NotRequired[int]
    """Queue visibility timeout, 0 to 43,200 seconds."""
    max_receive_count: NotRequired[int]
    """Receives before a message is dead-lettered, 1 to 1,000."""
    visibility_multiplier: NotRequired[int]
    """A Lambda consumer's visibility timeout is this times its timeout plus its batching
    window, 1 to 100."""


class PlatformAlarmArgs(TypedDict):
    """Where alarms go and when they fire."""

    email: NotRequired[str]
    """An e-mail address subscribed to the alerts topic, like `oncall@example.com`."""
    period_seconds: NotRequired[int]
    """Alarm evaluation period, 60 to 86,400 seconds."""
    queue_age_seconds: NotRequired[int]
    """Alarm when a queue's oldest message is older than this, 60 to 1,209,600 seconds."""
    lambda_errors: NotRequired[int]
    """Alarm when a function has this many errors in one period."""


class SnsSqsPlatformArgs(TypedDict):
    """One environment's SNS/SQS event platform: its topology and its settings."""

    events: dict[str, PlatformEventArgs]
    """Event types by name, like `user.signup` (letters, digits, '.', '_' and '-')."""
    producers: NotRequired[dict[str, PlatformProducerArgs]]
    """Producers by name, like `accounts-api` (a DNS label)."""
    consumers: NotRequired[dict[str, PlatformConsumerArgs]]
    """Consumers by name, like `welcome-email` (a DNS label)."""
    name_prefix: NotRequired[str]
    """Prefix of every physical name, at most 40 letters, digits and '-'; default: the stack
    name."""
    queues: NotRequired[PlatformQueueDefaultsArgs]
    """Queue settings for consumers that do not set their own."""
    alarms: NotRequired[PlatformAlarmArgs]
    """Where alarms go and when they fire."""
    log_retention_days: NotRequired[int]
    """Lambda log retention, one of the periods CloudWatch Logs accepts (like 14 or 30)."""
    protect: NotRequired[bool]
    """Protect topics, queues and tables from `pulumi destroy`; default false."""
    tags: NotRequired[dict[str, str]]
    """Tags for every resource that takes them."""
    tracing: NotRequired[bool]
    """X-Ray tracing on every Lambda consumer (unless it sets its own) and SNS topic; default
    false."""
    base_directory: NotRequired[str]
    """Folder that relative `schema` and Lambda `code` paths are resolved against; default: the
    working directory. From YAML pass `${pulumi.cwd}`; a provider's own working directory is
    not the program's."""


ARGS_SOURCE = "SnsSqsPlatformArgs"
"""Stands for the topology file in the config: the args are the topology's source."""

_TOPOLOGY_KEYS = frozenset(Topology.model_fields)
# The topology file's `lambda` is a Python keyword, so the args call it `lambda_function`.
_FILE_NAMES = {"lambda_function": "lambda"}
_ARGS_NAMES = {file: args for args, file in _FILE_NAMES.items()}


def platform_config_from_args(
    args: SnsSqsPlatformArgs | Mapping[str, Any], *, stack: str
) -> PlatformConfig:
    """Validate the args through the topology and settings models; raise every problem once.

    Problems name their key path in the args, with the schema's camelCase names
    (`consumers.welcome-email.lambdaFunction.timeoutSeconds`).
    """
    problems = list(_output_problems(args, ()))
    if problems:
        raise ConfigError(problems)
    known = set(typing.get_type_hints(SnsSqsPlatformArgs))
    for key in args:
        if key not in known:
            problems.append(
                Problem(
                    None,
                    format_key_path(_args_key_path((key,))),
                    "is not a known key; expected one of: "
                    f"{', '.join(sorted(_camel_case(k) for k in known))}.",
                )
            )
    data = _file_shape(args)
    base_directory = Path(str(args.get("base_directory") or Path.cwd())).resolve()
    settings_data = {
        key: value
        for key, value in data.items()
        if key in known and key not in _TOPOLOGY_KEYS and key != "base_directory"
    }
    settings_data.update(broker="sns-sqs", topology=ARGS_SOURCE)
    settings, settings_problems = validate_model(
        Settings, settings_data, None, (), rename=_args_key_path
    )
    topology_data = {key: value for key, value in data.items() if key in _TOPOLOGY_KEYS}
    topology, topology_problems = validate_model(
        Topology, topology_data, None, (), rename=_args_key_path
    )

    problems += settings_problems
    if settings is not None:
        problems += stack_settings_problems(settings, stack, args_problem)
    problems += topology_problems
    if problems or settings is None or topology is None:
        raise ConfigError(problems)
    # Only the parent of `topology_path` is read: relative paths resolve in `base_directory`,
    # and every file the args name must resolve inside it.
    config = PlatformConfig(stack, settings, topology, base_directory / ARGS_SOURCE, base_directory)
    problems = list(cross_check_problems(config, args_problem))
    if problems:
        raise ConfigError(problems)
    return config


def args_problem(key_path: KeyPath, message: str) -> Problem:
    """A problem at a topology or settings key path, named as the args name it (camelCase)."""
    return Problem(None, format_key_path(_args_key_path(key_path)), message)


def _output_problems(value: Any, key_path: KeyPath) -> list[Problem]:
    """Outputs anywhere in the args: their values are unknown while the platform is planned."""
    if isinstance(value, pulumi.Output):
        return [
            Problem(
                None,
                format_key_path(_args_key_path(key_path)) or ARGS_SOURCE,
                "is an Output, a value known only during deployment; expected a plain value, "
                "because the platform's topics, queues and functions are planned from it "
                "before anything is created.",
            )
        ]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _output_problems(v, (*key_path, k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _output_problems(v, (*key_path, i))]
    return []


def _file_shape(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args in the topology file's shape: its key names, enums as their values."""
    shaped: dict[str, Any] = _reshape(
        args, SnsSqsPlatformArgs, lambda name: _FILE_NAMES.get(name, name)
    )
    return shaped


def _reshape(value: Any, annotation: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Mapping):
        if typing.is_typeddict(annotation):
            fields = typing.get_type_hints(annotation)
            return {rename(k): _reshape(v, fields.get(k), rename) for k, v in value.items()}
        item = _item_annotation(annotation, 1)
        return {k: _reshape(v, item, rename) for k, v in value.items()}
    if isinstance(value, list | tuple):
        item = _item_annotation(annotation, 0)
        return [_reshape(v, item, rename) for v in value]
    return value


def _item_annotation(annotation: Any, index: int) -> Any:
    """The value type of `dict[str, X]` (index 1) or the item type of `list[X]` (index 0)."""
    type_args = typing.get_args(annotation)
    return type_args[index] if len(type_args) > index else None


def _args_key_path(key_path: KeyPath) -> KeyPath:
    """A topology or settings key path in the args' schema names.

    Walks the args' TypedDicts along the path: field names become camelCase, names the user
    chose (events, consumers, tags, filter keys) and list indexes stay as they are.
    """
    renamed: list[str | int] = []
    annotation: Any = SnsSqsPlatformArgs
    for segment in key_path:
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
