"""EventTopic: one SNS topic per event, encrypted, TLS-only, published to by its producers."""

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from eventinfra.aws import iam, validation
from eventinfra.aws.checked import checked
from eventinfra.aws.tags import component_tags
from eventinfra.contract import Finding, raise_for, shape_problems


class EventTopicArgs(TypedDict):
    """One event type's SNS topic."""

    kms_key_arn: pulumi.Input[str]
    """A customer-managed key (see EventKey): SNS cannot deliver into encrypted queues with
    the AWS-managed key."""
    topic_name: NotRequired[pulumi.Input[str]]
    """Physical name (a FIFO topic's ends in `.fifo`); default: Pulumi's auto-name."""
    fifo: NotRequired[bool]
    """Ordered, deduplicated delivery (an SNS FIFO topic, content-based deduplication);
    default false."""
    publisher_role_arns: NotRequired[Sequence[pulumi.Input[str]]]
    """Roles allowed to publish through the topic policy (producers' own IAM policies grant
    the rest within the account)."""
    only_publisher_roles: NotRequired[bool]
    """Deny `sns:Publish` to every principal but `publisher_role_arns`, when those are all the
    producers there are (an identity policy in the account could otherwise publish too)."""
    publisher_services: NotRequired[Sequence[str]]
    """AWS services allowed to publish, e.g. `cloudwatch.amazonaws.com` for an alerts topic."""
    tags: NotRequired[Mapping[str, str]]
    """Tags of the topic."""
    protect: NotRequired[bool]
    """Protect the topic from `pulumi destroy`; default false."""
    tracing: NotRequired[bool]
    """Active X-Ray tracing of the topic; default false."""


def topic_problems(args: EventTopicArgs) -> list[Finding]:
    """Every rule on a topic's Args, keys relative to them."""
    findings = shape_problems(args, EventTopicArgs)
    if isinstance(name := args.get("topic_name"), str):
        findings += validation.topic_name_problems(
            name, fifo=args.get("fifo", False), key=("topic_name",)
        )
    if isinstance(roles := args.get("publisher_role_arns"), list | tuple):
        for index, arn in enumerate(roles):
            if isinstance(arn, str):
                findings += validation.role_arn_problems(arn, ("publisher_role_arns", index))
    if "publisher_services" in args:
        findings += validation.service_principal_problems(
            args["publisher_services"],
            "publish to the topic (sns:Publish)",
            ("publisher_services",),
        )
    return findings


class EventTopic(pulumi.ComponentResource):
    """An SNS topic for one event type."""

    topic_arn: pulumi.Output[str]
    """ARN of the topic; producers publish here, consumers subscribe here."""
    topic_name: pulumi.Output[str]
    """Physical name of the topic."""

    def __init__(
        self, name: str, args: EventTopicArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        raise_for("EventTopic", name, topic_problems(args))
        super().__init__("eventinfra:index:EventTopic", name, None, opts)
        fifo = args.get("fifo", False)
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=args.get("topic_name"),
            fifo_topic=fifo or None,
            content_based_deduplication=fifo or None,
            kms_master_key_id=args["kms_key_arn"],
            tracing_config="Active" if args.get("tracing", False) else None,
            tags=component_tags(args.get("tags"), f"EventTopic/{name}"),
            opts=pulumi.ResourceOptions(parent=self, protect=args.get("protect", False)),
        )
        statements = [iam.deny_insecure_transport(iam.SNS_TLS_ACTIONS, topic.arn)]
        roles = [
            checked(
                arn, validation.role_arn_problems, "EventTopic", name, ("publisher_role_arns", i)
            )
            for i, arn in enumerate(args.get("publisher_role_arns", []))
        ]
        if roles:
            statements.append(
                {
                    "Sid": "AllowProducers",
                    "Effect": "Allow",
                    "Principal": {"AWS": roles},
                    "Action": ["sns:Publish"],
                    "Resource": topic.arn,
                }
            )
            if args.get("only_publisher_roles", False):
                statements.append(
                    {
                        "Sid": "DenyOtherPublishers",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": ["sns:Publish"],
                        "Resource": topic.arn,
                        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": roles}},
                    }
                )
        if services := list(args.get("publisher_services", [])):
            statements.append(
                {
                    "Sid": "AllowServices",
                    "Effect": "Allow",
                    "Principal": {"Service": services},
                    "Action": ["sns:Publish"],
                    "Resource": topic.arn,
                    "Condition": {
                        "StringEquals": {
                            "aws:SourceAccount": aws.get_caller_identity_output(
                                opts=pulumi.InvokeOptions(parent=self)
                            ).account_id
                        }
                    },
                }
            )
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=topic.arn,
            policy=iam.document(*statements),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.topic_arn = topic.arn
        self.topic_name = topic.name
        self.register_outputs({"topic_arn": self.topic_arn, "topic_name": self.topic_name})
