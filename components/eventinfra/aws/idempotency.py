"""IdempotencyStore: a DynamoDB table of processed messages, in the Powertools layout."""

from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults
from eventinfra.aws.tags import component_tags
from eventinfra.contract import raise_for, shape_problems


class IdempotencyStoreArgs(TypedDict):
    """A consumer's idempotency table."""

    kms_key_arn: pulumi.Input[str]
    """Records hold message identities: encrypted with the platform's key, not AWS's."""
    table_name: NotRequired[pulumi.Input[str]]
    """Physical name; default: Pulumi's auto-name."""
    tags: NotRequired[Mapping[str, str]]
    """Tags of the table."""
    protect: NotRequired[bool]
    """Protect the table from `pulumi destroy`; default false."""


class IdempotencyStore(pulumi.ComponentResource):
    """Records of processed messages, keyed `id` and expiring through the `expiration` TTL
    attribute: the layout AWS Lambda Powertools' idempotency utility reads and writes."""

    table_name: pulumi.Output[str]
    """Physical name of the table, handed to the consumer."""
    table_arn: pulumi.Output[str]
    """ARN of the table, for the consumer's IAM policy."""

    def __init__(
        self, name: str, args: IdempotencyStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        raise_for("IdempotencyStore", name, shape_problems(args, IdempotencyStoreArgs))
        super().__init__("eventinfra:index:IdempotencyStore", name, None, opts)
        table = aws.dynamodb.Table(
            f"{name}-table",
            name=args.get("table_name"),
            billing_mode="PAY_PER_REQUEST",
            hash_key=defaults.IDEMPOTENCY_HASH_KEY,
            attributes=[{"name": defaults.IDEMPOTENCY_HASH_KEY, "type": "S"}],
            ttl={"attribute_name": defaults.IDEMPOTENCY_TTL_ATTRIBUTE, "enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": args["kms_key_arn"]},
            tags=component_tags(args.get("tags"), f"IdempotencyStore/{name}", "idempotency"),
            opts=pulumi.ResourceOptions(parent=self, protect=args.get("protect", False)),
        )
        self.table_name = table.name
        self.table_arn = table.arn
        self.register_outputs({"table_name": self.table_name, "table_arn": self.table_arn})
