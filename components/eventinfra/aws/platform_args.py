"""SnsSqsPlatformArgs: the SNS/SQS platform's topology and settings as language-neutral args."""

# No `from __future__ import annotations` here: Pulumi's component analyzer reads these
# annotations at run time and cannot follow string annotations.

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from eventinfra.aws.consumer import ConsumerRuntime
from eventinfra.config.loader import PlatformConfig
from eventinfra.config.platform_args import (
    ArgsSpec,
    PlatformEventArgs,
    PlatformIdempotencyArgs,
    config_from_args,
    problem_in_args,
)
from eventinfra.errors import Problem
from eventinfra.keypaths import KeyPath

# Every field below is plain (not `pulumi.Input`): the topology decides which topics, queues
# and functions exist, so it must be known, and validated, before any resource is declared.
# The analyzer marks plain fields `plain: true`, so generated SDKs take plain values too.


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


ARGS = ArgsSpec(
    root=SnsSqsPlatformArgs,
    broker="sns-sqs",
    source="SnsSqsPlatformArgs",
    planned="topics, queues and functions",
)


def platform_config_from_args(
    args: SnsSqsPlatformArgs | Mapping[str, Any], *, stack: str
) -> PlatformConfig:
    """Validate the args through the topology and settings models; raise every problem once.

    Problems name their key path in the args, with the schema's camelCase names
    (`consumers.welcome-email.lambdaFunction.timeoutSeconds`).
    """
    return config_from_args(args, ARGS, stack=stack)


def args_problem(key_path: KeyPath, message: str) -> Problem:
    """A problem at a topology or settings key path, named as the args name it (camelCase)."""
    return problem_in_args(ARGS, key_path, message)
