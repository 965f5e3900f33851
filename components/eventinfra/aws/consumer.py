"""EventConsumer: a queue with its dead-letter queue, subscriptions, alarms and runtime."""

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults, iam, validation
from eventinfra.aws.alarms import (
    AlarmTargetArgs,
    alarm_target_problems,
    checked_alarm_target,
    metric_alarm,
)
from eventinfra.aws.checked import checked
from eventinfra.aws.idempotency import IdempotencyStore
from eventinfra.aws.lambda_consumer import (
    LambdaConsumer,
    LambdaConsumerArgs,
    LambdaFunctionArgs,
    function_problems,
)
from eventinfra.aws.lambda_package import SCHEMAS_FOLDER
from eventinfra.aws.tags import component_tags
from eventinfra.contract import Finding, raise_for, range_problems, shape_problems, under
from eventinfra.keypaths import KeyPath


class ConsumerRuntime(StrEnum):
    """Where a consumer's code runs."""

    LAMBDA = "lambda"
    """An AWS Lambda function the platform creates, fed by the consumer's queue."""
    EXTERNAL = "external"
    """Code the platform does not run; it gets a managed policy to read its queue."""


class SubscriptionArgs(TypedDict):
    """One topic the consumer's queue subscribes to."""

    label: str
    """Names the subscription resource, e.g. the event's slug `user-signup`."""
    topic_arn: pulumi.Input[str]
    """ARN of the topic (see EventTopic)."""
    filter_policy: NotRequired[Mapping[str, Any] | None]
    """SNS message-attribute filter policy, like `{"plan": ["pro", "team"]}`."""
    event: NotRequired[str]
    """The event type, like `user.signup`: a Lambda consumer's runtime configuration
    (EVENTINFRA_EVENTS) names the events it accepts."""
    schema_file: NotRequired[str | None]
    """The event's JSON Schema file, bundled into a Lambda consumer's package."""
    group_key: NotRequired[str | None]
    """For a FIFO event: the payload field holding its message group."""


class ConsumerIdempotencyArgs(TypedDict):
    """The consumer's idempotency table: records of processed messages that expire."""

    table_name: pulumi.Input[str]
    """Physical name of the DynamoDB table."""
    key: NotRequired[str | None]
    """Payload field (JMESPath) that identifies a message; default: the whole payload."""
    ttl_seconds: NotRequired[int]
    """How long a processed message is remembered; default 3,600 seconds."""


class EventConsumerArgs(TypedDict):
    """One consumer: its queue and dead-letter queue, subscriptions, alarms and runtime."""

    queue_name: pulumi.Input[str]
    """Physical name of the queue (a FIFO queue's ends in `.fifo`)."""
    dead_letter_queue_name: pulumi.Input[str]
    """Physical name of the dead-letter queue (a FIFO queue's ends in `.fifo`)."""
    subscriptions: Sequence[SubscriptionArgs]
    """The topics the queue subscribes to (at least one)."""
    kms_key_arn: pulumi.Input[str]
    """A customer-managed key whose policy lets SNS encrypt (see EventKey)."""
    alarm_target: AlarmTargetArgs
    """Where the consumer's alarms go (its DLQ, its queue age, its function)."""
    fifo: NotRequired[bool]
    """FIFO queues, for FIFO topics; default false."""
    max_receive_count: NotRequired[int]
    """Receives before a message moves to the dead-letter queue, 1 to 1,000; default 5."""
    message_retention_seconds: NotRequired[int]
    """Queue retention, 60 seconds to less than 14 days (the dead-letter queue keeps 14)."""
    visibility_timeout_seconds: NotRequired[int]
    """Default: enough for every retry of the Lambda function (6 x its timeout + its batching
    window), or the SQS default for an external consumer."""
    runtime: NotRequired[ConsumerRuntime]
    """Where the consumer's code runs: `lambda` (give `lambda_function`) or `external`, the
    default. The plain strings work too."""
    lambda_function: NotRequired[LambdaFunctionArgs]
    """For runtime `lambda`: the function (its queue, key and table are wired in here)."""
    idempotency: NotRequired[ConsumerIdempotencyArgs | None]
    """None (or leaving it out) means no idempotency store: a deliberate, policy-visible choice."""
    queue_age_alarm_seconds: NotRequired[int]
    """Alarm when the queue's oldest message is older than this; default 900 seconds."""
    tags: NotRequired[Mapping[str, str]]
    """Tags for every resource that takes them."""
    protect: NotRequired[bool]
    """Protect the queues and the table from `pulumi destroy`; default false."""
    consumer: NotRequired[str]
    """The consumer's name in descriptions people read (default: the component's name); an IAM
    policy's description cannot change without replacing the policy."""


def consumer_problems(args: EventConsumerArgs) -> list[Finding]:
    """Every rule on a consumer's Args, keys relative to them."""
    findings = shape_problems(args, EventConsumerArgs)
    if "alarm_target" in args:
        findings += alarm_target_problems(args["alarm_target"])
    fifo = args.get("fifo", False)
    if isinstance(key_arn := args.get("kms_key_arn"), str):
        findings += decrypt_key_arn_problems(key_arn, ("kms_key_arn",))
    for key in ("queue_name", "dead_letter_queue_name"):
        if isinstance(name := args.get(key), str):
            findings += validation.queue_name_problems(name, fifo=fifo, key=(key,))
    findings += validation.retention_problems(
        args.get("message_retention_seconds", defaults.QUEUE_RETENTION_SECONDS)
    )
    findings += validation.max_receive_count_problems(
        args.get("max_receive_count", defaults.MAX_RECEIVE_COUNT)
    )
    if "queue_age_alarm_seconds" in args:
        findings += validation.queue_age_alarm_problems(args["queue_age_alarm_seconds"])
    idempotency = args.get("idempotency")
    if isinstance(idempotency, Mapping):
        findings += shape_problems(idempotency, ConsumerIdempotencyArgs, ("idempotency",))
        if "ttl_seconds" in idempotency:
            findings += validation.idempotency_ttl_problems(
                idempotency["ttl_seconds"], ("idempotency", "ttl_seconds")
            )
    subscriptions = args.get("subscriptions", [])
    if not subscriptions and "subscriptions" in args:
        findings.append(
            Finding(("subscriptions",), "expected at least one subscription, found none.")
        )
    for index, subscription in enumerate(subscriptions):
        at: KeyPath = ("subscriptions", index)
        findings += shape_problems(subscription, SubscriptionArgs, at)
        if isinstance(subscription, Mapping) and isinstance(
            arn := subscription.get("topic_arn"), str
        ):
            findings += validation.topic_arn_problems(arn, (*at, "topic_arn"))
        if isinstance(subscription, Mapping) and (policy := subscription.get("filter_policy")):
            findings += under((*at, "filter_policy"), validation.filter_policy_problems(policy))
            if isinstance(policy, Mapping):
                findings += under((*at, "filter_policy"), validation.filter_rule_problems(policy))

    visibility = args.get("visibility_timeout_seconds")
    if visibility is not None and (
        out_of_range := range_problems(
            visibility,
            0,
            defaults.SQS_MAX_VISIBILITY_SECONDS,
            "the SQS maximum is 12 hours",
            ("visibility_timeout_seconds",),
        )
    ):
        findings += out_of_range
        visibility = None  # said once is enough: the Lambda rule below compares it
    runtime = args.get("runtime", ConsumerRuntime.EXTERNAL)
    function = args.get("lambda_function")
    if runtime not in list(ConsumerRuntime):
        findings.append(
            Finding(
                ("runtime",),
                f"expected one of: {', '.join(map(repr, map(str, ConsumerRuntime)))}; "
                f"found {runtime!r}.",
            )
        )
    elif runtime == "lambda" and function is None:
        findings.append(
            Finding(
                ("lambda_function",),
                "is required for runtime 'lambda'; expected the function's settings "
                "(LambdaFunctionArgs), found none.",
            )
        )
    elif runtime != "lambda" and function is not None:
        findings.append(
            Finding(
                ("lambda_function",),
                f"is set, but runtime is {str(runtime)!r}; expected either runtime 'lambda' or no "
                "lambda_function, not both.",
            )
        )
    elif runtime == "lambda" and function is not None:
        function_key: KeyPath = ("lambda_function",)
        findings += shape_problems(function, LambdaFunctionArgs, function_key)
        findings += under(function_key, function_problems(function, fifo=fifo))
        timeout = function.get("timeout_seconds", defaults.LAMBDA_TIMEOUT_SECONDS)
        window = function.get("batch_window_seconds", 0)
        # A timeout or window of the wrong type was reported above; there is nothing to add.
        if isinstance(timeout, int) and isinstance(window, int):
            findings += validation.visibility_problems(
                visibility,
                timeout_seconds=timeout,
                batch_window_seconds=window,
                function_key=function_key,
            )
    return findings


def visibility_timeout_seconds(args: EventConsumerArgs) -> int:
    """The caller's value, else enough for every retry of the Lambda function within one
    receive, else the SQS default."""
    if (visibility := args.get("visibility_timeout_seconds")) is not None:
        return visibility
    function = args.get("lambda_function")
    if args.get("runtime") != "lambda" or function is None:
        return defaults.QUEUE_VISIBILITY_SECONDS
    required = validation.required_visibility_seconds(
        function.get("timeout_seconds", defaults.LAMBDA_TIMEOUT_SECONDS),
        function.get("batch_window_seconds", 0),
    )
    return max(required, defaults.QUEUE_VISIBILITY_SECONDS)


def decrypt_key_arn_problems(arn: object, key: KeyPath) -> list[Finding]:
    return validation.resource_arn_problems(
        arn, "KMS key", "the consumer's kms:Decrypt grant (and its queues' key)", key
    )


def checked_topic_arn(arn: pulumi.Input[str], consumer: str, index: int) -> pulumi.Input[str]:
    """`arn`, refused (ConfigError) once resolved if it is not one SNS topic's exact ARN.

    Plain strings were checked with the other Args; an Output (a StackReference value, a mock
    value, another stack's topic) is checked inside `.apply`, so a `*` never reaches a policy.
    """
    return checked(
        arn,
        validation.topic_arn_problems,
        "EventConsumer",
        consumer,
        ("subscriptions", index, "topic_arn"),
    )


class EventConsumer(pulumi.ComponentResource):
    """Everything one consumer needs so that no message is lost or processed twice."""

    queue_url: pulumi.Output[str]
    """URL of the consumer's queue."""
    queue_arn: pulumi.Output[str]
    """ARN of the consumer's queue."""
    dead_letter_queue_arn: pulumi.Output[str]
    """ARN of the dead-letter queue that receives what the consumer cannot process."""
    dead_letter_queue_url: pulumi.Output[str]
    """URL of the dead-letter queue, for inspection and redrive."""
    idempotency_table_name: pulumi.Output[str] | None
    """Name of the idempotency table, if the consumer has one."""
    consumer_policy_arn: pulumi.Output[str] | None
    """For external consumers: the managed policy to attach to the consumer's identity."""
    function_arn: pulumi.Output[str] | None
    """For Lambda consumers: the function's ARN."""

    def __init__(
        self, name: str, args: EventConsumerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Every rule is checked before anything is registered: one error, no half-built queue.
        raise_for("EventConsumer", name, consumer_problems(args))
        super().__init__("eventinfra:index:EventConsumer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=args.get("protect", False))
        tags = component_tags(args.get("tags"), f"EventConsumer/{name}")
        consumer = args.get("consumer", name)
        fifo = args.get("fifo", False)
        kms_key_arn = checked(
            args["kms_key_arn"], decrypt_key_arn_problems, "EventConsumer", name, ("kms_key_arn",)
        )
        # ARNs from outside the program (a StackReference, mock values) are checked once they
        # resolve, before they reach a queue policy's aws:SourceArn or a subscription.
        topic_arns = [
            checked_topic_arn(s["topic_arn"], name, index)
            for index, s in enumerate(args["subscriptions"])
        ]
        # The queue's name is part of the ARN in the dead-letter queue's redrive-allow policy.
        queue_name = checked(
            args["queue_name"],
            lambda value, key: validation.queue_name_problems(str(value), fifo=fifo, key=key),
            "EventConsumer",
            name,
            ("queue_name",),
        )
        # The source queue's ARN, known before it exists, breaks the cycle between the
        # queue's redrive policy and the DLQ's redrive-allow policy.
        invoke = pulumi.InvokeOptions(parent=self)
        queue_arn = pulumi.Output.concat(
            "arn:",
            aws.get_partition_output(opts=invoke).partition,
            ":sqs:",
            aws.get_region_output(opts=invoke).region,
            ":",
            aws.get_caller_identity_output(opts=invoke).account_id,
            ":",
            queue_name,
        )

        dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            name=args["dead_letter_queue_name"],
            fifo_queue=fifo or None,
            message_retention_seconds=defaults.DLQ_RETENTION_SECONDS,
            receive_wait_time_seconds=defaults.RECEIVE_WAIT_SECONDS,
            kms_master_key_id=kms_key_arn,
            redrive_allow_policy=iam.json_string(
                {"redrivePermission": "byQueue", "sourceQueueArns": [queue_arn]}
            ),
            tags=component_tags(args.get("tags"), f"EventConsumer/{name}", "dlq"),
            opts=protected,
        )
        queue = aws.sqs.Queue(
            f"{name}-queue",
            name=queue_name,
            fifo_queue=fifo or None,
            message_retention_seconds=args.get(
                "message_retention_seconds", defaults.QUEUE_RETENTION_SECONDS
            ),
            visibility_timeout_seconds=visibility_timeout_seconds(args),
            receive_wait_time_seconds=defaults.RECEIVE_WAIT_SECONDS,
            kms_master_key_id=kms_key_arn,
            redrive_policy=iam.json_string(
                {
                    "deadLetterTargetArn": dead_letter_queue.arn,
                    "maxReceiveCount": args.get("max_receive_count", defaults.MAX_RECEIVE_COUNT),
                }
            ),
            tags=tags,
            opts=protected,
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-queue-policy",
            queue_url=queue.url,
            policy=iam.sns_delivery_policy(queue.arn, topic_arns),
            opts=child,
        )
        # SNS dead-letters what it cannot deliver into the same DLQ, so it must be allowed in.
        dead_letter_queue_policy = aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=dead_letter_queue.url,
            policy=iam.sns_delivery_policy(dead_letter_queue.arn, topic_arns),
            opts=child,
        )
        for subscription, topic_arn in zip(args["subscriptions"], topic_arns, strict=True):
            filter_policy = subscription.get("filter_policy")
            aws.sns.TopicSubscription(
                f"{name}-{subscription['label']}-subscription",
                topic=topic_arn,
                protocol="sqs",
                endpoint=queue.arn,
                raw_message_delivery=True,
                filter_policy=json.dumps(filter_policy) if filter_policy else None,
                filter_policy_scope="MessageAttributes" if filter_policy else None,
                redrive_policy=iam.json_string({"deadLetterTargetArn": dead_letter_queue.arn}),
                # Subscribing before the queue lets SNS in would drop the first messages.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[queue_policy, dead_letter_queue_policy]
                ),
            )

        target = checked_alarm_target(args["alarm_target"], "EventConsumer", name)
        metric_alarm(
            f"{name}-dlq-alarm",
            target=target,
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dead_letter_queue.name},
            statistic="Maximum",
            threshold=0,
            comparison="GreaterThanThreshold",
            description=f"Consumer {consumer} dead-lettered messages: inspect, fix, then redrive.",
            tags=tags,
            parent=self,
        )
        metric_alarm(
            f"{name}-age-alarm",
            target=target,
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": queue.name},
            statistic="Maximum",
            threshold=args.get("queue_age_alarm_seconds", defaults.QUEUE_AGE_ALARM_SECONDS),
            comparison="GreaterThanThreshold",
            description=f"Consumer {consumer} is falling behind: its oldest message is too old.",
            tags=tags,
            parent=self,
        )

        idempotency = args.get("idempotency")
        store = None
        if idempotency is not None:
            store = IdempotencyStore(
                f"{name}-idempotency",
                {
                    "table_name": idempotency["table_name"],
                    "kms_key_arn": kms_key_arn,
                    "tags": args.get("tags", {}),
                    "protect": args.get("protect", False),
                },
                opts=child,
            )

        self.function_arn = None
        self.consumer_policy_arn = None
        if args.get("runtime", "external") == "lambda":
            function_args: LambdaConsumerArgs = {
                **args["lambda_function"],
                "queue_arn": queue.arn,
                "kms_key_arn": kms_key_arn,
                "alarm_target": target,
                "idempotency_table_arn": store.table_arn if store is not None else None,
                "dead_letter_queue_arn": dead_letter_queue.arn,
                "tags": args.get("tags", {}),
            }
            events = [s for s in args["subscriptions"] if "event" in s]
            if events:
                function_args["schema_files"] = {
                    s["event"]: s.get("schema_file") or "" for s in events
                }
            function_args["environment"] = {
                **function_args.get("environment", {}),
                **runtime_environment(
                    consumer,
                    events,
                    fifo=fifo,
                    dead_letter_queue_url=dead_letter_queue.url,
                    table_name=store.table_name if store is not None else None,
                    idempotency=idempotency,
                ),
            }
            self.function_arn = LambdaConsumer(name, function_args, opts=child).function_arn
        else:
            statements = [
                iam.allow(iam.QUEUE_CONSUMER_ACTIONS, [queue.arn], "ConsumeQueue"),
                iam.allow(iam.KMS_DECRYPT_ACTIONS, [kms_key_arn], "DecryptMessages"),
            ]
            if store is not None:
                statements.append(
                    iam.allow(
                        iam.IDEMPOTENCY_TABLE_ACTIONS,
                        [store.table_arn],
                        "IdempotencyRecords",
                    )
                )
            self.consumer_policy_arn = aws.iam.Policy(
                f"{name}-consumer-policy",
                description=f"What the external consumer {consumer} needs to read its queue.",
                policy=iam.document(*statements),
                tags=tags,
                opts=child,
            ).arn

        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.dead_letter_queue_arn = dead_letter_queue.arn
        self.dead_letter_queue_url = dead_letter_queue.url
        self.idempotency_table_name = store.table_name if store else None
        self.register_outputs(
            {
                "queue_url": self.queue_url,
                "queue_arn": self.queue_arn,
                "dead_letter_queue_arn": self.dead_letter_queue_arn,
                "dead_letter_queue_url": self.dead_letter_queue_url,
                "idempotency_table_name": self.idempotency_table_name,
                "consumer_policy_arn": self.consumer_policy_arn,
                "function_arn": self.function_arn,
            }
        )


def runtime_environment(
    consumer: str,
    subscriptions: Sequence[SubscriptionArgs],
    *,
    fifo: bool,
    dead_letter_queue_url: pulumi.Input[str],
    table_name: pulumi.Input[str] | None,
    idempotency: ConsumerIdempotencyArgs | None,
) -> dict[str, pulumi.Input[str]]:
    """What eventinfra-runtime's Lambda consumer reads (runtime/CONTRACT.md, role
    `lambda-consumer`); the schemas are files in the package, not variables."""
    events = {
        s["event"]: {
            "destination": None,  # a consumer publishes nothing
            "schema_version": defaults.EVENT_SCHEMA_VERSION,
            "fifo": fifo,
            "group_key": s.get("group_key"),
        }
        for s in subscriptions
    }
    environment: dict[str, pulumi.Input[str]] = {
        "EVENTINFRA_BROKER": "sns",
        "EVENTINFRA_SERVICE": consumer,
        "EVENTINFRA_EVENTS": json.dumps(events, sort_keys=True, separators=(",", ":")),
        "EVENTINFRA_SCHEMAS_DIR": f"{defaults.LAMBDA_TASK_ROOT}/{SCHEMAS_FOLDER}",
        "EVENTINFRA_DEAD_LETTER_QUEUE_URL": dead_letter_queue_url,
    }
    if table_name is not None and idempotency is not None:
        environment["EVENTINFRA_IDEMPOTENCY_TABLE"] = table_name
        environment["EVENTINFRA_IDEMPOTENCY_TTL_SECONDS"] = str(
            idempotency.get("ttl_seconds", defaults.IDEMPOTENCY_TTL_SECONDS)
        )
        if key := idempotency.get("key"):
            environment["EVENTINFRA_IDEMPOTENCY_KEY"] = key
    return environment
