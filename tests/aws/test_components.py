"""Each component declares exactly its child resources, with the inputs that keep messages safe."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from eventinfra import (
    ConsumerRuntime,
    EventConsumer,
    EventConsumerArgs,
    EventKey,
    EventProducer,
    EventTopic,
    ParkingQueue,
)
from eventinfra.aws.alarms import AlarmTarget
from eventinfra.check.synth import Synthesis, record, synthesize
from eventinfra.graph import RecordedResource
from tests.support import REPOSITORY

ACCOUNT = "123456789012"
REGION = "us-east-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-placed"
OTHER_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-cancelled"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALERTS_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"


def policy(resource: RecordedResource, key: str = "policy") -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resource.inputs[key])
    return document


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [s for s in document["Statement"] if s.get("Sid") == sid]
    assert len(matches) == 1, f"expected one statement {sid!r} in {document}"
    return matches[0]


def child_types(graph: Synthesis) -> Counter[str]:
    return Counter(r.type for r in graph.resources if r.custom)


def consumer_args(**overrides: Any) -> EventConsumerArgs:
    args: EventConsumerArgs = {
        "queue_name": "dev-orders",
        "dead_letter_queue_name": "dev-orders-dlq",
        "subscriptions": [
            {"label": "orders-placed", "topic_arn": TOPIC_ARN, "filter_policy": {"plan": ["pro"]}},
            {"label": "orders-cancelled", "topic_arn": OTHER_TOPIC_ARN},
        ],
        "kms_key_arn": KEY_ARN,
        "max_receive_count": 7,
        "message_retention_seconds": 345_600,
        "visibility_timeout_seconds": 180,
        "runtime": ConsumerRuntime.EXTERNAL,
        "idempotency": {"table_name": "dev-orders-idempotency", "key": "orderId"},
        "alarm_target": AlarmTarget(topic_arn=ALERTS_ARN, period_seconds=60),
        "queue_age_alarm_seconds": 600,
        "tags": {"environment": "dev"},
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


def lambda_args(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {}\n")
    return {
        "function_name": "dev-orders",
        "code_path": str(tmp_path),
        "handler": "app.handler",
        "timeout_seconds": 30,
        "batch_size": 10,
        "batch_window_seconds": 2,
        "max_concurrency": 5,
        "log_retention_days": 14,
    }


@pytest.fixture(scope="module")
def external_consumer() -> Synthesis:
    return record(lambda: EventConsumer("orders", consumer_args()))


def test_consumer_declares_exactly_its_children(external_consumer: Synthesis) -> None:
    assert child_types(external_consumer) == {
        "aws:sqs/queue:Queue": 2,
        "aws:sqs/queuePolicy:QueuePolicy": 2,
        "aws:sns/topicSubscription:TopicSubscription": 2,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 2,
        "aws:dynamodb/table:Table": 1,
        "aws:iam/policy:Policy": 1,
    }
    names = {r.name for r in external_consumer.resources}
    assert {
        "orders",
        "orders-queue",
        "orders-dlq",
        "orders-queue-policy",
        "orders-dlq-policy",
        "orders-orders-placed-subscription",
        "orders-orders-cancelled-subscription",
        "orders-dlq-alarm",
        "orders-age-alarm",
        "orders-idempotency",
        "orders-idempotency-table",
        "orders-consumer-policy",
    } <= names
    component = external_consumer.named("orders", "eventinfra:index:EventConsumer")
    for resource in external_consumer.resources:
        if resource is not component and resource.parent is not None:
            assert resource.parent.endswith("::orders") or "idempotency" in resource.parent


def test_queue_redrives_to_its_dead_letter_queue(external_consumer: Synthesis) -> None:
    queue = external_consumer.named("orders-queue")
    dead_letter_queue = external_consumer.named("orders-dlq")
    assert json.loads(queue.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter_queue.outputs["arn"],
        "maxReceiveCount": 7,
    }
    assert queue.inputs["receiveWaitTimeSeconds"] == 20
    assert queue.inputs["visibilityTimeoutSeconds"] == 180
    assert queue.inputs["kmsMasterKeyId"] == KEY_ARN
    # The DLQ keeps messages 14 days, accepts only this queue's dead letters, and is tagged.
    assert dead_letter_queue.inputs["messageRetentionSeconds"] == 1_209_600
    assert json.loads(dead_letter_queue.inputs["redriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [queue.outputs["arn"]],
    }
    assert dead_letter_queue.inputs["tags"]["eventinfra:role"] == "dlq"
    assert dead_letter_queue.inputs["kmsMasterKeyId"] == KEY_ARN


def test_queue_policy_lets_exactly_the_subscribed_topics_send(
    external_consumer: Synthesis,
) -> None:
    queue = external_consumer.named("orders-queue")
    queue_policy = external_consumer.named("orders-queue-policy")
    assert queue_policy.inputs["queueUrl"] == queue.outputs["url"]
    document = policy(queue_policy)
    allow = statement(document, "AllowSubscribedTopics")
    assert allow == {
        "Sid": "AllowSubscribedTopics",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": ["sqs:SendMessage"],
        "Resource": queue.outputs["arn"],
        "Condition": {"ArnEquals": {"aws:SourceArn": [TOPIC_ARN, OTHER_TOPIC_ARN]}},
    }
    deny = statement(document, "DenyInsecureTransport")
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "sqs:ReceiveMessage" in deny["Action"]
    # SNS must also be allowed into the DLQ, where it dead-letters undeliverable messages.
    dlq_policy = policy(external_consumer.named("orders-dlq-policy"))
    assert statement(dlq_policy, "AllowSubscribedTopics")["Condition"] == allow["Condition"]


def test_subscriptions_are_raw_filtered_and_dead_lettered(external_consumer: Synthesis) -> None:
    queue = external_consumer.named("orders-queue")
    dead_letter_queue = external_consumer.named("orders-dlq")
    filtered = external_consumer.named("orders-orders-placed-subscription")
    assert filtered.inputs["topic"] == TOPIC_ARN
    assert filtered.inputs["protocol"] == "sqs"
    assert filtered.inputs["endpoint"] == queue.outputs["arn"]
    assert filtered.inputs["rawMessageDelivery"] is True
    assert json.loads(filtered.inputs["filterPolicy"]) == {"plan": ["pro"]}
    assert filtered.inputs["filterPolicyScope"] == "MessageAttributes"
    assert json.loads(filtered.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter_queue.outputs["arn"]
    }
    unfiltered = external_consumer.named("orders-orders-cancelled-subscription")
    assert "filterPolicy" not in unfiltered.inputs
    # Subscribing before the queue policy exists would drop the first messages.
    policies = {
        external_consumer.named("orders-queue-policy").urn,
        external_consumer.named("orders-dlq-policy").urn,
    }
    assert policies <= set(filtered.dependencies)


def test_alarms_watch_the_dead_letter_queue_and_message_age(external_consumer: Synthesis) -> None:
    dead_letter_queue = external_consumer.named("orders-dlq")
    dlq_alarm = external_consumer.named("orders-dlq-alarm").inputs
    assert dlq_alarm["namespace"] == "AWS/SQS"
    # Not NumberOfMessagesSent: that metric misses messages moved by a redrive.
    assert dlq_alarm["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq_alarm["dimensions"] == {"QueueName": dead_letter_queue.outputs["name"]}
    assert (dlq_alarm["threshold"], dlq_alarm["comparisonOperator"]) == (0, "GreaterThanThreshold")
    assert dlq_alarm["alarmActions"] == [ALERTS_ARN]
    assert dlq_alarm["okActions"] == [ALERTS_ARN]
    age_alarm = external_consumer.named("orders-age-alarm").inputs
    assert age_alarm["metricName"] == "ApproximateAgeOfOldestMessage"
    assert age_alarm["dimensions"] == {"QueueName": "dev-orders"}
    assert age_alarm["threshold"] == 600


def test_external_consumer_policy_grants_exactly_its_queue_key_and_table(
    external_consumer: Synthesis,
) -> None:
    queue = external_consumer.named("orders-queue")
    table = external_consumer.named("orders-idempotency-table")
    document = policy(external_consumer.named("orders-consumer-policy"))
    assert statement(document, "ConsumeQueue") == {
        "Sid": "ConsumeQueue",
        "Effect": "Allow",
        "Action": [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
        ],
        "Resource": [queue.outputs["arn"]],
    }
    assert statement(document, "DecryptMessages")["Resource"] == [KEY_ARN]
    assert statement(document, "IdempotencyRecords")["Resource"] == [table.outputs["arn"]]


def test_idempotency_table_follows_powertools_layout(external_consumer: Synthesis) -> None:
    table = external_consumer.named("orders-idempotency-table").inputs
    assert table["name"] == "dev-orders-idempotency"
    assert table["hashKey"] == "id"
    assert table["attributes"] == [{"name": "id", "type": "S"}]
    assert table["ttl"] == {"attributeName": "expiration", "enabled": True}
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KEY_ARN}
    assert table["tags"]["eventinfra:role"] == "idempotency"


def test_fifo_consumer_has_fifo_queue_and_dead_letter_queue() -> None:
    graph = record(
        lambda: EventConsumer(
            "orders",
            consumer_args(
                queue_name="dev-orders.fifo",
                dead_letter_queue_name="dev-orders-dlq.fifo",
                fifo=True,
            ),
        )
    )
    assert graph.named("orders-queue").inputs["fifoQueue"] is True
    assert graph.named("orders-dlq").inputs["fifoQueue"] is True
    assert graph.named("orders-dlq").outputs["arn"].endswith("dev-orders-dlq.fifo")


def test_consumer_without_idempotency_has_no_table() -> None:
    graph = record(lambda: EventConsumer("orders", consumer_args(idempotency=None)))
    assert graph.by_type("aws:dynamodb/table:Table") == []
    document = policy(graph.named("orders-consumer-policy"))
    assert [s["Sid"] for s in document["Statement"]] == ["ConsumeQueue", "DecryptMessages"]


def test_protect_applies_to_queues_and_tables_only() -> None:
    graph = record(lambda: EventConsumer("orders", consumer_args(protect=True)))
    protected = {r.name for r in graph.resources if r.protect}
    assert protected == {"orders-queue", "orders-dlq", "orders-idempotency-table"}


@pytest.fixture(scope="module")
def lambda_consumer(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    code = tmp_path_factory.mktemp("code")
    args = consumer_args(runtime="lambda", lambda_function=lambda_args(code))
    # 180 seconds would be too short for a 30-second function with a 2-second batching window:
    # the component derives the visibility timeout instead (see test_contract.py).
    del args["visibility_timeout_seconds"]
    return record(lambda: EventConsumer("orders", args))


def test_lambda_consumer_children(lambda_consumer: Synthesis) -> None:
    types = child_types(lambda_consumer)
    assert types["aws:lambda/function:Function"] == 1
    assert types["aws:lambda/eventSourceMapping:EventSourceMapping"] == 1
    assert types["aws:iam/role:Role"] == 1
    assert types["aws:iam/rolePolicy:RolePolicy"] == 1
    assert types["aws:cloudwatch/logGroup:LogGroup"] == 1
    assert types["aws:cloudwatch/metricAlarm:MetricAlarm"] == 4  # DLQ, age, errors, throttles
    assert "aws:iam/policy:Policy" not in types  # no external-consumer policy


def test_event_source_mapping_reports_partial_batch_failures(lambda_consumer: Synthesis) -> None:
    mapping = lambda_consumer.named("orders-event-source").inputs
    queue = lambda_consumer.named("orders-queue")
    function = lambda_consumer.named("orders-function")
    assert mapping["eventSourceArn"] == queue.outputs["arn"]
    assert mapping["functionName"] == function.outputs["arn"]
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["batchSize"] == 10
    assert mapping["maximumBatchingWindowInSeconds"] == 2
    assert mapping["scalingConfig"] == {"maximumConcurrency": 5}


def test_function_gets_its_idempotency_table_and_log_group(lambda_consumer: Synthesis) -> None:
    function = lambda_consumer.named("orders-function")
    table = lambda_consumer.named("orders-idempotency-table")
    log_group = lambda_consumer.named("orders-logs")
    dead_letter_queue = lambda_consumer.named("orders-dlq")
    assert function.inputs["environment"]["variables"] == {
        "EVENTINFRA_BROKER": "sns",
        "EVENTINFRA_SERVICE": "orders",
        "EVENTINFRA_EVENTS": "{}",  # these subscriptions name no event type
        "EVENTINFRA_SCHEMAS_DIR": "/var/task/eventinfra_schemas",
        "EVENTINFRA_DEAD_LETTER_QUEUE_URL": dead_letter_queue.outputs["url"],
        "EVENTINFRA_IDEMPOTENCY_TABLE": table.outputs["name"],
        "EVENTINFRA_IDEMPOTENCY_TTL_SECONDS": "3600",
        "EVENTINFRA_IDEMPOTENCY_KEY": "orderId",
    }
    assert function.inputs["timeout"] == 30
    assert log_group.inputs["name"] == "/aws/lambda/dev-orders"
    assert log_group.inputs["retentionInDays"] == 14
    # Logs and permissions exist before the function can receive its first message.
    assert {log_group.urn, lambda_consumer.named("orders-role-policy").urn} <= set(
        function.dependencies
    )


def test_lambda_role_is_least_privilege(lambda_consumer: Synthesis) -> None:
    queue = lambda_consumer.named("orders-queue")
    table = lambda_consumer.named("orders-idempotency-table")
    log_group = lambda_consumer.named("orders-logs")
    document = policy(lambda_consumer.named("orders-role-policy"))
    assert statement(document, "ConsumeQueue")["Resource"] == [queue.outputs["arn"]]
    # GenerateDataKey: poison records are sent into the encrypted DLQ.
    assert statement(document, "DecryptMessages") == {
        "Sid": "DecryptMessages",
        "Effect": "Allow",
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": [KEY_ARN],
    }
    assert statement(document, "DeadLetterPoison") == {
        "Sid": "DeadLetterPoison",
        "Effect": "Allow",
        "Action": ["sqs:SendMessage"],
        "Resource": [lambda_consumer.named("orders-dlq").outputs["arn"]],
    }
    assert [s["Sid"] for s in document["Statement"]] == [
        "ConsumeQueue", "DecryptMessages", "WriteLogs", "IdempotencyRecords", "DeadLetterPoison"
    ]  # fmt: skip
    assert "tracingConfig" not in lambda_consumer.named("orders-function").inputs
    assert statement(document, "IdempotencyRecords")["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ]
    assert statement(document, "IdempotencyRecords")["Resource"] == [table.outputs["arn"]]
    assert statement(document, "WriteLogs")["Resource"] == [
        log_group.outputs["arn"] + ":log-stream:*"
    ]
    trust = policy(lambda_consumer.named("orders-role"), "assumeRolePolicy")
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_lambda_alarms(lambda_consumer: Synthesis) -> None:
    function = lambda_consumer.named("orders-function")
    errors = lambda_consumer.named("orders-errors-alarm").inputs
    throttles = lambda_consumer.named("orders-throttles-alarm").inputs
    assert errors["metricName"] == "Errors"
    assert errors["dimensions"] == {"FunctionName": function.outputs["name"]}
    assert throttles["metricName"] == "Throttles"
    assert errors["alarmActions"] == throttles["alarmActions"] == [ALERTS_ARN]


def test_topic_is_encrypted_tls_only_and_open_to_its_producers() -> None:
    producer_role = f"arn:aws:iam::{ACCOUNT}:role/accounts-api"
    graph = record(
        lambda: EventTopic(
            "user-signup",
            {
                "topic_name": "dev-user-signup",
                "kms_key_arn": KEY_ARN,
                "publisher_role_arns": [producer_role],
                "protect": True,
            },
        )
    )
    assert child_types(graph) == {"aws:sns/topic:Topic": 1, "aws:sns/topicPolicy:TopicPolicy": 1}
    topic = graph.named("user-signup-topic")
    assert topic.inputs["kmsMasterKeyId"] == KEY_ARN
    assert topic.protect
    document = policy(graph.named("user-signup-policy"))
    assert graph.named("user-signup-policy").inputs["arn"] == topic.outputs["arn"]
    assert statement(document, "AllowProducers") == {
        "Sid": "AllowProducers",
        "Effect": "Allow",
        "Principal": {"AWS": [producer_role]},
        "Action": ["sns:Publish"],
        "Resource": topic.outputs["arn"],
    }
    assert statement(document, "DenyInsecureTransport")["Resource"] == topic.outputs["arn"]
    assert "DenyOtherPublishers" not in {s["Sid"] for s in document["Statement"]}


def test_topic_refuses_publishers_other_than_its_producer_roles() -> None:
    producer_role = f"arn:aws:iam::{ACCOUNT}:role/accounts-api"
    graph = record(
        lambda: EventTopic(
            "user-signup",
            {
                "kms_key_arn": KEY_ARN,
                "publisher_role_arns": [producer_role],
                "only_publisher_roles": True,
            },
        )
    )
    topic = graph.named("user-signup-topic")
    assert statement(policy(graph.named("user-signup-policy")), "DenyOtherPublishers") == {
        "Sid": "DenyOtherPublishers",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["sns:Publish"],
        "Resource": topic.outputs["arn"],
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [producer_role]}},
    }


def test_fifo_topic_deduplicates_by_content() -> None:
    graph = record(
        lambda: EventTopic(
            "orders", {"topic_name": "dev-orders.fifo", "fifo": True, "kms_key_arn": KEY_ARN}
        )
    )
    topic = graph.named("orders-topic").inputs
    assert topic["fifoTopic"] is True
    assert topic["contentBasedDeduplication"] is True


def test_key_rotates_and_lets_sns_encrypt() -> None:
    graph = record(lambda: EventKey("events", {"service_principals": ["cloudwatch.amazonaws.com"]}))
    key = graph.named("events-key")
    assert key.inputs["enableKeyRotation"] is True
    document = policy(key)
    services = statement(document, "ServicesEncryptMessages")
    assert services["Principal"] == {"Service": ["sns.amazonaws.com", "cloudwatch.amazonaws.com"]}
    assert services["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert services["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    account = statement(document, "AccountAdministers")
    assert account["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert "kms:PutKeyPolicy" in account["Action"]


def test_key_lets_roles_of_other_accounts_encrypt_through_sns_only() -> None:
    other_role = "arn:aws:iam::210987654321:role/accounts-api"
    graph = record(lambda: EventKey("events", {"publisher_role_arns": [other_role]}))
    publishers = statement(policy(graph.named("events-key")), "OtherAccountPublishersEncryptViaSns")
    assert publishers["Principal"] == {"AWS": [other_role]}
    assert publishers["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert publishers["Condition"] == {
        "StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}
    }


def test_key_grants_no_other_account_by_default() -> None:
    graph = record(lambda: EventKey("events", {}))
    sids = [s["Sid"] for s in policy(graph.named("events-key"))["Statement"]]
    assert sids == ["AccountAdministers", "ServicesEncryptMessages"]


def test_producer_may_publish_only_its_topics() -> None:
    graph = record(
        lambda: EventProducer(
            "accounts-api",
            {
                "topic_arns": [TOPIC_ARN],
                "kms_key_arn": KEY_ARN,
                "role_name": "accounts-api",
            },
        )
    )
    document = policy(graph.named("accounts-api-publish-policy"))
    assert statement(document, "PublishEvents") == {
        "Sid": "PublishEvents",
        "Effect": "Allow",
        "Action": ["sns:Publish"],
        "Resource": [TOPIC_ARN],
    }
    assert statement(document, "EncryptEvents")["Resource"] == [KEY_ARN]
    attachment = graph.named("accounts-api-publish-policy-attachment").inputs
    assert attachment["role"] == "accounts-api"


def test_parking_queue_keeps_unconsumed_events_for_14_days() -> None:
    graph = record(
        lambda: ParkingQueue(
            "invoice-paid-parking",
            {
                "queue_name": "dev-invoice-paid-parking",
                "topic_arn": TOPIC_ARN,
                "kms_key_arn": KEY_ARN,
                "alarm_target": AlarmTarget(topic_arn=ALERTS_ARN),
            },
        )
    )
    queue = graph.named("invoice-paid-parking-queue")
    assert queue.inputs["messageRetentionSeconds"] == 1_209_600
    # The update that adds the event's first consumer drops the component: the queue, and what
    # is parked in it, stays for `eventinfra replay`; its subscription goes, so nothing new arrives.
    assert queue.retain_on_delete is True
    assert not graph.named("invoice-paid-parking-subscription").retain_on_delete
    assert json.loads(queue.inputs["redriveAllowPolicy"]) == {"redrivePermission": "denyAll"}
    subscription = graph.named("invoice-paid-parking-subscription").inputs
    assert subscription["endpoint"] == queue.outputs["arn"]
    assert subscription["rawMessageDelivery"] is True
    alarm = graph.named("invoice-paid-parking-expiry-alarm").inputs
    assert alarm["threshold"] == 1_209_600 - 2 * 86_400


# --- the example stacks -------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["dev", "prod"])
def example(request: pytest.FixtureRequest) -> Synthesis:
    return synthesize(REPOSITORY, request.param)


def _wildcards(value: Any, path: str = "") -> list[str]:
    """Every Action or Resource that is or ends in '*', outside KMS key policies."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("Action", "Resource"):
                items = item if isinstance(item, list) else [item]
                found += [
                    f"{path}.{key}={i}"
                    for i in items
                    if str(i) == "*" or (str(i).endswith(":*") and key == "Action")
                ]
            found += _wildcards(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _wildcards(item, f"{path}[{index}]")
    return found


def test_no_wildcard_action_or_resource_anywhere(example: Synthesis) -> None:
    for resource in example.resources:
        for key in ("policy", "assumeRolePolicy"):
            if key not in resource.inputs:
                continue
            document = json.loads(resource.inputs[key])
            if resource.type == "aws:kms/key:Key":
                # In a key policy "*" is the only Resource KMS accepts: it means this key.
                assert not [w for w in _wildcards(document) if "Action" in w], resource.name
            else:
                assert _wildcards(document) == [], resource.name


def test_every_taggable_resource_names_environment_and_component(example: Synthesis) -> None:
    for resource in example.resources:
        if resource.custom and "tags" in resource.inputs:
            tags = resource.inputs["tags"]
            assert tags["environment"] == example.stack, resource.name
            assert tags["eventinfra:component"], resource.name


def test_example_stack_outputs(example: Synthesis) -> None:
    prefix = example.stack
    assert set(example.outputs["topic_arns"]) == {"user.signup", "order.placed", "invoice.paid"}
    assert example.outputs["topic_arns"]["user.signup"].endswith(f":{prefix}-user-signup")
    assert set(example.outputs["queue_urls"]) == {"welcome-email", "analytics", "fulfilment"}
    assert example.outputs["dead_letter_queue_arns"]["welcome-email"].endswith(
        f":{prefix}-welcome-email-dlq"
    )
    assert set(example.outputs["producer_policy_arns"]) == {
        "accounts-api",
        "checkout-api",
        "billing",
    }
    assert set(example.outputs["consumer_policy_arns"]) == {"analytics", "fulfilment"}
    assert set(example.outputs["parking_queue_urls"]) == {"invoice.paid"}


def test_producer_events_are_the_runtime_contract_with_filtered_fields(
    example: Synthesis,
) -> None:
    from eventinfra_runtime import contract

    events = example.outputs["producer_events"]
    assert set(events) == {"accounts-api", "checkout-api", "billing"}
    config = contract.load(
        "sns-producer",
        {
            contract.BROKER: "sns",
            contract.SERVICE: "accounts-api",
            contract.EVENTS: events["accounts-api"],
            contract.SCHEMAS_DIR: str(REPOSITORY / "schemas"),
        },
    )
    signup = config.events["user.signup"]
    # welcome-email's subscription filters user.signup on `plan`.
    assert signup.attributes == ("plan",)
    assert signup.destination == example.outputs["topic_arns"]["user.signup"]
    assert json.loads(events["checkout-api"])["order.placed"]["attributes"] == []


def test_environments_differ_where_settings_say(example: Synthesis) -> None:
    protected = {r.type for r in example.resources if r.protect}
    queue = next(r for r in example.resources if r.name == "events-consumer-analytics-queue")
    log_group = next(r for r in example.resources if r.type == "aws:cloudwatch/logGroup:LogGroup")
    if example.stack == "prod":
        assert protected == {
            "aws:sns/topic:Topic",
            "aws:sqs/queue:Queue",
            "aws:dynamodb/table:Table",
        }
        assert queue.inputs["messageRetentionSeconds"] == 1_036_800
        assert log_group.inputs["retentionInDays"] == 90
    else:
        assert protected == set()
        assert queue.inputs["messageRetentionSeconds"] == 345_600
        assert log_group.inputs["retentionInDays"] == 14


def test_platform_restricts_publishing_only_when_every_producer_is_a_role(tmp_path: Path) -> None:
    from eventinfra import SnsSqsPlatform, load_platform_config
    from tests.support.config_fixtures import base_settings, base_topology, write_project

    topology = base_topology()
    role = f"arn:aws:iam::{ACCOUNT}:role/accounts-api"
    topology["producers"]["accounts-api"]["role_arn"] = role
    topology["producers"]["other-api"] = {"publishes": ["order.placed"]}
    stack_file = write_project(tmp_path, topology)
    config = load_platform_config(
        base_settings(), stack="dev", project_dir=tmp_path, stack_file=stack_file
    )
    graph = record(lambda: SnsSqsPlatform.from_config("events", config))

    def sids(topic: str) -> set[str]:
        return {s["Sid"] for s in policy(graph.named(f"events-event-{topic}-policy"))["Statement"]}

    assert {"AllowProducers", "DenyOtherPublishers"} <= sids("user-signup")
    assert "DenyOtherPublishers" not in sids("order-placed")
    attachment = graph.named("events-producer-accounts-api-publish-policy-attachment").inputs
    assert attachment["role"] == "accounts-api"


def test_large_platforms_get_dashboards_of_at_most_100_widgets(tmp_path: Path) -> None:
    from eventinfra import SnsSqsPlatform, load_platform_config
    from tests.support.config_fixtures import base_settings, base_topology, write_project

    topology = base_topology()
    for index in range(38):  # 40 consumers in all: 120 widgets
        topology["consumers"][f"reader-{index:02d}"] = {
            "subscribes": ["order.placed"],
            "runtime": "external",
        }
    stack_file = write_project(tmp_path, topology)
    config = load_platform_config(
        base_settings(), stack="dev", project_dir=tmp_path, stack_file=stack_file
    )
    graph = record(lambda: SnsSqsPlatform.from_config("events", config))
    dashboards = graph.by_type("aws:cloudwatch/dashboard:Dashboard")
    assert [d.inputs["dashboardName"] for d in dashboards] == ["dev-eventinfra", "dev-eventinfra-2"]
    widgets = [json.loads(d.inputs["dashboardBody"])["widgets"] for d in dashboards]
    assert [len(w) for w in widgets] == [99, 21]
    titles = [widget["properties"]["title"] for page in widgets for widget in page]
    assert len(titles) == len(set(titles)) == 120  # every consumer once, none lost
