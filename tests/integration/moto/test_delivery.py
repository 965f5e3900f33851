"""Round trip on moto: the recorded SNS/SQS graph, rebuilt in the emulator, delivers as designed."""

# Every topic, queue, subscription and redrive policy is created from the inputs the Pulumi
# program recorded under `eventinfra.check.synth` (never from topology.yaml), so these tests break when
# the components stop setting a filter policy, raw delivery, a redrive policy or FIFO.
#
# What moto does NOT prove, and where it is covered instead:
# - queue policies and topic policies (`aws:sqs/queuePolicy`, `aws:sns/topicPolicy`) are not
#   enforced: moto delivers from SNS to SQS even without a policy that lets SNS in;
# - KMS key policies are not enforced: a moto key is created from the recorded key and wired to
#   the topics and queues, but moto neither encrypts with it nor checks that SNS may use it;
# - SNS subscription DLQs (the subscriptions' `RedrivePolicy`) are stored, never used;
# - an SQS `RedriveAllowPolicy` is accepted and dropped; `StartMessageMoveTask` is not emulated;
# - moto 5.2.5 does not derive an SNS FIFO topic's content-based deduplication id (see
#   `test_fifo_topic_deduplicates_by_content`).
# Those are covered by the policy pack and the component unit tests, not here.

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import boto3
import pytest
from moto import mock_aws

from eventinfra.check.synth import Synthesis, synthesize
from eventinfra.graph import RecordedResource
from tests.support import REPOSITORY
from tests.support.config_fixtures import base_settings, write_project

PROJECT: Final = REPOSITORY
KEY: Final = "aws:kms/key:Key"
QUEUE: Final = "aws:sqs/queue:Queue"
TOPIC: Final = "aws:sns/topic:Topic"
SUBSCRIPTION: Final = "aws:sns/topicSubscription:TopicSubscription"

# Not the mocks' account (123456789012): a recorded ARN used untranslated finds nothing in moto.
MOTO_ACCOUNT: Final = "210987654321"

# Recorded (engine) input name -> API attribute name. An input missing from these tables fails
# the build, so a new queue or subscription setting cannot be silently left out of the emulation.
QUEUE_ATTRIBUTES: Final = {
    "fifoQueue": "FifoQueue",
    "contentBasedDeduplication": "ContentBasedDeduplication",
    "deduplicationScope": "DeduplicationScope",
    "fifoThroughputLimit": "FifoThroughputLimit",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
}
TOPIC_ATTRIBUTES: Final = {
    "fifoTopic": "FifoTopic",
    "contentBasedDeduplication": "ContentBasedDeduplication",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "displayName": "DisplayName",
}
SUBSCRIPTION_ATTRIBUTES: Final = {
    "rawMessageDelivery": "RawMessageDelivery",
    "filterPolicy": "FilterPolicy",
    "filterPolicyScope": "FilterPolicyScope",
    "redrivePolicy": "RedrivePolicy",
}
# Inputs with no behaviour to emulate: names are used directly, tags change nothing.
UNEMULATED_INPUTS: Final = frozenset({"name", "tags"})
SUBSCRIPTION_TARGET_INPUTS: Final = frozenset({"topic", "protocol", "endpoint"})


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _untranslated(resource: RecordedResource, key: str, table: Mapping[str, str]) -> str:
    return (
        f"{resource.type} {resource.name!r} records input {key!r}, which this test does not "
        f"create in moto; add it to the translation table ({', '.join(sorted(table))})."
    )


@dataclass
class Emulation:
    """The recorded graph created in moto: clients, names to URLs and ARNs, recorded→moto ARNs."""

    region: str
    sns: Any
    sqs: Any
    arns: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)

    def translate(self, value: Any) -> Any:
        """`value` with every recorded ARN replaced by the moto ARN of the same resource."""
        if isinstance(value, dict):
            return {key: self.translate(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.translate(item) for item in value]
        if isinstance(value, str) and value.startswith("arn:"):
            assert value in self.arns, f"{value!r} names no resource recorded before it."
            return self.arns[value]
        return value

    def translate_attribute(self, key: str, value: Any) -> str:
        if key in ("redrivePolicy", "redriveAllowPolicy"):
            return json.dumps(self.translate(json.loads(value)))
        return _attribute_text(self.translate(value))

    def receive(self, queue_name: str, max_messages: int = 10) -> list[dict[str, Any]]:
        # Always poll without waiting: the recorded queues long-poll for 20 s.
        messages: list[dict[str, Any]] = self.sqs.receive_message(
            QueueUrl=self.queue_urls[queue_name],
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def drain(self, queue_name: str) -> list[str]:
        bodies = []
        while messages := self.receive(queue_name):
            for message in messages:
                bodies.append(message["Body"])
                self.sqs.delete_message(
                    QueueUrl=self.queue_urls[queue_name], ReceiptHandle=message["ReceiptHandle"]
                )
        return bodies

    def deliveries(self) -> dict[str, list[str]]:
        """Every queue (DLQs included) that holds messages, drained, with the bodies."""
        drained = {name: self.drain(name) for name in self.queue_urls}
        return {name: bodies for name, bodies in drained.items() if bodies}

    def visible_count(self, queue_name: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_urls[queue_name], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def publish(self, topic_name: str, payload: Mapping[str, Any], **options: Any) -> str:
        body = json.dumps(payload)
        self.sns.publish(TopicArn=self.topic_arns[topic_name], Message=body, **options)
        return body


def _region(synthesis: Synthesis) -> str:
    regions: set[str] = {
        resource.outputs["arn"].split(":")[3]
        for resource in synthesis.resources
        if resource.type in (QUEUE, TOPIC)
    }
    assert len(regions) == 1, f"The recorded topics and queues span regions {sorted(regions)}."
    return regions.pop()


def emulate(synthesis: Synthesis) -> Emulation:
    """Create the recorded KMS keys, queues, redrive policies, topics and subscriptions in moto."""
    region = _region(synthesis)
    emulation = Emulation(
        region=region,
        sns=boto3.client("sns", region_name=region),
        sqs=boto3.client("sqs", region_name=region),
    )
    kms = boto3.client("kms", region_name=region)
    for kms_key in synthesis.by_type(KEY):
        # The key policy goes in as recorded: moto stores it and evaluates none of it.
        created = kms.create_key(
            Description=kms_key.inputs.get("description", ""), Policy=kms_key.inputs["policy"]
        )
        emulation.arns[kms_key.outputs["arn"]] = created["KeyMetadata"]["Arn"]

    queues = synthesis.by_type(QUEUE)
    # Source queues and their DLQs name each other: create every queue, then link them.
    linking = {"redrivePolicy": "RedrivePolicy", "redriveAllowPolicy": "RedriveAllowPolicy"}
    for queue in queues:
        attributes = {}
        for key, value in queue.inputs.items():
            assert key in {*QUEUE_ATTRIBUTES, *linking, *UNEMULATED_INPUTS}, _untranslated(
                queue, key, QUEUE_ATTRIBUTES
            )
            if key in QUEUE_ATTRIBUTES:
                attributes[QUEUE_ATTRIBUTES[key]] = emulation.translate_attribute(key, value)
        name = queue.inputs["name"]
        url = emulation.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        emulation.queue_urls[name] = url
        emulation.arns[queue.outputs["arn"]] = emulation.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
    for queue in queues:
        links = {
            attribute: emulation.translate_attribute(key, queue.inputs[key])
            for key, attribute in linking.items()
            if key in queue.inputs
        }
        if links:
            emulation.sqs.set_queue_attributes(
                QueueUrl=emulation.queue_urls[queue.inputs["name"]], Attributes=links
            )

    for topic in synthesis.by_type(TOPIC):
        attributes = {}
        for key, value in topic.inputs.items():
            if key in UNEMULATED_INPUTS:
                continue
            assert key in TOPIC_ATTRIBUTES, _untranslated(topic, key, TOPIC_ATTRIBUTES)
            attributes[TOPIC_ATTRIBUTES[key]] = emulation.translate_attribute(key, value)
        name = topic.inputs["name"]
        arn = emulation.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        emulation.topic_arns[name] = arn
        emulation.arns[topic.outputs["arn"]] = arn

    for subscription in synthesis.by_type(SUBSCRIPTION):
        inputs = subscription.inputs
        attributes = {}
        for key, value in inputs.items():
            if key in SUBSCRIPTION_TARGET_INPUTS:
                continue
            assert key in SUBSCRIPTION_ATTRIBUTES, _untranslated(
                subscription, key, SUBSCRIPTION_ATTRIBUTES
            )
            attributes[SUBSCRIPTION_ATTRIBUTES[key]] = emulation.translate_attribute(key, value)
        endpoint = inputs["endpoint"]
        emulation.sns.subscribe(
            TopicArn=emulation.translate(inputs["topic"]),
            Protocol=inputs["protocol"],
            Endpoint=emulation.translate(endpoint) if inputs["protocol"] == "sqs" else endpoint,
            Attributes=attributes,
        )
    return emulation


def _recorded_queue(synthesis: Synthesis, queue_name: str) -> RecordedResource:
    (queue,) = [q for q in synthesis.by_type(QUEUE) if q.inputs["name"] == queue_name]
    return queue


def _queue_name_of(synthesis: Synthesis, recorded_arn: str) -> str:
    (queue,) = [q for q in synthesis.by_type(QUEUE) if q.outputs["arn"] == recorded_arn]
    return str(queue.inputs["name"])


def _dead_letter_queue_names(synthesis: Synthesis) -> set[str]:
    return {
        _queue_name_of(synthesis, json.loads(queue.inputs["redrivePolicy"])["deadLetterTargetArn"])
        for queue in synthesis.by_type(QUEUE)
        if "redrivePolicy" in queue.inputs
    }


def _string_attributes(**attributes: str) -> dict[str, dict[str, str]]:
    return {
        name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
    }


@pytest.fixture(scope="module")
def dev() -> Synthesis:
    return synthesize(PROJECT, "dev")


@pytest.fixture
def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", MOTO_ACCOUNT)
    with mock_aws():
        yield


@pytest.fixture
def emulated_dev(dev: Synthesis, moto_account: None) -> Emulation:
    return emulate(dev)


@pytest.mark.parametrize(
    ("topic_name", "payload", "attributes", "expected_queues"),
    [
        pytest.param(
            "dev-user-signup",
            {"userId": "u-1", "plan": "pro"},
            {"plan": "pro"},
            {"dev-welcome-email", "dev-analytics"},
            id="user.signup-plan-pro",
        ),
        pytest.param(
            "dev-user-signup",
            {"userId": "u-2", "plan": "free"},
            {"plan": "free"},
            {"dev-analytics"},
            id="user.signup-plan-free",
        ),
        pytest.param(
            "dev-order-placed",
            {"orderId": "o-1", "total": 42},
            {},
            {"dev-analytics", "dev-fulfilment"},
            id="order.placed",
        ),
        pytest.param(
            "dev-invoice-paid",
            {"invoiceId": "i-1"},
            {},
            {"dev-invoice-paid-parking"},
            id="invoice.paid-parked",
        ),
    ],
)
def test_event_reaches_exactly_the_subscribed_matching_queues_raw(
    emulated_dev: Emulation,
    topic_name: str,
    payload: dict[str, Any],
    attributes: dict[str, str],
    expected_queues: set[str],
) -> None:
    body = emulated_dev.publish(
        topic_name, payload, MessageAttributes=_string_attributes(**attributes)
    )

    # Every queue, DLQs included, is drained: one copy of the published JSON itself (raw
    # delivery, not an SNS envelope) in each expected queue, and nothing anywhere else.
    assert emulated_dev.deliveries() == {name: [body] for name in expected_queues}


def test_no_dead_letter_queue_receives_anything_on_the_happy_path(
    emulated_dev: Emulation, dev: Synthesis
) -> None:
    dead_letter_queues = _dead_letter_queue_names(dev)
    assert dead_letter_queues == {
        "dev-welcome-email-dlq",
        "dev-analytics-dlq",
        "dev-fulfilment-dlq",
    }
    for plan in ("pro", "team", "free"):
        emulated_dev.publish(
            "dev-user-signup",
            {"userId": f"u-{plan}", "plan": plan},
            MessageAttributes=_string_attributes(plan=plan),
        )
    emulated_dev.publish("dev-order-placed", {"orderId": "o-2"})
    emulated_dev.publish("dev-invoice-paid", {"invoiceId": "i-2"})

    delivered = emulated_dev.deliveries()

    assert set(delivered) == {
        "dev-welcome-email",
        "dev-analytics",
        "dev-fulfilment",
        "dev-invoice-paid-parking",
    }
    assert not dead_letter_queues & set(delivered)
    assert len(delivered["dev-welcome-email"]) == 2  # pro and team pass the filter, free not
    assert len(delivered["dev-analytics"]) == 4


@pytest.mark.parametrize(
    ("queue_name", "topic_name", "payload", "attributes", "expected_max_receive_count"),
    [
        pytest.param(
            "dev-welcome-email",
            "dev-user-signup",
            {"userId": "u-3", "plan": "team"},
            {"plan": "team"},
            5,
            id="welcome-email",
        ),
        pytest.param(
            "dev-fulfilment",
            "dev-order-placed",
            {"orderId": "o-3"},
            {},
            8,
            id="fulfilment",
        ),
    ],
)
def test_message_received_max_receive_count_times_is_dead_lettered_on_the_next_receive(
    emulated_dev: Emulation,
    dev: Synthesis,
    queue_name: str,
    topic_name: str,
    payload: dict[str, Any],
    attributes: dict[str, str],
    expected_max_receive_count: int,
) -> None:
    redrive = json.loads(_recorded_queue(dev, queue_name).inputs["redrivePolicy"])
    max_receive_count = redrive["maxReceiveCount"]
    assert max_receive_count == expected_max_receive_count
    dead_letter_queue = _queue_name_of(dev, redrive["deadLetterTargetArn"])
    assert dead_letter_queue == f"{queue_name}-dlq"
    body = emulated_dev.publish(
        topic_name, payload, MessageAttributes=_string_attributes(**attributes)
    )
    url = emulated_dev.queue_urls[queue_name]

    for attempt in range(1, max_receive_count + 1):
        (message,) = emulated_dev.receive(queue_name)
        assert message["Body"] == body
        assert message["Attributes"]["ApproximateReceiveCount"] == str(attempt)
        # In flight for the recorded visibility timeout: a second consumer sees nothing.
        assert emulated_dev.receive(queue_name) == []
        assert emulated_dev.visible_count(dead_letter_queue) == 0, f"dead-lettered at {attempt}"
        # A consumer that failed: the message comes back at once instead of after the timeout.
        emulated_dev.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
        # moto compares millisecond timestamps strictly: visible from the next millisecond.
        time.sleep(0.002)

    assert emulated_dev.receive(queue_name) == []
    assert emulated_dev.drain(dead_letter_queue) == [body]
    assert emulated_dev.visible_count(queue_name) == 0


# --- FIFO: a topology written for the test, synthesized the same way -----------------------


FIFO_TOPOLOGY: Final = {
    "events": {"order.placed": {"description": "An order was placed.", "fifo": True}},
    "producers": {"checkout-api": {"publishes": ["order.placed"]}},
    "consumers": {
        "fulfilment": {
            "description": "Books shipping, in order, once per order.",
            "subscribes": ["order.placed"],
            "runtime": "external",
        }
    },
}


@pytest.fixture(scope="module")
def fifo(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    root = tmp_path_factory.mktemp("fifo")
    write_project(root, FIFO_TOPOLOGY, base_settings())
    shutil.copy(PROJECT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copy(PROJECT / "__main__.py", root / "__main__.py")
    return synthesize(root, "dev")


@pytest.fixture
def emulated_fifo(fifo: Synthesis, moto_account: None) -> Emulation:
    return emulate(fifo)


def _order(order_id: str, step: int) -> dict[str, Any]:
    return {"orderId": order_id, "step": step}


def test_fifo_drops_a_duplicate_within_the_window_and_keeps_group_order(
    emulated_fifo: Emulation,
) -> None:
    topic = "dev-order-placed.fifo"
    queue = "dev-fulfilment.fifo"
    published = []
    for order_id, step in [("a", 1), ("b", 1), ("a", 2), ("a", 1), ("b", 2), ("a", 3)]:
        payload = _order(order_id, step)
        # moto forwards the publisher's deduplication id but derives none from the content
        # (see the next test), so the test supplies the id SNS would derive.
        deduplication_id = f"{order_id}-{step}"
        published.append(
            emulated_fifo.publish(
                topic, payload, MessageGroupId=order_id, MessageDeduplicationId=deduplication_id
            )
        )
    url = emulated_fifo.queue_urls[queue]

    (first,) = emulated_fifo.receive(queue, max_messages=1)
    assert first["Body"] == json.dumps(_order("a", 1))
    # While a's first message is in flight, a's later messages wait; b's are not held up.
    held = emulated_fifo.receive(queue)
    assert [message["Body"] for message in held] == [
        json.dumps(_order("b", 1)),
        json.dumps(_order("b", 2)),
    ]
    for message in [first, *held]:
        emulated_fifo.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    rest = emulated_fifo.receive(queue)

    assert [message["Body"] for message in rest] == [
        json.dumps(_order("a", 2)),
        json.dumps(_order("a", 3)),
    ]
    assert {message["Attributes"]["MessageGroupId"] for message in rest} == {"a"}
    assert len(published) == 6  # the duplicate of ("a", 1) was published and dropped
    assert emulated_fifo.deliveries() == {}


# SNS FIFO content-based deduplication is not emulated by moto 5.2.5 (it forwards no
# deduplication id to the queue), so it is asserted on the recorded topic in
# tests/test_components.py::test_fifo_topic_deduplicates_by_content, not proven here.
