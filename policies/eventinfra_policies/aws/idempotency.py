"""Consumer correctness: Lambda-on-SQS settings and idempotency stores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ..common import (
    EVENT_SOURCE_MAPPING,
    FUNCTION,
    IAM_POLICY,
    IAM_ROLE_POLICY,
    IDEMPOTENCY_TAG,
    LAMBDA_DEFAULT_TIMEOUT_SECONDS,
    QUEUE,
    ROLE_IDEMPOTENCY,
    ROLE_TAG,
    SQS_DEFAULT_VISIBILITY_SECONDS,
    SQS_ESM_DEFAULT_BATCH_SIZE,
    TABLE,
    ReportResourceViolation,
    Res,
    Stack,
    allows,
    as_list,
    get,
    number,
    plain,
    resource_covers,
    resource_validator,
    seconds,
    short_name_from_arn,
    stack_validator,
    statements,
    tags,
    truthy,
)

DEFAULT_MULTIPLIER: Final = 6
DEFAULT_TABLE_ENV_VAR: Final = "EVENTINFRA_IDEMPOTENCY_TABLE"  # runtime/CONTRACT.md
DEFAULT_KEY_ATTRIBUTE: Final = "id"
DEFAULT_TTL_ATTRIBUTE: Final = "expiration"
REPORT_BATCH_ITEM_FAILURES: Final = "ReportBatchItemFailures"
# Writing an idempotency record is what makes a consumer idempotent; reading alone is not enough.
IDEMPOTENCY_WRITE_ACTIONS: Final = ("dynamodb:PutItem", "dynamodb:UpdateItem")

LAMBDA_SQS_GUIDE: Final = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"
POWERTOOLS_IDEMPOTENCY: Final = (
    "https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/"
)


def _is_sqs_arn(arn: Any) -> bool:
    return isinstance(arn, str) and arn.startswith("arn:aws:sqs:")


def _known_role(policy: Res) -> Any:
    return policy.known("role")


def _function_index(stack: Stack) -> Mapping[str, Res]:
    """Functions by name, ARN and qualified ARN (an ESM's functionName may be any of them)."""
    return stack.index(FUNCTION, "name", "arn", "qualifiedArn", "id")


def _function_of(mapping: Res, functions: Mapping[str, Res]) -> Res | None:
    reference = str(mapping.get("functionName") or "")
    return functions.get(reference) or functions.get(short_name_from_arn(reference))


# ---------------------------------------------------------------- lambda-sqs-visibility-timeout


@stack_validator([EVENT_SOURCE_MAPPING])
def _check_visibility(stack: Stack, mapping: Res, report_violation: ReportViolation) -> None:
    multiplier = number(stack.args.get_config().get("multiplier"), DEFAULT_MULTIPLIER)
    queues = stack.index(QUEUE, "arn")
    functions = stack.joined(_function_index)
    queue = queues.get(str(mapping.get("eventSourceArn")))
    function = _function_of(mapping, functions)
    if queue is None or function is None:
        return
    visibility = number(queue.get("visibilityTimeoutSeconds"), SQS_DEFAULT_VISIBILITY_SECONDS)
    timeout = number(function.get("timeout"), LAMBDA_DEFAULT_TIMEOUT_SECONDS)
    window = number(mapping.get("maximumBatchingWindowInSeconds"), 0)
    needed = multiplier * timeout + window
    if visibility >= needed:
        return
    report_violation(
        f"SQS queue '{queue.name}' must have a visibility timeout of at least "
        f"{seconds(needed)} ({multiplier:g} x Lambda '{function.name}' timeout "
        f"{seconds(timeout)} + batching window {seconds(window)}), found "
        f"{seconds(visibility)}, because messages become visible again while the function "
        "still works on them and are processed twice or dead-lettered. Set "
        f"visibilityTimeoutSeconds = {needed:g} on the queue (or shorten the timeout).",
        queue.urn,
    )


lambda_sqs_visibility_timeout = StackValidationPolicy(
    name="lambda-sqs-visibility-timeout",
    description="A queue consumed by Lambda has visibility ≥ multiplier x function timeout + "
    "batching window (multiplier default 6).",
    validate=_check_visibility,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Queue visibility covers the Lambda consumer",
    config_schema=PolicyConfigSchema(
        properties={
            "multiplier": {"type": "number", "minimum": 1, "default": DEFAULT_MULTIPLIER},
        }
    ),
    remediation_steps="Set the queue's visibilityTimeoutSeconds to at least 6 x the function "
    "timeout plus the event source mapping's maximumBatchingWindowInSeconds.",
    url=LAMBDA_SQS_GUIDE,
    tags=["lambda", "sqs", "cdk-nag:LambdaEventSourceSQSVisibilityTimeout"],
)


# ---------------------------------------------------------------- lambda-sqs-partial-batch-response


@resource_validator([EVENT_SOURCE_MAPPING])
def _check_partial_batch(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    if not _is_sqs_arn(get(args.props, "eventSourceArn")):
        return
    batch_size = number(get(args.props, "batchSize"), SQS_ESM_DEFAULT_BATCH_SIZE)
    if batch_size <= 1:
        return
    response_types = [str(t) for t in as_list(plain(get(args.props, "functionResponseTypes")))]
    if REPORT_BATCH_ITEM_FAILURES in response_types:
        return
    report_violation(
        f"Lambda event source mapping '{args.name}' must report batch item failures (batch size "
        f"{batch_size:g}), because otherwise one failing message makes the whole batch return to "
        "the queue and every message in it is processed again. Set functionResponseTypes = "
        '["ReportBatchItemFailures"] and return batchItemFailures from the handler.'
    )


lambda_sqs_partial_batch_response = ResourceValidationPolicy(
    name="lambda-sqs-partial-batch-response",
    description="An SQS event source mapping with batch size > 1 uses ReportBatchItemFailures.",
    validate=_check_partial_batch,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Lambda SQS consumers report partial batch failures",
    remediation_steps='Set functionResponseTypes = ["ReportBatchItemFailures"].',
    url="https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"
    "#services-sqs-batchfailurereporting",
    tags=["lambda", "sqs"],
)


# ---------------------------------------------------------------- consumer-has-idempotency-store


def _ttl_enabled(table: Res) -> bool:
    return truthy(table.get("ttl", "enabled"))


class _TableArns:
    """Tables by ARN, and by lower-cased ARN for the statements whose resources hold no pattern
    character: those cover exactly the ARNs they equal (IAM matches case-insensitively here, as
    `resource_covers` does), so a lookup replaces a match against every table of the stack."""

    def __init__(self, tables_by_arn: Mapping[str, Res]) -> None:
        self.items = list(tables_by_arn.items())
        self.positions: dict[str, list[int]] = {}
        for position, (arn, _) in enumerate(self.items):
            self.positions.setdefault(arn.lower(), []).append(position)

    def covered(self, statement: Mapping[str, Any]) -> list[Res]:
        patterns = [str(r) for r in as_list(statement.get("Resource"))]
        if any(character in pattern for pattern in patterns for character in "*?["):
            return [t for arn, t in self.items if resource_covers(statement, arn)]
        positions = sorted({p for r in patterns for p in self.positions.get(r.lower(), ())})
        return [self.items[position][1] for position in positions]


def _granted_tables(documents: list[Any], tables: _TableArns) -> list[Res]:
    found = []
    for document in documents:
        for statement in statements(document):
            if not any(allows(statement, a) for a in IDEMPOTENCY_WRITE_ACTIONS):
                continue
            found += tables.covered(statement)
    return found


def _consumed_queues(document: Any) -> list[str]:
    """Queue ARNs an IAM policy lets its holder receive from."""
    arns: list[str] = []
    for statement in statements(document):
        if allows(statement, "sqs:ReceiveMessage"):
            arns += [str(r) for r in as_list(statement.get("Resource")) if _is_sqs_arn(str(r))]
    return arns


def _check_idempotency(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stack = Stack(args)
    env_var = str(args.get_config().get("tableEnvVar") or DEFAULT_TABLE_ENV_VAR)
    tables_by_name = stack.index(TABLE, "name", "id")
    tables_by_arn = _TableArns(stack.index(TABLE, "arn"))
    queues = stack.index(QUEUE, "arn")
    functions = _function_index(stack)

    def verdict(consumer: Res, queue_arn: str, wired: list[Res], kind: str) -> None:
        queue = queues.get(queue_arn)
        declared = consumer.tags.get(IDEMPOTENCY_TAG) or (
            queue.tags.get(IDEMPOTENCY_TAG) if queue else None
        )
        if declared:
            return
        queue_label = f"queue '{queue.name}'" if queue else f"queue {queue_arn}"
        with_ttl = [t for t in wired if _ttl_enabled(t)]
        if with_ttl:
            return
        if wired:
            report_violation(
                f"{kind} '{consumer.name}' must use an idempotency table with TTL enabled, "
                f"because records of handled messages otherwise pile up forever; table "
                f"'{wired[0].name}' has no TTL. Set ttl = "
                '{attributeName: "expiration", enabled: true} on it.',
                consumer.urn,
            )
            return
        report_violation(
            f"{kind} '{consumer.name}' must record handled messages of {queue_label} in an "
            "idempotency table, because SQS delivers at least once and a redelivered message "
            "would be processed twice. Create a DynamoDB table (hash key id, TTL on expiration, "
            f"tag {ROLE_TAG}={ROLE_IDEMPOTENCY}) and wire it to the consumer (environment "
            f"variable {env_var} and a dynamodb:PutItem grant), or declare an existing store with "
            f"the tag {IDEMPOTENCY_TAG}=<table or reason>.",
            consumer.urn,
        )

    lambda_roles: set[str] = set()
    for mapping in stack.of(EVENT_SOURCE_MAPPING):
        with stack.checking(mapping):
            queue_arn = mapping.get("eventSourceArn")
            function = _function_of(mapping, functions)
            if not _is_sqs_arn(queue_arn) or function is None:
                continue
            role_arn = str(function.get("role") or "")
            lambda_roles |= {role_arn, short_name_from_arn(role_arn)}
            wired: list[Res] = []
            table_name = function.get("environment", "variables", env_var)
            if table_name and str(table_name) in tables_by_name:
                wired.append(tables_by_name[str(table_name)])
            role_names = (role_arn, short_name_from_arn(role_arn))
            role_documents = [
                p.json("policy")
                for p in stack.lookup(IAM_ROLE_POLICY, _known_role).matching(
                    role_names.__contains__, *role_names
                )
            ]
            wired += _granted_tables(role_documents, tables_by_arn)
            verdict(function, str(queue_arn), wired, "Lambda function")

    for policy in stack.of(IAM_POLICY, IAM_ROLE_POLICY):
        with stack.checking(policy):
            if policy.type == IAM_ROLE_POLICY and policy.known("role") in lambda_roles:
                continue  # judged with its function above
            document = policy.json("policy")
            for queue_arn in _consumed_queues(document):
                verdict(
                    policy,
                    queue_arn,
                    _granted_tables([document], tables_by_arn),
                    "Queue consumer (IAM policy)",
                )
    stack.finish()


consumer_has_idempotency_store = StackValidationPolicy(
    name="consumer-has-idempotency-store",
    description="Every queue consumer (Lambda on an SQS event source, or an IAM policy granting "
    "sqs:ReceiveMessage) is wired to an idempotency table with TTL, or declares one with the tag "
    "eventinfra:idempotency.",
    validate=_check_idempotency,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    display_name="Queue consumers are idempotent",
    config_schema=PolicyConfigSchema(
        properties={
            "tableEnvVar": {"type": "string", "default": DEFAULT_TABLE_ENV_VAR},
        }
    ),
    remediation_steps="Give the consumer a DynamoDB idempotency table (eventinfra "
    "IdempotencyStore) and grant it dynamodb:PutItem, or tag it eventinfra:idempotency=<reason>.",
    url=POWERTOOLS_IDEMPOTENCY,
    tags=["idempotency", "lambda", "sqs"],
)


# ---------------------------------------------------------------- idempotency-table-shape


@resource_validator([TABLE])
def _check_table_shape(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    if tags(args.props).get(ROLE_TAG) != ROLE_IDEMPOTENCY:
        return
    config = args.get_config()
    key = str(config.get("keyAttribute") or DEFAULT_KEY_ATTRIBUTE)
    ttl_attribute = str(config.get("ttlAttribute") or DEFAULT_TTL_ATTRIBUTE)
    hash_key = get(args.props, "hashKey")
    attribute_types = {
        str(a.get("name")): str(a.get("type"))
        for a in as_list(plain(get(args.props, "attributes")))
        if isinstance(a, Mapping)
    }
    if hash_key != key or attribute_types.get(key) != "S":
        report_violation(
            f"DynamoDB table '{args.name}' must have the string hash key '{key}' (found "
            f"{hash_key!r}, type {attribute_types.get(str(hash_key))!r}), because the idempotency "
            f"library stores each message under '{key}'. Set hashKey = \"{key}\" with attribute "
            f'{{name: "{key}", type: "S"}}.'
        )
    ttl_on = truthy(get(args.props, "ttl", "enabled"))
    ttl_name = get(args.props, "ttl", "attributeName")
    if not ttl_on or ttl_name != ttl_attribute:
        report_violation(
            f"DynamoDB table '{args.name}' must enable TTL on the attribute '{ttl_attribute}' "
            f"(found enabled={ttl_on}, attributeName={ttl_name!r}), because idempotency records "
            "must expire or the table grows forever. Set ttl = "
            f'{{attributeName: "{ttl_attribute}", enabled: true}}.'
        )


idempotency_table_shape = ResourceValidationPolicy(
    name="idempotency-table-shape",
    description="A table tagged eventinfra:role=idempotency has hash key 'id' (S) and TTL on "
    "'expiration' (both configurable).",
    validate=_check_table_shape,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="Idempotency tables have the expected shape",
    config_schema=PolicyConfigSchema(
        properties={
            "keyAttribute": {"type": "string", "default": DEFAULT_KEY_ATTRIBUTE},
            "ttlAttribute": {"type": "string", "default": DEFAULT_TTL_ATTRIBUTE},
        }
    ),
    remediation_steps="Use hashKey 'id' (type S) and ttl "
    "{attributeName: 'expiration', enabled: true}.",
    url=POWERTOOLS_IDEMPOTENCY,
    tags=["idempotency", "dynamodb"],
)


POLICIES: Final = [
    lambda_sqs_visibility_timeout,
    lambda_sqs_partial_batch_response,
    consumer_has_idempotency_store,
    idempotency_table_shape,
]
