"""Delivery and dead-letter policies: SNS → SQS permissions, DLQs, redrive settings."""

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
    StackValidationArgs,
    StackValidationPolicy,
)

from ..common import (
    KMS_ALIAS,
    KMS_KEY,
    QUEUE,
    REDRIVE_POLICY,
    SQS_DEFAULT_RETENTION_SECONDS,
    SQS_MAX_RETENTION_SECONDS,
    SUBSCRIPTION,
    TOPIC,
    ReportResourceViolation,
    Res,
    Stack,
    Unknown,
    allows,
    as_list,
    condition_values,
    is_dlq,
    is_parking,
    json_prop,
    number,
    queue_graph,
    queue_policies,
    resource_validator,
    seconds,
    service_principals,
    stack_validator,
    truthy,
)

SNS_PRINCIPAL: Final = "sns.amazonaws.com"
DLQ_PROTOCOLS: Final = ("sqs", "lambda", "http", "https")
DEFAULT_MIN_RECEIVE_COUNT: Final = 5
DEFAULT_MAX_RECEIVE_COUNT: Final = 50

SQS_DLQ_GUIDE: Final = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
    "sqs-dead-letter-queues.html"
)
SNS_SQS_GUIDE: Final = (
    "https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html"
)
SNS_SSE_GUIDE: Final = (
    "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
    "#compatibility-with-aws-services"
)
SNS_DLQ_GUIDE: Final = "https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html"
LAMBDA_SQS_RETRIES: Final = (
    "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"
)
CDK_NAG: Final = PolicyComplianceFramework(
    name="cdk-nag", version="2", reference="https://github.com/cdklabs/cdk-nag/blob/main/RULES.md"
)


# ---------------------------------------------------------------- sns-sqs-delivery-allowed


def _lets_topic_send(document: Any, topic_arn: str) -> bool:
    for statement in as_list(document.get("Statement") if isinstance(document, Mapping) else None):
        if not isinstance(statement, Mapping) or not allows(statement, "sqs:SendMessage"):
            continue
        principal = statement.get("Principal")
        if SNS_PRINCIPAL not in service_principals(statement) and principal != "*":
            continue
        if topic_arn in condition_values(statement, "aws:SourceArn"):
            return True
    return False


@stack_validator([SUBSCRIPTION])
def _check_delivery_allowed(
    stack: Stack, subscription: Res, report_violation: ReportViolation
) -> None:
    if subscription.known("protocol") != "sqs":
        return
    graph = stack.joined(queue_graph)
    queue = graph.by_arn.get(subscription.get("endpoint") or "")
    topic_arn = subscription.get("topic")
    if queue is None or not topic_arn:
        return  # a queue outside this stack: its owner's policy decides
    documents = queue_policies(stack, queue)
    if not any(_lets_topic_send(d, topic_arn) for d in documents):
        report_violation(
            f"SQS queue '{queue.name}' must let SNS topic {topic_arn} send to it, because "
            "SNS silently drops every message a queue policy does not allow. Add an "
            "aws.sqs.QueuePolicy statement: Effect Allow, Principal "
            '{"Service": "sns.amazonaws.com"}, Action sqs:SendMessage, Condition '
            f'{{"ArnEquals": {{"aws:SourceArn": "{topic_arn}"}}}}.',
            queue.urn,
        )


sns_sqs_delivery_allowed = StackValidationPolicy(
    name="sns-sqs-delivery-allowed",
    description="An SQS queue subscribed to an SNS topic has a queue policy letting exactly that "
    "topic send to it (aws:SourceArn).",
    validate=_check_delivery_allowed,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="SNS may deliver to its SQS subscribers",
    remediation_steps="Attach an aws.sqs.QueuePolicy allowing sns.amazonaws.com sqs:SendMessage "
    "with Condition ArnEquals aws:SourceArn = the topic ARN.",
    url=SNS_SQS_GUIDE,
    tags=["delivery", "sns", "sqs"],
)


# ---------------------------------------------------------------- sns-sqs-encryption-compatible


def _key_grants_sns(document: Any) -> bool:
    needed = ("kms:GenerateDataKey", "kms:Decrypt")
    for action in needed:
        granted = False
        for statement in as_list(
            document.get("Statement") if isinstance(document, Mapping) else None
        ):
            if (
                isinstance(statement, Mapping)
                and SNS_PRINCIPAL in service_principals(statement)
                and allows(statement, action)
            ):
                granted = True
        if not granted:
            return False
    return True


def _check_encryption_compatible(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    stack = Stack(args)
    graph = queue_graph(stack)
    keys = stack.index(KMS_KEY, "arn", "keyId", "id")
    aliases = stack.index(KMS_ALIAS, "name", "arn")
    behind_sns: dict[str, Res] = {}
    for subscription in stack.of(SUBSCRIPTION):
        with stack.checking(subscription):
            arns = []
            if subscription.get("protocol") == "sqs":
                arns.append(subscription.get("endpoint"))
            redrive = subscription.json("redrivePolicy")
            if isinstance(redrive, Mapping):
                arns.append(redrive.get("deadLetterTargetArn"))
            for arn in arns:
                queue = graph.by_arn.get(str(arn))
                if queue is not None:
                    behind_sns[queue.urn] = queue
    for queue in behind_sns.values():
        with stack.checking(queue):
            key_id = queue.get("kmsMasterKeyId")
            fix = (
                "Encrypt it with a customer-managed aws.kms.Key whose key policy allows "
                'Principal {"Service": "sns.amazonaws.com"} kms:GenerateDataKey and kms:Decrypt.'
            )
            if not key_id:
                if truthy(queue.get("sqsManagedSseEnabled")):
                    report_violation(
                        f"SQS queue '{queue.name}' must use a customer-managed KMS key instead of "
                        "SQS-managed encryption (sqsManagedSseEnabled), because SNS cannot be "
                        f"granted use of a key it does not control and delivery fails. {fix}",
                        queue.urn,
                    )
                continue
            key_id = str(key_id)
            if key_id.startswith("alias/aws/"):
                report_violation(
                    f"SQS queue '{queue.name}' must use a customer-managed KMS key instead of the "
                    f"AWS-managed key {key_id}, because its key policy cannot grant SNS and "
                    f"every message SNS delivers to it is lost. {fix}",
                    queue.urn,
                )
                continue
            alias = aliases.get(key_id)
            if alias is not None:
                key_id = str(alias.get("targetKeyId") or "")
            key = keys.get(key_id)
            if key is None:
                continue  # a key outside this stack: its policy cannot be read here
            if not _key_grants_sns(key.json("policy")):
                report_violation(
                    f"SQS queue '{queue.name}' must be encrypted with a KMS key whose key policy "
                    f"grants sns.amazonaws.com, because SNS must encrypt what it delivers to the "
                    f"queue; key '{key.name}' does not. Add a key policy statement: Principal "
                    '{"Service": "sns.amazonaws.com"}, Action [kms:GenerateDataKey, kms:Decrypt].',
                    queue.urn,
                )
    stack.finish()


sns_sqs_encryption_compatible = StackValidationPolicy(
    name="sns-sqs-encryption-compatible",
    description="An encrypted queue behind SNS uses a customer-managed KMS key whose key policy "
    "grants sns.amazonaws.com.",
    validate=_check_encryption_compatible,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="SNS can encrypt for its encrypted SQS subscribers",
    remediation_steps="Use a customer-managed KMS key (not alias/aws/sqs, not SSE-SQS) and grant "
    "sns.amazonaws.com kms:GenerateDataKey and kms:Decrypt in its key policy.",
    url=SNS_SSE_GUIDE,
    tags=["delivery", "encryption", "sns", "sqs"],
)


# ---------------------------------------------------------------- sqs-queue-has-dlq


@stack_validator([QUEUE])
def _check_queue_has_dlq(stack: Stack, queue: Res, report_violation: ReportViolation) -> None:
    graph = stack.joined(queue_graph)
    if queue.urn in graph.unreadable:
        raise Unknown(graph.unreadable[queue.urn])
    if queue.urn in graph.dlq_of or is_dlq(queue, graph) or is_parking(queue):
        return
    report_violation(
        f"SQS queue '{queue.name}' must have a dead-letter queue, because a message that "
        "keeps failing is otherwise retried until it expires and is lost. Set "
        "redrivePolicy = json.dumps("
        '{"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 5}) '
        "on it (the DLQ gets redriveAllowPolicy byQueue), or tag a terminal parking queue "
        "eventinfra:role=parking with redriveAllowPolicy denyAll.",
        queue.urn,
    )


sqs_queue_has_dlq = StackValidationPolicy(
    name="sqs-queue-has-dlq",
    description="Every SQS queue has a dead-letter queue, unless it is itself a DLQ "
    "(redriveAllowPolicy or another queue's redrive target) or a terminal parking queue.",
    validate=_check_queue_has_dlq,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="SQS queues have a dead-letter queue",
    remediation_steps="Add a DLQ (same type, retention 14 days) and set the queue's redrivePolicy "
    "to it with maxReceiveCount 5 or more.",
    url="https://github.com/cdklabs/cdk-nag/blob/main/RULES.md",
    framework=CDK_NAG,
    tags=["dlq", "sqs", "AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy", "CT.SQS.PR.1"],
)


# ---------------------------------------------------------------- sqs-max-receive-count


@resource_validator([QUEUE, REDRIVE_POLICY])
def _check_max_receive_count(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    config = args.get_config()
    minimum = number(config.get("minimum"), DEFAULT_MIN_RECEIVE_COUNT)
    maximum = number(config.get("maximum"), DEFAULT_MAX_RECEIVE_COUNT)
    policy = json_prop(args.props, "redrivePolicy")
    if not isinstance(policy, Mapping) or not policy.get("deadLetterTargetArn"):
        return
    count = number(policy.get("maxReceiveCount"), 0)
    if count < minimum:
        report_violation(
            f"SQS queue '{args.name}' must set maxReceiveCount to at least {minimum:g} (found "
            f"{count:g}), because a Lambda consumer that is throttled or retried counts receives "
            "and healthy messages would be dead-lettered. Raise maxReceiveCount in redrivePolicy."
        )
    elif count > maximum:
        report_violation(
            f"SQS queue '{args.name}' must set maxReceiveCount to at most {maximum:g} (found "
            f"{count:g}), because a poison message is otherwise retried for a long time before "
            "it reaches the DLQ. Lower maxReceiveCount in redrivePolicy."
        )


sqs_max_receive_count = ResourceValidationPolicy(
    name="sqs-max-receive-count",
    description="A queue's redrive maxReceiveCount lies within the configured bounds "
    "(default 5-50).",
    validate=_check_max_receive_count,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="SQS maxReceiveCount within bounds",
    config_schema=PolicyConfigSchema(
        properties={
            "minimum": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "default": DEFAULT_MIN_RECEIVE_COUNT,
            },
            "maximum": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "default": DEFAULT_MAX_RECEIVE_COUNT,
            },
        }
    ),
    remediation_steps="Set redrivePolicy.maxReceiveCount between the configured minimum and "
    "maximum.",
    url=LAMBDA_SQS_RETRIES,
    tags=["dlq", "sqs"],
)


# ---------------------------------------------------------------- sqs-dlq-retention-exceeds-source


def _retention(queue: Res) -> float:
    return number(queue.get("messageRetentionSeconds"), SQS_DEFAULT_RETENTION_SECONDS)


def _is_fifo(queue: Res) -> bool:
    return truthy(queue.get("fifoQueue"))


@stack_validator([QUEUE])
def _check_dlq_retention(stack: Stack, queue: Res, report_violation: ReportViolation) -> None:
    graph = stack.joined(queue_graph)
    if queue.urn in graph.unreadable:
        raise Unknown(graph.unreadable[queue.urn])
    dlq = graph.by_arn.get(graph.dlq_of.get(queue.urn, ""))
    if dlq is None or _is_fifo(queue):
        return  # FIFO queues reset the enqueue time when they dead-letter
    source, kept = _retention(queue), _retention(dlq)
    if kept > source or kept >= SQS_MAX_RETENTION_SECONDS:
        return
    report_violation(
        f"SQS queue '{dlq.name}' must retain messages longer than its source queue "
        f"'{queue.name}' ({seconds(kept)} ≤ {seconds(source)}), because a standard DLQ "
        "keeps "
        "each message's original enqueue time and would expire dead letters early. Set "
        f"messageRetentionSeconds = {SQS_MAX_RETENTION_SECONDS} (14 days) on the DLQ.",
        dlq.urn,
    )


sqs_dlq_retention_exceeds_source = StackValidationPolicy(
    name="sqs-dlq-retention-exceeds-source",
    description="A standard queue's DLQ retains messages longer than the source queue.",
    validate=_check_dlq_retention,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="DLQ retention exceeds its source's",
    remediation_steps="Set the DLQ's messageRetentionSeconds to 1209600 (14 days).",
    url=SQS_DLQ_GUIDE,
    tags=["dlq", "sqs"],
)


# ---------------------------------------------------------------- sqs-dlq-type-matches


@stack_validator([QUEUE])
def _check_dlq_type(stack: Stack, queue: Res, report_violation: ReportViolation) -> None:
    graph = stack.joined(queue_graph)
    if queue.urn in graph.unreadable:
        raise Unknown(graph.unreadable[queue.urn])
    dlq = graph.by_arn.get(graph.dlq_of.get(queue.urn, ""))
    if dlq is None or _is_fifo(queue) == _is_fifo(dlq):
        return
    kind = "FIFO" if _is_fifo(queue) else "standard"
    report_violation(
        f"SQS queue '{dlq.name}' must be a {kind} queue like its source queue "
        f"'{queue.name}', because SQS rejects a redrive policy whose DLQ is of the other "
        f"type. Make the DLQ {kind} (fifoQueue={_is_fifo(queue)}"
        + (", name ending .fifo" if _is_fifo(queue) else "")
        + ").",
        dlq.urn,
    )


sqs_dlq_type_matches = StackValidationPolicy(
    name="sqs-dlq-type-matches",
    description="A FIFO queue's DLQ is FIFO, a standard queue's DLQ is standard.",
    validate=_check_dlq_type,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="DLQ type matches its source",
    remediation_steps="Give the DLQ the same fifoQueue setting as its source queue.",
    url="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
    "aws-properties-sqs-queue.html#cfn-sqs-queue-redrivepolicy",
    tags=["dlq", "sqs"],
)


# ---------------------------------------------------------------- sns-subscription-has-dlq


@stack_validator([SUBSCRIPTION])
def _check_subscription_dlq(
    stack: Stack, subscription: Res, report_violation: ReportViolation
) -> None:
    graph = stack.joined(queue_graph)
    protocol = subscription.get("protocol")
    if protocol not in DLQ_PROTOCOLS:
        return
    endpoint = graph.by_arn.get(str(subscription.get("endpoint")))
    if protocol == "sqs" and endpoint is not None and is_parking(endpoint):
        return  # a terminal parking queue: nothing to dead-letter to
    redrive = subscription.json("redrivePolicy")
    if isinstance(redrive, Mapping) and redrive.get("deadLetterTargetArn"):
        return
    report_violation(
        f"SNS subscription '{subscription.name}' must have a dead-letter queue, because "
        f"SNS drops a message it cannot deliver to its {protocol} endpoint after its "
        'retries. Set redrivePolicy = json.dumps({"deadLetterTargetArn": dlq.arn}) and '
        "let sns.amazonaws.com send to that DLQ.",
        subscription.urn,
    )


sns_subscription_has_dlq = StackValidationPolicy(
    name="sns-subscription-has-dlq",
    description="SNS subscriptions with sqs, lambda or http(s) endpoints have a redrive policy "
    "to an SQS DLQ (terminal parking queues exempt).",
    validate=_check_subscription_dlq,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    display_name="SNS subscriptions have a DLQ",
    remediation_steps="Set the subscription's redrivePolicy to an SQS DLQ that allows SNS to send.",
    url=SNS_DLQ_GUIDE,
    framework=CDK_NAG,
    tags=["dlq", "sns", "Serverless-SNSRedrivePolicy", "ES7000"],
)


# ---------------------------------------------------------------- sns-topic-has-subscriber


def _check_topic_subscribed(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stack = Stack(args)
    subscribed = {s.known("topic") for s in stack.of(SUBSCRIPTION)} - {None}
    if any(s.known("topic") is None for s in stack.of(SUBSCRIPTION)):
        args.not_applicable("a subscription's topic can't be known during preview")
    for topic in stack.of(TOPIC):
        with stack.checking(topic):
            if topic.get("arn") in subscribed:
                continue
            report_violation(
                f"SNS topic '{topic.name}' must have at least one subscription, because SNS "
                "discards every message published to a topic nobody subscribes to. Subscribe a "
                "consumer, or a parking queue (tag eventinfra:role=parking) that keeps the events "
                "until one exists.",
                topic.urn,
            )
    stack.finish()


sns_topic_has_subscriber = StackValidationPolicy(
    name="sns-topic-has-subscriber",
    description="Every SNS topic has at least one subscription in the stack.",
    validate=_check_topic_subscribed,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="SNS topics have a subscriber",
    remediation_steps="Subscribe a consumer queue, or a parking queue, to the topic.",
    url="https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html",
    tags=["delivery", "sns"],
)


POLICIES: Final = [
    sns_sqs_delivery_allowed,
    sns_sqs_encryption_compatible,
    sqs_queue_has_dlq,
    sqs_max_receive_count,
    sqs_dlq_retention_exceeds_source,
    sqs_dlq_type_matches,
    sns_subscription_has_dlq,
    sns_topic_has_subscriber,
]
