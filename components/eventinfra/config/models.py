"""The typed config: the topology file shared by environments and each stack's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from eventinfra.aws import defaults
from eventinfra.idempotency_key import idempotency_key_problem
from eventinfra.kafka import defaults as kafka_defaults
from eventinfra.rabbitmq import defaults as rabbitmq_defaults


@dataclass(frozen=True)
class InRange:
    """An inclusive integer range whose error says what the limit is and why it exists."""

    low: int
    high: int
    why: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(minimum=self.low, maximum=self.high)
        return json_schema

    def _check(self, value: int) -> int:
        if not self.low <= value <= self.high:
            raise PydanticCustomError(
                "out_of_range",
                "expected an integer from {low} to {high} ({why})",
                {"low": self.low, "high": self.high, "why": self.why},
            )
        return value


Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]

# Names become SQS/SNS names, IAM and Lambda names, and (on Kubernetes) object names and
# RabbitMQ users: DNS-1123 labels are valid in all of them.
ComponentName = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        max_length=63,
        description="lowercase letters, digits and '-', like `welcome-email` (a DNS label)",
    ),
]
# Event names are routing keys on RabbitMQ and, with '.' turned into '-', SNS topic names.
EventName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$",
        max_length=200,
        description="Letters, digits, '.', '_' and '-', like `user.signup`.",
    ),
]

RetentionSeconds = Annotated[
    Int,
    InRange(
        defaults.SQS_MIN_RETENTION_SECONDS,
        defaults.SQS_MAX_RETENTION_SECONDS,
        "the SQS retention limits, 60 seconds to 14 days",
    ),
]
VisibilitySeconds = Annotated[
    Int, InRange(0, defaults.SQS_MAX_VISIBILITY_SECONDS, "the SQS maximum is 12 hours")
]
MaxReceiveCount = Annotated[Int, InRange(1, 1000, "the SQS redrive policy limits")]


class Model(BaseModel):
    """Frozen, and every unknown key is an error rather than a silently ignored typo."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


def _as_list(value: Any) -> Any:
    """Let a filter say `plan: pro` for `plan: [pro]`."""
    return value if isinstance(value, list) else [value]


FilterValues = Annotated[
    list[str | int | float | bool | dict[str, Any]],
    BeforeValidator(
        _as_list,
        json_schema_input_type=str
        | int
        | float
        | bool
        | list[str | int | float | bool | dict[str, Any]],
    ),
    Field(min_length=1),
]


class Event(Model):
    """An event type: one SNS topic, or one RabbitMQ topic exchange."""

    description: str | None = None
    payload_schema: str | None = Field(
        default=None,
        alias="schema",
        description="JSON Schema of the payload, relative to the topology file.",
    )
    fifo: Bool = Field(
        default=False, description="Ordered, deduplicated delivery (an SNS FIFO topic)."
    )
    group_key: str | None = Field(
        default=None,
        min_length=1,
        description="For a FIFO event: the payload field whose value is the message group "
        "(eventinfra-runtime's producers and consumers read it).",
    )


class Producer(Model):
    """A service that publishes events."""

    publishes: list[EventName] = Field(min_length=1)
    role_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:role/"
        r"([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$",
        max_length=2048,
        description="an IAM role ARN, like `arn:aws:iam::123456789012:role/accounts-api` "
        "(ASCII; a role name of at most 64 of `A-Z a-z 0-9 + = , . @ _ -`), that gets the "
        "producer's publish policy",
    )
    cross_account: Bool = Field(
        default=False,
        description="The role is in another AWS account: the topic policy lets it publish, and "
        "that account grants its role `sns:Publish` itself (no policy is attached here).",
    )


class Subscription(Model):
    """One event a consumer receives, optionally filtered on message attributes."""

    event: EventName
    filter: dict[str, FilterValues] | None = Field(
        default=None,
        description="SNS message-attribute filter policy, like `{plan: [pro, team]}`.",
    )


def _subscription_shorthand(value: Any) -> Any:
    """Let `subscribes: [user.signup]` stand for `subscribes: [{event: user.signup}]`."""
    if isinstance(value, list):
        return [{"event": item} if isinstance(item, str) else item for item in value]
    return value


class LambdaSettings(Model):
    """An AWS Lambda function fed by the consumer's queue."""

    code: str = Field(description="Folder with the function's code, relative to the topology.")
    handler: str = Field(
        pattern=r"^([A-Za-z0-9_-]+/)*[A-Za-z0-9_][A-Za-z0-9_.-]*\.[A-Za-z_$][A-Za-z0-9_$]*$",
        description="a handler `<module>.<function>`, like `app.handler` (Python) or "
        "`index.handler` (Node.js)",
    )
    runtime: Annotated[str, Field(json_schema_extra={"enum": list(defaults.LAMBDA_RUNTIMES)})] = (
        defaults.LAMBDA_RUNTIME
    )
    timeout_seconds: Annotated[
        Int, InRange(1, defaults.LAMBDA_MAX_TIMEOUT_SECONDS, "the Lambda maximum is 900")
    ] = defaults.LAMBDA_TIMEOUT_SECONDS
    memory_mb: Annotated[Int, InRange(128, 10_240, "the Lambda memory limits")] = (
        defaults.LAMBDA_MEMORY_MB
    )
    batch_size: Annotated[
        Int, InRange(1, defaults.LAMBDA_MAX_BATCH_SIZE, "the SQS event source limits")
    ] = defaults.LAMBDA_BATCH_SIZE
    batch_window_seconds: Annotated[
        Int,
        InRange(0, defaults.LAMBDA_MAX_BATCH_WINDOW_SECONDS, "the SQS event source limits"),
    ] = 0
    max_concurrency: (
        Annotated[Int, InRange(2, 1000, "the SQS event source's maximum concurrency limits")] | None
    ) = None
    environment: dict[str, str] = Field(default_factory=dict)
    tracing: Bool | None = Field(
        default=None,
        description="Active X-Ray tracing of the function; default: the stack's `tracing`.",
    )


# The Kubernetes quantity grammar; the sanity bounds (a forgotten unit) are in the backend's
# validation, which places its messages at the key.
QUANTITY_PATTERN = r"^\+?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$"


class Resources(Model):
    cpu: str = Field(pattern=QUANTITY_PATTERN, description="a CPU quantity, like `250m`")
    memory: str = Field(pattern=QUANTITY_PATTERN, description="a memory quantity, like `256Mi`")


# Pinned by tag or digest; the full OCI reference grammar is checked by the backend.
IMAGE_PATTERN = r"^[^\s@]+(:[\w][\w.-]*(@sha(256|512):[0-9a-f]+)?|@sha(256|512):[0-9a-f]+)$"


class Replicas(Model):
    min: Annotated[Int, InRange(0, 1000, "replica counts")] = 1
    max: Annotated[Int, InRange(1, 1000, "replica counts")] = 10


class ContainerSettings(Model):
    """A container consumer on Kubernetes, autoscaled by KEDA on its queue length."""

    image: str = Field(
        pattern=IMAGE_PATTERN,
        description="an image pinned by tag or digest, like `ghcr.io/acme/mailer:1.4.2`",
    )
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    resources: Resources
    replicas: Replicas = Replicas()
    target_queue_length: Annotated[Int, InRange(1, 100_000, "messages per replica")] = 20
    port: Annotated[Int, InRange(1, 65_535, "a TCP port")] = 8080

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        if image.rsplit("/", 1)[-1].split("@")[0].endswith(":latest"):
            raise PydanticCustomError(
                "image_latest",
                "expected an image pinned to a version or digest, not the moving 'latest' tag",
            )
        return image


class Idempotency(Model):
    """The consumer's idempotency store: processed-message records that expire."""

    enabled: Bool = Field(
        default=True, description="Turning this off is a deliberate, policy-visible choice."
    )
    key: str | None = Field(
        default=None,
        max_length=1024,
        description="A JMESPath expression over the JSON payload that identifies a message, like "
        "`orderId` or `order.id`; default: the whole payload.",
    )

    @field_validator("key")
    @classmethod
    def _jmespath(cls, key: str | None) -> str | None:
        if key is not None and (problem := idempotency_key_problem(key)):
            raise PydanticCustomError("idempotency_key", "{problem}", {"problem": problem})
        return key

    ttl_seconds: Annotated[
        Int,
        InRange(
            1,
            defaults.IDEMPOTENCY_MAX_TTL_SECONDS,
            "whole seconds, at most one year; records expire at epoch seconds",
        ),
    ] = defaults.IDEMPOTENCY_TTL_SECONDS


class Consumer(Model):
    """A service that receives events from its own queue."""

    description: str | None = None
    subscribes: Annotated[
        list[Subscription],
        BeforeValidator(
            _subscription_shorthand, json_schema_input_type=list[EventName | Subscription]
        ),
        Field(min_length=1),
    ]
    runtime: Literal["lambda", "external", "container"]
    lambda_: LambdaSettings | None = Field(default=None, alias="lambda")
    container: ContainerSettings | None = None
    idempotency: Idempotency = Idempotency()
    fifo: Bool | None = Field(
        default=None, description="Must match the subscribed events; derived when omitted."
    )
    max_receive_count: MaxReceiveCount | None = None
    visibility_timeout_seconds: VisibilitySeconds | None = None
    message_retention_seconds: RetentionSeconds | None = None


class Topology(Model):
    """Events, the services that publish them and the services that consume them."""

    model_config = ConfigDict(title="eventinfra topology")

    events: dict[EventName, Event] = Field(min_length=1)
    producers: dict[ComponentName, Producer] = Field(default_factory=dict)
    consumers: dict[ComponentName, Consumer] = Field(default_factory=dict)


class QueueDefaults(Model):
    message_retention_seconds: RetentionSeconds = defaults.QUEUE_RETENTION_SECONDS
    visibility_timeout_seconds: VisibilitySeconds = defaults.QUEUE_VISIBILITY_SECONDS
    max_receive_count: MaxReceiveCount = defaults.MAX_RECEIVE_COUNT
    visibility_multiplier: Annotated[
        Int, InRange(1, 100, "times the Lambda timeout plus the batching window")
    ] = defaults.VISIBILITY_TIMEOUT_MULTIPLIER


class AlarmSettings(Model):
    email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="an e-mail address for alarm notifications, like `oncall@example.com`",
    )
    period_seconds: Annotated[Int, InRange(10, 86_400, "CloudWatch alarm periods")] = (
        defaults.ALARM_PERIOD_SECONDS
    )
    queue_age_seconds: Annotated[
        Int,
        InRange(
            defaults.QUEUE_AGE_ALARM_MIN_SECONDS,
            defaults.QUEUE_AGE_ALARM_MAX_SECONDS,
            "within SQS retention",
        ),
    ] = defaults.QUEUE_AGE_ALARM_SECONDS
    lambda_errors: Annotated[
        Int, InRange(1, defaults.LAMBDA_ERRORS_ALARM_MAX, "errors per period")
    ] = defaults.LAMBDA_ERRORS_ALARM_THRESHOLD


class RabbitMQSettings(Model):
    """The broker on Kubernetes (used when `broker: rabbitmq`)."""

    namespace: ComponentName = "events"
    replicas: Annotated[Int, InRange(1, 9, "RabbitMQ cluster sizes")] = 3
    storage: str = Field(
        default="10Gi", pattern=QUANTITY_PATTERN, description="a volume size, like `10Gi`"
    )
    storage_class: str | None = None
    cpu: str = Field(default="2", pattern=QUANTITY_PATTERN, description="a CPU quantity, like `2`")
    memory: str = Field(
        default="4Gi", pattern=QUANTITY_PATTERN, description="a memory quantity, like `4Gi`"
    )
    image: str = Field(
        default=rabbitmq_defaults.RABBITMQ_IMAGE,
        pattern=IMAGE_PATTERN,
        description="the broker image; pin it by digest in production, like "
        "`rabbitmq:4.0.5-management@sha256:<64 hex>`",
    )
    redis_image: str = Field(
        default=rabbitmq_defaults.REDIS_IMAGE,
        pattern=IMAGE_PATTERN,
        description="the idempotency store's Redis image; pin it by digest in production",
    )
    tls_secret: str | None = Field(
        default=None, description="A kubernetes.io/tls Secret; turns off non-TLS listeners."
    )
    operators_namespace: ComponentName = Field(
        default=rabbitmq_defaults.OPERATORS_NAMESPACE,
        # Phrased as what is expected: a pattern mismatch quotes the description.
        description="a namespace (a DNS label) like `rabbitmq-system`, where the Cluster and "
        "Topology Operators run: they may reach the broker's management API",
    )
    keda_namespace: ComponentName = Field(
        default=rabbitmq_defaults.KEDA_NAMESPACE,
        description="a namespace (a DNS label) like `keda`, where KEDA runs: it may read queue "
        "lengths from the management API",
    )
    monitoring_namespace: ComponentName = Field(
        default=rabbitmq_defaults.MONITORING_NAMESPACE,
        description="a namespace (a DNS label) like `monitoring`, where Prometheus runs: it may "
        "scrape the broker's metrics port",
    )
    install_operators: Bool = Field(
        default=False,
        description="Install the Cluster Operator, Topology Operator and KEDA from pinned "
        "release manifests; by default they must already be installed.",
    )


class KafkaTopicSettings(Model):
    """One event's topic on the `kafka` broker, where it differs from the `kafka:` defaults."""

    partitions: Annotated[Int, InRange(1, 10_000, "Kafka partitions per topic")] | None = None
    retention_hours: Annotated[Int, InRange(1, 87_600, "at most ten years")] | None = None
    cleanup_policy: Literal["delete", "compact", "compact,delete"] | None = Field(
        default=None,
        description="`delete` (default: events expire after the retention) or `compact` (keep "
        "the latest event per key).",
    )


class KafkaSettings(Model):
    """The Kafka cluster on Kubernetes, managed by Strimzi (used when `broker: kafka`)."""

    namespace: ComponentName = "events"
    replicas: Annotated[Int, InRange(1, 99, "Kafka broker counts")] = 3
    storage: str = Field(
        default="20Gi", pattern=r"^\d+(Mi|Gi|Ti)$", description="a volume size, like `20Gi`"
    )
    storage_class: str | None = None
    cpu: str = Field(
        default="2", pattern=r"^\d+(\.\d+)?m?$", description="a CPU quantity, like `2`"
    )
    memory: str = Field(
        default="4Gi", pattern=r"^\d+(Mi|Gi)$", description="a memory quantity, like `4Gi`"
    )
    partitions: Annotated[Int, InRange(1, 10_000, "Kafka partitions per topic")] = (
        kafka_defaults.PARTITIONS
    )
    retention_hours: Annotated[Int, InRange(1, 87_600, "at most ten years")] = (
        kafka_defaults.RETENTION_HOURS
    )
    topics: dict[EventName, KafkaTopicSettings] = Field(
        default_factory=dict, description="Per-event topic settings, by event name."
    )
    tls: Bool = Field(
        default=True,
        description="A TLS listener with client certificates (mTLS); false: a plain listener "
        "with SCRAM-SHA-512 passwords (development only).",
    )
    rack_topology_key: str | None = Field(
        default=None,
        description="Spread replicas over this node label's values, like "
        "`topology.kubernetes.io/zone` (rack awareness).",
    )
    redis_image: str = Field(
        default=rabbitmq_defaults.REDIS_IMAGE,
        pattern=IMAGE_PATTERN,
        description="the idempotency store's Redis image; pin it by digest in production, like "
        "`redis:7.4.2-alpine@sha256:<64 hex>`",
    )
    monitoring_namespace: ComponentName = Field(
        default=rabbitmq_defaults.MONITORING_NAMESPACE,
        description="a namespace (a DNS label) like `monitoring`, where Prometheus runs: it may "
        "reach every pod of the platform's namespace (the Kafka Exporter's metrics)",
    )
    install_operators: Bool = Field(
        default=False,
        description="Install Strimzi and KEDA from pinned release manifests; by default they "
        "must already be installed.",
    )


class Settings(Model):
    """One environment's settings: `eventinfra:settings` in `stacks/Pulumi.<stack>.yaml`."""

    model_config = ConfigDict(title="eventinfra stack settings")

    broker: Literal["sns-sqs", "rabbitmq", "kafka"] = "sns-sqs"
    topology: str = Field(description="The topology file, relative to the project folder.")
    name_prefix: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$",
        max_length=40,
        description="letters, digits and '-', at most 40 (the prefix of every physical name; "
        "default: the stack name)",
    )
    queues: QueueDefaults = QueueDefaults()
    alarms: AlarmSettings = AlarmSettings()
    log_retention_days: Annotated[
        Int, Field(json_schema_extra={"enum": list(defaults.LOG_RETENTION_CHOICES)})
    ] = defaults.LOG_RETENTION_DAYS
    protect: Bool = Field(
        default=False, description="Protect topics, queues and tables from `pulumi destroy`."
    )
    tags: dict[str, str] = Field(default_factory=dict)
    tracing: Bool = Field(
        default=False,
        description="X-Ray tracing: Active on every Lambda consumer (unless it sets its own) and "
        "on every SNS topic.",
    )
    rabbitmq: RabbitMQSettings = RabbitMQSettings()
    kafka: KafkaSettings = KafkaSettings()

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, days: int) -> int:
        if days not in defaults.LOG_RETENTION_CHOICES:
            raise PydanticCustomError(
                "log_retention",
                "expected one of the retention periods CloudWatch Logs accepts ({choices})",
                {"choices": ", ".join(map(str, defaults.LOG_RETENTION_CHOICES))},
            )
        return days
