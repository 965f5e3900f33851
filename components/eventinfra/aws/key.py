"""EventKey: the customer-managed KMS key that topics and queues are encrypted with."""

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults, iam, validation
from eventinfra.aws.tags import component_tags
from eventinfra.contract import raise_for, shape_problems

# Administration and use, listed rather than `kms:*`: PutKeyPolicy keeps the key governable.
ACCOUNT_KEY_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt",
    "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation",
    "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListResourceTags",
    "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RetireGrant",
    "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
    "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)  # fmt: skip


class EventKeyArgs(TypedDict):
    """The platform's KMS key."""

    description: NotRequired[pulumi.Input[str]]
    """The key's description; default `eventinfra topics and queues`."""
    service_principals: NotRequired[Sequence[str]]
    """Services that must encrypt with the key, beside SNS (e.g. `cloudwatch.amazonaws.com`
    for alarms published to an encrypted topic)."""
    publisher_role_arns: NotRequired[Sequence[pulumi.Input[str]]]
    """Roles of other accounts that publish to topics encrypted with the key: they may use it
    through SNS only (their own account must grant them `kms:GenerateDataKey` and
    `kms:Decrypt` too)."""
    tags: NotRequired[Mapping[str, str]]
    """Tags of the key."""


class EventKey(pulumi.ComponentResource):
    """A rotating KMS key whose policy lets SNS deliver into queues encrypted with it.

    AWS-managed keys (`alias/aws/sqs`) cannot be used behind SNS: their policy cannot grant
    SNS, so deliveries fail silently.
    """

    key_arn: pulumi.Output[str]
    """ARN of the key."""
    key_id: pulumi.Output[str]
    """ID of the key."""

    def __init__(
        self, name: str, args: EventKeyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        raise_for(
            "EventKey",
            name,
            [
                *shape_problems(args, EventKeyArgs),
                *validation.service_principal_problems(
                    args.get("service_principals", []),
                    "encrypt with the key (kms:GenerateDataKey)",
                    ("service_principals",),
                ),
            ],
        )
        super().__init__("eventinfra:index:EventKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        partition_info = aws.get_partition_output(opts=invoke)
        partition = partition_info.partition
        services = ["sns.amazonaws.com", *args.get("service_principals", [])]
        statements: list[iam.Statement] = []
        if publishers := args.get("publisher_role_arns"):
            region = aws.get_region_output(opts=invoke).region
            statements.append(
                {
                    # A role of another account is not covered by AccountAdministers: without
                    # this, KMS refuses its publishes to an encrypted topic.
                    "Sid": "OtherAccountPublishersEncryptViaSns",
                    "Effect": "Allow",
                    "Principal": {"AWS": list(publishers)},
                    "Action": list(iam.KMS_PUBLISH_ACTIONS),
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": pulumi.Output.concat(
                                "sns.", region, ".", partition_info.dns_suffix
                            )
                        }
                    },
                }
            )
        key = aws.kms.Key(
            f"{name}-key",
            description=args.get("description", "eventinfra topics and queues"),
            enable_key_rotation=True,
            deletion_window_in_days=defaults.KMS_DELETION_WINDOW_DAYS,
            policy=iam.document(
                {
                    # The account keeps control of its key; IAM policies grant use from here.
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": pulumi.Output.concat(
                            "arn:", partition, ":iam::", account_id, ":root"
                        )
                    },
                    "Action": list(ACCOUNT_KEY_ACTIONS),
                    # In a key policy "*" means this key; KMS accepts nothing else here.
                    "Resource": "*",
                },
                {
                    "Sid": "ServicesEncryptMessages",
                    "Effect": "Allow",
                    "Principal": {"Service": services},
                    "Action": list(iam.KMS_PUBLISH_ACTIONS),
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
                *statements,
            ),
            tags=component_tags(args.get("tags"), f"EventKey/{name}"),
            opts=child,
        )
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"key_arn": self.key_arn, "key_id": self.key_id})
