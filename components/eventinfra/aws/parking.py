"""ParkingQueue: where an event nobody consumes yet waits instead of vanishing."""

from collections.abc import Mapping
from typing import NotRequired, TypedDict

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
from eventinfra.aws.tags import component_tags
from eventinfra.contract import Finding, raise_for, shape_problems

# Warn two days before parked messages start expiring.
EXPIRY_WARNING_SECONDS = defaults.PARKING_RETENTION_SECONDS - 2 * 86_400


class ParkingQueueArgs(TypedDict):
    """A parking queue for one event that no consumer subscribes to yet."""

    topic_arn: pulumi.Input[str]
    """ARN of the event's topic (see EventTopic)."""
    kms_key_arn: pulumi.Input[str]
    """A customer-managed key whose policy lets SNS encrypt (see EventKey)."""
    alarm_target: AlarmTargetArgs
    """Where the alarm goes when parked messages are about to expire."""
    queue_name: NotRequired[pulumi.Input[str]]
    """Physical name (a FIFO queue's ends in `.fifo`); default: Pulumi's auto-name."""
    fifo: NotRequired[bool]
    """A FIFO queue, for a FIFO topic; default false."""
    tags: NotRequired[Mapping[str, str]]
    """Tags for every resource that takes them."""
    protect: NotRequired[bool]
    """Protect the queue from `pulumi destroy`; default false."""


def parking_problems(args: ParkingQueueArgs) -> list[Finding]:
    findings = shape_problems(args, ParkingQueueArgs)
    if "alarm_target" in args:
        findings += alarm_target_problems(args["alarm_target"])
    if isinstance(arn := args.get("topic_arn"), str):
        findings += validation.topic_arn_problems(arn, ("topic_arn",))
    if isinstance(name := args.get("queue_name"), str):
        findings += validation.queue_name_problems(
            name, fifo=args.get("fifo", False), key=("queue_name",)
        )
    return findings


class ParkingQueue(pulumi.ComponentResource):
    """A 14-day queue subscribed to an unconsumed event.

    SNS drops a message published to a topic without subscribers; parked messages can be
    redriven to the first real consumer. The queue is terminal (`redriveAllowPolicy:
    denyAll`, role tag `parking`): nothing reads it, so it has no DLQ of its own.
    """

    queue_url: pulumi.Output[str]
    """URL of the parking queue."""
    queue_arn: pulumi.Output[str]
    """ARN of the parking queue."""

    def __init__(
        self, name: str, args: ParkingQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        raise_for("ParkingQueue", name, parking_problems(args))
        super().__init__("eventinfra:index:ParkingQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        topic_arn = checked(
            args["topic_arn"], validation.topic_arn_problems, "ParkingQueue", name, ("topic_arn",)
        )
        target = checked_alarm_target(args["alarm_target"], "ParkingQueue", name)
        fifo = args.get("fifo", False)
        tags = component_tags(args.get("tags"), f"ParkingQueue/{name}", "parking")
        queue = aws.sqs.Queue(
            f"{name}-queue",
            name=args.get("queue_name"),
            fifo_queue=fifo or None,
            message_retention_seconds=defaults.PARKING_RETENTION_SECONDS,
            receive_wait_time_seconds=defaults.RECEIVE_WAIT_SECONDS,
            kms_master_key_id=args["kms_key_arn"],
            redrive_allow_policy=iam.json_string({"redrivePermission": "denyAll"}),
            tags=tags,
            # Kept when the platform drops it: the update that adds the event's first consumer
            # removes this component, and the parked events must wait for `eventinfra replay`.
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.get("protect", False), retain_on_delete=True
            ),
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-queue-policy",
            queue_url=queue.url,
            policy=iam.sns_delivery_policy(queue.arn, [topic_arn]),
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-subscription",
            topic=topic_arn,
            protocol="sqs",
            endpoint=queue.arn,
            raw_message_delivery=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
        )
        metric_alarm(
            f"{name}-expiry-alarm",
            target=target,
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": queue.name},
            statistic="Maximum",
            threshold=EXPIRY_WARNING_SECONDS,
            comparison="GreaterThanThreshold",
            description=f"Parked events in {name} expire within two days: add a consumer "
            "and redrive them.",
            tags=tags,
            parent=self,
        )
        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.register_outputs({"queue_url": self.queue_url, "queue_arn": self.queue_arn})
