"""Security baseline for the messaging resources: encryption, resource policies, KMS, IAM."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from ..common import (
    IAM_GROUP_POLICY,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_USER_POLICY,
    KMS_KEY,
    QUEUE,
    QUEUE_POLICY,
    TOPIC,
    TOPIC_POLICY,
    ReportResourceViolation,
    Res,
    Stack,
    as_list,
    condition_values,
    get,
    json_prop,
    plain,
    queue_policies,
    resource_validator,
    stack_validator,
    statements,
    topic_policies,
    truthy,
)

# Conditions that pin an "anyone" principal to this account, organisation or a source resource.
CONSTRAINING_KEYS: Final = (
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:SourceOwner",
    "aws:PrincipalOrgID",
    "aws:PrincipalAccount",
    "aws:SourceVpce",
    "aws:SourceVpc",
)
CHECKOV = PolicyComplianceFramework(name="Checkov", version="3", reference="https://www.checkov.io")


# ---------------------------------------------------------------- sqs-queue-encrypted


@resource_validator([QUEUE])
def _check_queue_encrypted(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    key = get(args.props, "kmsMasterKeyId")
    managed = get(args.props, "sqsManagedSseEnabled")
    if args.get_config().get("requireCmk", False):
        if not key or str(key).startswith("alias/aws/"):
            report_violation(
                f"SQS queue '{args.name}' must be encrypted with a customer-managed KMS key, "
                "because the policy config requires CMKs (key policy and rotation under your "
                "control). Set kmsMasterKeyId to an aws.kms.Key's ARN."
            )
        return
    if not key and managed is not None and not truthy(managed):
        report_violation(
            f"SQS queue '{args.name}' must be encrypted at rest, because messages carry business "
            "data; it sets sqsManagedSseEnabled=false and no kmsMasterKeyId. Set kmsMasterKeyId "
            "to a customer-managed key (or sqsManagedSseEnabled=true)."
        )


sqs_queue_encrypted = ResourceValidationPolicy(
    name="sqs-queue-encrypted",
    description="SQS queues are encrypted at rest (KMS, or SSE-SQS unless requireCmk).",
    validate=_check_queue_encrypted,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="SQS queues are encrypted",
    config_schema=PolicyConfigSchema(
        properties={"requireCmk": {"type": "boolean", "default": False}}
    ),
    remediation_steps="Set kmsMasterKeyId to a customer-managed KMS key.",
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/sqs-controls.html#sqs-1",
    framework=CHECKOV,
    tags=["security", "encryption", "AwsSolutions-SQS2", "CKV_AWS_27", "SQS.1", "CT.SQS.PR.2"],
)


# ---------------------------------------------------------------- sns-topic-encrypted


@resource_validator([TOPIC])
def _check_topic_encrypted(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    key = get(args.props, "kmsMasterKeyId")
    if not key:
        report_violation(
            f"SNS topic '{args.name}' must be encrypted with a customer-managed KMS key, because "
            "published events are stored unencrypted otherwise. Set kmsMasterKeyId to an "
            "aws.kms.Key whose key policy grants the publishers and sns.amazonaws.com."
        )
    elif str(key).startswith("alias/aws/") and args.get_config().get("requireCmk", True):
        report_violation(
            f"SNS topic '{args.name}' must be encrypted with a customer-managed KMS key instead of "
            f"{key}, because CloudWatch alarms and other AWS services cannot publish to a topic "
            "encrypted with an AWS-managed key. Set kmsMasterKeyId to an aws.kms.Key's ARN."
        )


sns_topic_encrypted = ResourceValidationPolicy(
    name="sns-topic-encrypted",
    description="SNS topics are encrypted with a customer-managed KMS key.",
    validate=_check_topic_encrypted,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="SNS topics are encrypted",
    config_schema=PolicyConfigSchema(
        properties={"requireCmk": {"type": "boolean", "default": True}}
    ),
    remediation_steps="Set kmsMasterKeyId to a customer-managed KMS key.",
    url="https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html",
    framework=CHECKOV,
    tags=["security", "encryption", "CKV_AWS_26", "SNS.1", "cdk-nag:SNSEncryptedKMS"],
)


# ---------------------------------------------------------------- resource-policy-not-public


def _is_anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in [str(p) for p in as_list(principal.get("AWS"))]
    return False


@resource_validator([QUEUE_POLICY, TOPIC_POLICY, QUEUE, TOPIC])
def _check_not_public(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    document = json_prop(args.props, "policy")
    kind = "SNS topic policy" if args.resource_type in (TOPIC, TOPIC_POLICY) else "SQS queue policy"
    for index, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        label = statement.get("Sid") or f"#{index}"
        if "*" in [str(a) for a in as_list(statement.get("Action"))]:
            report_violation(
                f"{kind} '{args.name}' must not allow Action \"*\" (statement {label}), because "
                "that also grants deleting, purging and re-permissioning the resource. List the "
                "actions the principal needs (sqs:SendMessage, sns:Publish)."
            )
        if _is_anyone(statement.get("Principal")) and not any(
            condition_values(statement, key) for key in CONSTRAINING_KEYS
        ):
            report_violation(
                f"{kind} '{args.name}' must not allow any principal (\"*\") without a condition "
                f"(statement {label}), because anyone with an AWS account could then use it. Name "
                "the principal (a service or account), or add an aws:SourceArn/aws:SourceAccount "
                "condition."
            )


resource_policy_not_public = ResourceValidationPolicy(
    name="resource-policy-not-public",
    description="Queue and topic policies allow no unconstrained '*' principal and no Action '*'.",
    validate=_check_not_public,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Queue and topic policies are not public",
    remediation_steps="Name the principal, or constrain '*' with aws:SourceArn/aws:SourceAccount; "
    "list actions explicitly.",
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/sqs-controls.html#sqs-3",
    framework=CHECKOV,
    tags=[
        "security",
        "CKV_AWS_168",
        "CKV_AWS_169",
        "CKV_AWS_72",
        "CKV_AWS_385",
        "CKV_AWS_387",
        "SQS.3",
    ],
)


# ---------------------------------------------------------------- sqs-queue-policy-source-arn-exact

# Condition keys that name *which* source may use the queue; a pattern there lets any match in.
SOURCE_KEYS: Final = ("aws:SourceArn", "aws:SourceAccount")


def _is_pattern(value: str) -> bool:
    return "*" in value or "?" in value


@resource_validator([QUEUE_POLICY, QUEUE])
def _check_source_arn_exact(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    document = json_prop(args.props, "policy")
    for index, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        label = statement.get("Sid") or f"#{index}"
        for key in SOURCE_KEYS:
            wild = [v for v in condition_values(statement, key) if _is_pattern(v)]
            if wild:
                shown = ", ".join(f'"{v}"' for v in wild)
                report_violation(
                    f"SQS queue policy '{args.name}' must name its sources exactly (statement "
                    f"{label} allows {key} {shown}), because a wildcard lets every matching topic "
                    "or account send, including ones created later or owned by others. Use the "
                    "exact topic ARN (or account ID) with ArnEquals/StringEquals."
                )


sqs_queue_policy_source_arn_exact = ResourceValidationPolicy(
    name="sqs-queue-policy-source-arn-exact",
    description="Queue policies allow senders by exact aws:SourceArn/aws:SourceAccount, never by "
    "a wildcard ('*' or '?').",
    validate=_check_source_arn_exact,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Queue policies name their sources exactly",
    remediation_steps="Replace wildcard aws:SourceArn/aws:SourceAccount values with the exact "
    "topic ARNs or account IDs.",
    url="https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html",
    tags=["security", "sqs", "confused-deputy"],
)


# ---------------------------------------------------------------- resource-policy-tls-only


def _denies_insecure_transport(document: Any) -> bool:
    for statement in statements(document):
        if statement.get("Effect") != "Deny" or not _is_anyone(statement.get("Principal")):
            continue
        if "false" in [v.lower() for v in condition_values(statement, "aws:SecureTransport")]:
            return True
    return False


@stack_validator([QUEUE, TOPIC])
def _check_tls_only(stack: Stack, resource: Res, report_violation: ReportViolation) -> None:
    is_queue = resource.type == QUEUE
    documents = queue_policies(stack, resource) if is_queue else topic_policies(stack, resource)
    if any(_denies_insecure_transport(d) for d in documents):
        return
    kind, policy = (
        ("SQS queue", "aws.sqs.QueuePolicy") if is_queue else ("SNS topic", "aws.sns.TopicPolicy")
    )
    report_violation(
        f"{kind} '{resource.name}' must deny requests without TLS, because its policy "
        "otherwise accepts plain-HTTP calls that expose messages in transit. Add to its "
        f'{policy} a statement: Effect Deny, Principal "*", Action all, Condition '
        '{"Bool": {"aws:SecureTransport": "false"}}.',
        resource.urn,
    )


resource_policy_tls_only = StackValidationPolicy(
    name="resource-policy-tls-only",
    description="Every queue and topic has a policy denying aws:SecureTransport=false.",
    validate=_check_tls_only,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    display_name="Queues and topics require TLS",
    remediation_steps="Add a Deny statement on aws:SecureTransport = false to the queue/topic "
    "policy.",
    url="https://github.com/cdklabs/cdk-nag/blob/main/RULES.md",
    tags=["security", "AwsSolutions-SQS4", "AwsSolutions-SNS3"],
)


# ---------------------------------------------------------------- kms-key-rotation


@resource_validator([KMS_KEY])
def _check_rotation(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    spec = (
        get(args.props, "customerMasterKeySpec")
        or get(args.props, "keySpec")
        or "SYMMETRIC_DEFAULT"
    )
    usage = get(args.props, "keyUsage") or "ENCRYPT_DECRYPT"
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        return  # AWS rotates only symmetric encryption keys
    if not truthy(get(args.props, "enableKeyRotation")):
        report_violation(
            f"KMS key '{args.name}' must rotate its key material, because a key used for years "
            "widens what one leaked key exposes. Set enableKeyRotation=True."
        )


kms_key_rotation = ResourceValidationPolicy(
    name="kms-key-rotation",
    description="Symmetric customer-managed KMS keys have automatic rotation enabled.",
    validate=_check_rotation,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="KMS keys rotate",
    remediation_steps="Set enableKeyRotation=True on the key.",
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-4",
    framework=CHECKOV,
    tags=["security", "kms", "AwsSolutions-KMS5", "CKV_AWS_7", "KMS.4", "CT.KMS.PR.1"],
)


# ---------------------------------------------------------------- iam-no-wildcards


def _iam_documents(args: ResourceValidationArgs) -> list[Any]:
    if args.resource_type == IAM_ROLE:
        return [
            json_prop(policy, "policy")
            for policy in as_list(plain(get(args.props, "inlinePolicies")))
            if isinstance(policy, Mapping)
        ]
    return [json_prop(args.props, "policy")]


@resource_validator([IAM_POLICY, IAM_ROLE_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY, IAM_ROLE])
def _check_iam_wildcards(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    allowed = {str(a).lower() for a in as_list(args.get_config().get("allowedActions"))}
    for document in _iam_documents(args):
        for index, statement in enumerate(statements(document)):
            if statement.get("Effect") != "Allow":
                continue
            label = statement.get("Sid") or f"#{index}"
            actions = [str(a) for a in as_list(statement.get("Action"))]
            wild = [a for a in actions if "*" in a and a.lower() not in allowed]
            if wild or "NotAction" in statement:
                shown = ", ".join(wild) if wild else "NotAction"
                report_violation(
                    f"IAM policy '{args.name}' must list actions explicitly (statement {label} "
                    f"allows {shown}), because wildcards grant actions nobody reviewed, including "
                    "ones AWS adds later. Replace them with the exact actions the consumer or "
                    "producer calls."
                )
            if "*" in [str(r) for r in as_list(statement.get("Resource"))] and not all(
                a.lower() in allowed for a in actions
            ):
                report_violation(
                    f"IAM policy '{args.name}' must not grant Resource \"*\" (statement {label}), "
                    "because it reaches every queue, topic and table in the account. Name the "
                    "ARNs of the resources it uses."
                )


iam_no_wildcards = ResourceValidationPolicy(
    name="iam-no-wildcards",
    description="IAM policies use no wildcard actions and no Resource '*' (KMS key policies are "
    "not IAM policies and are not checked).",
    validate=_check_iam_wildcards,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="IAM policies have no wildcards",
    config_schema=PolicyConfigSchema(
        properties={
            "allowedActions": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            }
        }
    ),
    remediation_steps="Replace wildcard actions and Resource '*' with explicit actions and ARNs.",
    url="https://github.com/cdklabs/cdk-nag/blob/main/RULES.md",
    tags=["security", "iam", "AwsSolutions-IAM5", "Serverless-LambdaStarPermissions"],
)


POLICIES: Final = [
    sqs_queue_encrypted,
    sns_topic_encrypted,
    resource_policy_not_public,
    sqs_queue_policy_source_arn_exact,
    resource_policy_tls_only,
    kms_key_rotation,
    iam_no_wildcards,
]
