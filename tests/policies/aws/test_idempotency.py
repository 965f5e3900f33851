"""Consumer correctness policies: visibility vs. Lambda timeout, partial batches, idempotency."""

from __future__ import annotations

import json

import pytest
from pulumi_policy import Policy

from eventinfra_policies.aws import idempotency
from tests.policies.factories import (
    DELETE,
    UNKNOWN,
    check_resource,
    check_stack,
    happy_stack,
    mutate,
    queue_arn,
)

RECEIVE_ONLY = json.dumps(
    {
        "Statement": [
            {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": queue_arn("dev-audit")}
        ]
    }
)
NOT_IDEMPOTENT = (
    "{kind} '{name}' must record handled messages of queue '{queue}' in an idempotency table, "
    "because SQS delivers at least once and a redelivered message would be processed twice. "
    "Create a DynamoDB table (hash key id, TTL on expiration, tag eventinfra:role=idempotency) "
    "and wire it to the consumer (environment variable EVENTINFRA_IDEMPOTENCY_TABLE and a "
    "dynamodb:PutItem grant), or declare an existing store with the tag "
    "eventinfra:idempotency=<table or reason>."
)


def test_policy_names() -> None:
    assert [p.name for p in idempotency.POLICIES] == [
        "lambda-sqs-visibility-timeout",
        "lambda-sqs-partial-batch-response",
        "consumer-has-idempotency-store",
        "idempotency-table-shape",
    ]


@pytest.mark.parametrize(
    "policy",
    [idempotency.lambda_sqs_visibility_timeout, idempotency.consumer_has_idempotency_store],
)
def test_happy_stack_passes(policy: Policy) -> None:
    outcome = check_stack(policy, happy_stack())
    assert (outcome.violations, outcome.not_applicable) == ([], None)


@pytest.mark.parametrize(
    "policy,name",
    [
        (idempotency.lambda_sqs_partial_batch_response, "billing-event-source"),
        (idempotency.idempotency_table_shape, "billing-idempotency"),
        (idempotency.idempotency_table_shape, "audit-idempotency"),
    ],
)
def test_happy_resources_pass(policy: Policy, name: str) -> None:
    outcome = check_resource(policy, happy_stack()[name])
    assert (outcome.violations, outcome.not_applicable) == ([], None)


# ---------------------------------------------------------------- lambda-sqs-visibility-timeout


def _visibility_message(needed: int, window: int, found: int) -> str:
    return (
        f"SQS queue 'billing-queue' must have a visibility timeout of at least {needed} s (6 x "
        f"Lambda 'billing-function' timeout 30 s + batching window {window} s), found {found} s, "
        "because messages become visible again while the function still works on them and are "
        f"processed twice or dead-lettered. Set visibilityTimeoutSeconds = {needed} on the queue "
        "(or shorten the timeout)."
    )


def test_visibility_shorter_than_six_timeouts_fails() -> None:
    stack = mutate(happy_stack(), "billing-queue", visibilityTimeoutSeconds=179)
    outcome = check_stack(idempotency.lambda_sqs_visibility_timeout, stack)
    assert outcome.messages == [_visibility_message(180, 0, 179)]
    assert outcome.urns[0].endswith("::billing-queue")


def test_absent_visibility_means_thirty_seconds() -> None:
    stack = mutate(happy_stack(), "billing-queue", visibilityTimeoutSeconds=DELETE)
    outcome = check_stack(idempotency.lambda_sqs_visibility_timeout, stack)
    assert outcome.messages == [_visibility_message(180, 0, 30)]


def test_absent_timeout_means_three_seconds() -> None:
    stack = mutate(happy_stack(), "billing-function", timeout=DELETE)
    stack = mutate(stack, "billing-queue", visibilityTimeoutSeconds=17)
    outcome = check_stack(idempotency.lambda_sqs_visibility_timeout, stack)
    assert outcome.messages[0].startswith(
        "SQS queue 'billing-queue' must have a visibility timeout of at least 18 s (6 x Lambda "
        "'billing-function' timeout 3 s"
    )


def test_batching_window_adds_to_the_requirement() -> None:
    stack = mutate(happy_stack(), "billing-event-source", maximumBatchingWindowInSeconds=20)
    outcome = check_stack(idempotency.lambda_sqs_visibility_timeout, stack)
    assert outcome.messages == [_visibility_message(200, 20, 180)]


def test_visibility_multiplier_is_configurable() -> None:
    outcome = check_stack(
        idempotency.lambda_sqs_visibility_timeout, happy_stack(), {"multiplier": 7}
    )
    assert outcome.messages[0].startswith(
        "SQS queue 'billing-queue' must have a visibility timeout of at least 210 s (7 x"
    )


def test_visibility_unknown_timeout_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "billing-function", timeout=UNKNOWN)
    outcome = check_stack(idempotency.lambda_sqs_visibility_timeout, stack)
    assert outcome.violations == []
    assert "string value at .timeout can't be known during preview" in (
        outcome.not_applicable or ""
    )


# ---------------------------------------------------------------- lambda-sqs-partial-batch-response


def test_partial_batch_response_missing_fails() -> None:
    mapping = mutate(happy_stack(), "billing-event-source", functionResponseTypes=DELETE)[
        "billing-event-source"
    ]
    assert check_resource(idempotency.lambda_sqs_partial_batch_response, mapping).messages == [
        "Lambda event source mapping 'billing-event-source' must report batch item failures "
        "(batch size 10), because otherwise one failing message makes the whole batch return to "
        "the queue and every message in it is processed again. Set functionResponseTypes = "
        '["ReportBatchItemFailures"] and return batchItemFailures from the handler.'
    ]


def test_partial_batch_absent_batch_size_defaults_to_ten_and_size_one_passes() -> None:
    stack = mutate(
        happy_stack(), "billing-event-source", functionResponseTypes=[], batchSize=DELETE
    )
    assert (
        check_resource(
            idempotency.lambda_sqs_partial_batch_response, stack["billing-event-source"]
        ).violations
        != []
    )
    single = mutate(stack, "billing-event-source", batchSize=1)["billing-event-source"]
    assert check_resource(idempotency.lambda_sqs_partial_batch_response, single).violations == []


def test_partial_batch_non_sqs_source_is_ignored() -> None:
    kinesis = mutate(
        happy_stack(),
        "billing-event-source",
        functionResponseTypes=DELETE,
        eventSourceArn="arn:aws:kinesis:eu-west-1:1:stream/s",
    )["billing-event-source"]
    assert check_resource(idempotency.lambda_sqs_partial_batch_response, kinesis).violations == []


def test_partial_batch_unknown_source_is_not_applicable() -> None:
    mapping = mutate(happy_stack(), "billing-event-source", eventSourceArn=UNKNOWN)[
        "billing-event-source"
    ]
    outcome = check_resource(idempotency.lambda_sqs_partial_batch_response, mapping)
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "'billing-event-source': string value at .eventSourceArn can't be known during preview; "
        "checked again during `pulumi up`"
    )


# ---------------------------------------------------------------- consumer-has-idempotency-store


def test_lambda_without_table_fails() -> None:
    stack = mutate(happy_stack(), "billing-function", environment=DELETE)
    stack = mutate(stack, "billing-role-policy", policy=RECEIVE_ONLY)
    outcome = check_stack(idempotency.consumer_has_idempotency_store, stack)
    assert outcome.messages == [
        NOT_IDEMPOTENT.format(
            kind="Lambda function", name="billing-function", queue="billing-queue"
        )
    ]


def test_lambda_wired_by_env_var_alone_passes() -> None:
    stack = mutate(happy_stack(), "billing-role-policy", policy=RECEIVE_ONLY)
    assert check_stack(idempotency.consumer_has_idempotency_store, stack).violations == []


def test_lambda_env_var_naming_a_table_outside_the_stack_fails() -> None:
    stack = mutate(happy_stack(), "billing-role-policy", policy=RECEIVE_ONLY)
    stack = mutate(
        stack,
        "billing-function",
        environment={"variables": {"EVENTINFRA_IDEMPOTENCY_TABLE": "somewhere-else"}},
    )
    assert check_stack(idempotency.consumer_has_idempotency_store, stack).messages == [
        NOT_IDEMPOTENT.format(
            kind="Lambda function", name="billing-function", queue="billing-queue"
        )
    ]


def test_external_consumer_without_table_fails() -> None:
    stack = mutate(happy_stack(), "audit-consumer-policy", policy=RECEIVE_ONLY)
    assert check_stack(idempotency.consumer_has_idempotency_store, stack).messages == [
        NOT_IDEMPOTENT.format(
            kind="Queue consumer (IAM policy)", name="audit-consumer-policy", queue="audit-queue"
        )
    ]


def test_explicit_declaration_tag_passes() -> None:
    stack = mutate(
        happy_stack(),
        "audit-consumer-policy",
        policy=RECEIVE_ONLY,
        tags={"eventinfra:idempotency": "dedup by order id in the orders database"},
    )
    assert check_stack(idempotency.consumer_has_idempotency_store, stack).violations == []


def test_table_without_ttl_fails() -> None:
    stack = mutate(
        happy_stack(), "audit-idempotency", ttl={"attributeName": "expiration", "enabled": False}
    )
    assert check_stack(idempotency.consumer_has_idempotency_store, stack).messages == [
        "Queue consumer (IAM policy) 'audit-consumer-policy' must use an idempotency table with "
        "TTL enabled, because records of handled messages otherwise pile up forever; table "
        "'audit-idempotency' has no TTL. Set ttl = {attributeName: \"expiration\", enabled: true} "
        "on it."
    ]


def test_idempotency_unknown_policy_is_not_applicable() -> None:
    stack = mutate(happy_stack(), "audit-consumer-policy", policy=UNKNOWN)
    outcome = check_stack(idempotency.consumer_has_idempotency_store, stack)
    assert outcome.violations == []
    assert "'audit-consumer-policy': string value at .policy can't be known" in (
        outcome.not_applicable or ""
    )


# ---------------------------------------------------------------- idempotency-table-shape


def test_table_wrong_hash_key_fails() -> None:
    table = mutate(
        happy_stack(), "audit-idempotency", hashKey="pk", attributes=[{"name": "pk", "type": "S"}]
    )["audit-idempotency"]
    assert check_resource(idempotency.idempotency_table_shape, table).messages == [
        "DynamoDB table 'audit-idempotency' must have the string hash key 'id' (found 'pk', type "
        "'S'), because the idempotency library stores each message under 'id'. Set hashKey = "
        '"id" with attribute {name: "id", type: "S"}.'
    ]


def test_table_numeric_key_fails() -> None:
    table = mutate(happy_stack(), "audit-idempotency", attributes=[{"name": "id", "type": "N"}])[
        "audit-idempotency"
    ]
    assert (
        check_resource(idempotency.idempotency_table_shape, table)
        .messages[0]
        .startswith(
            "DynamoDB table 'audit-idempotency' must have the string hash key 'id' (found 'id', type 'N')"
        )
    )


def test_table_without_ttl_shape_fails() -> None:
    table = mutate(happy_stack(), "audit-idempotency", ttl=DELETE)["audit-idempotency"]
    assert check_resource(idempotency.idempotency_table_shape, table).messages == [
        "DynamoDB table 'audit-idempotency' must enable TTL on the attribute 'expiration' (found "
        "enabled=False, attributeName=None), because idempotency records must expire or the "
        'table grows forever. Set ttl = {attributeName: "expiration", enabled: true}.'
    ]


def test_table_shape_configurable_and_untagged_ignored() -> None:
    table = happy_stack()["audit-idempotency"]
    outcome = check_resource(
        idempotency.idempotency_table_shape,
        table,
        {"keyAttribute": "messageId", "ttlAttribute": "expiresAt"},
    )
    assert len(outcome.violations) == 2
    untagged = mutate(happy_stack(), "audit-idempotency", tags={}, hashKey="pk")
    assert (
        check_resource(
            idempotency.idempotency_table_shape, untagged["audit-idempotency"]
        ).violations
        == []
    )


def test_table_shape_unknown_is_not_applicable() -> None:
    table = mutate(happy_stack(), "audit-idempotency", hashKey=UNKNOWN)["audit-idempotency"]
    outcome = check_resource(idempotency.idempotency_table_shape, table)
    assert outcome.violations == [] and "hashKey can't be known" in (outcome.not_applicable or "")
