"""EventProducer: the least-privilege publish policy for one producer."""

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from eventinfra.aws import iam, validation
from eventinfra.aws.checked import checked
from eventinfra.aws.tags import component_tags
from eventinfra.contract import Finding, raise_for, shape_problems
from eventinfra.keypaths import KeyPath


class EventProducerArgs(TypedDict):
    """One producer: the topics it publishes to."""

    topic_arns: Sequence[pulumi.Input[str]]
    """ARNs of the topics the producer publishes to (at least one)."""
    kms_key_arn: pulumi.Input[str]
    """The key the topics are encrypted with: publishing needs a data key from it."""
    role_name: NotRequired[pulumi.Input[str] | None]
    """An existing role to attach the policy to (the producer's service role)."""
    tags: NotRequired[Mapping[str, str]]
    """Tags of the policy."""
    producer: NotRequired[str]
    """The producer's name in descriptions people read (default: the component's name); an IAM
    policy's description cannot change without replacing the policy."""


def producer_problems(args: EventProducerArgs) -> list[Finding]:
    findings = shape_problems(args, EventProducerArgs)
    if "topic_arns" in args and not args["topic_arns"]:
        # IAM refuses a statement without resources: say so before the deployment does.
        findings.append(Finding(("topic_arns",), "expected at least one topic ARN, found none."))
    if isinstance(arns := args.get("topic_arns"), list | tuple):
        for index, arn in enumerate(arns):
            if isinstance(arn, str):
                findings += _publish_topic_arn_problems(arn, ("topic_arns", index))
    if isinstance(key_arn := args.get("kms_key_arn"), str):
        findings += _encrypt_key_arn_problems(key_arn, ("kms_key_arn",))
    return findings


def _publish_topic_arn_problems(arn: object, key: KeyPath) -> list[Finding]:
    return validation.topic_arn_problems(arn, key, validation.PUBLISH_USE)


def _encrypt_key_arn_problems(arn: object, key: KeyPath) -> list[Finding]:
    return validation.resource_arn_problems(
        arn, "KMS key", "the producer's kms:GenerateDataKey grant", key
    )


class EventProducer(pulumi.ComponentResource):
    """An IAM managed policy allowing `sns:Publish` on exactly the producer's topics."""

    policy_arn: pulumi.Output[str]
    """ARN of the publish policy; attach it to the producer's role."""

    def __init__(
        self, name: str, args: EventProducerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        raise_for("EventProducer", name, producer_problems(args))
        super().__init__("eventinfra:index:EventProducer", name, None, opts)
        topic_arns = [
            checked(arn, _publish_topic_arn_problems, "EventProducer", name, ("topic_arns", i))
            for i, arn in enumerate(args["topic_arns"])
        ]
        policy = aws.iam.Policy(
            f"{name}-publish-policy",
            description=f"Lets {args.get('producer', name)} publish its events, and nothing else.",
            policy=iam.document(
                iam.allow(["sns:Publish"], topic_arns, "PublishEvents"),
                # Publishing to an encrypted topic needs a data key from the topic's key.
                iam.allow(
                    iam.KMS_PUBLISH_ACTIONS,
                    [
                        checked(
                            args["kms_key_arn"],
                            _encrypt_key_arn_problems,
                            "EventProducer",
                            name,
                            ("kms_key_arn",),
                        )
                    ],
                    "EncryptEvents",
                ),
            ),
            tags=component_tags(args.get("tags"), f"EventProducer/{name}"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if role_name := args.get("role_name"):
            aws.iam.RolePolicyAttachment(
                f"{name}-publish-policy-attachment",
                role=role_name,
                policy_arn=policy.arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.policy_arn = policy.arn
        self.register_outputs({"policy_arn": self.policy_arn})
