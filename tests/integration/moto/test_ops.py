"""`eventinfra dlq` and `eventinfra replay` on moto's SQS: counts, audit, crash and Ctrl-C safety.

What moto does NOT prove: StartMessageMoveTask is not emulated (moto raises NotImplementedError),
so these tests run the receive -> send -> delete fallback and the move task itself is untested
here; queue policies and IAM (sqs:ReceiveMessage/SendMessage/DeleteMessage on the right queues)
are not enforced by moto; CloudWatch has no SQS metrics, so the DLQ age comes from a sample.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from eventinfra.check.cli import main
from eventinfra.ops import moves
from eventinfra.ops.model import InHand
from eventinfra.ops.moves import Audit, StopRequest, move, stop_on_interrupt
from eventinfra.ops.outputs import parse_outputs
from eventinfra.ops.sqs import SqsBackend

REGION = "eu-west-1"
MESSAGES = 5


class Stack:
    def __init__(self, tmp_path: Path) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.dlq = self.queue("dev-orders-dlq")
        self.queue_url = self.queue(
            "dev-orders",
            RedrivePolicy=json.dumps(
                {"deadLetterTargetArn": self.arn(self.dlq), "maxReceiveCount": "5"}
            ),
        )
        self.billing_dlq = self.queue("dev-billing-dlq")
        self.billing = self.queue("dev-billing")
        self.parking = self.queue("dev-invoice-paid-parking")
        self.outputs = tmp_path / "outputs.json"
        self.outputs.write_text(
            json.dumps(
                {
                    "topic_arns": {},
                    "queue_urls": {"orders": self.queue_url, "billing": self.billing},
                    "queue_arns": {
                        "orders": self.arn(self.queue_url),
                        "billing": self.arn(self.billing),
                    },
                    "dead_letter_queue_arns": {
                        "orders": self.arn(self.dlq),
                        "billing": self.arn(self.billing_dlq),
                    },
                    "consumer_policy_arns": {},
                    "producer_policy_arns": {},
                    "parking_queue_urls": {"invoice.paid": self.parking},
                    "alerts_topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts",
                }
            )
        )

    def queue(self, name: str, **attributes: str) -> str:
        return str(self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])

    def arn(self, url: str) -> str:
        return str(
            self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        )

    def fill(self, url: str, count: int, event_type: str = "order.placed") -> list[str]:
        ids = [f"{event_type}-{i}" for i in range(count)]
        for event_id in ids:
            self.sqs.send_message(
                QueueUrl=url,
                MessageBody=json.dumps({"orderId": event_id}),
                MessageAttributes={
                    "event-id": {"DataType": "String", "StringValue": event_id},
                    "event-type": {"DataType": "String", "StringValue": event_type},
                    "schema-version": {"DataType": "String", "StringValue": "1"},
                    "eventinfra-rejection-reason": {
                        "DataType": "String",
                        "StringValue": "$.orderId: 'x' is not of type 'integer'",
                    },
                },
            )
        return ids

    def counts(self, url: str) -> tuple[int, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    def drain(self, url: str) -> list[dict[str, Any]]:
        """Every visible message, deleted: (event id, body, attributes)."""
        found: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in batch:
                found.append(message)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found


def event_ids(messages: list[dict[str, Any]]) -> list[str]:
    return sorted(m["MessageAttributes"]["event-id"]["StringValue"] for m in messages)


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield Stack(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_dead_letter_queue_with_depth_and_age(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.fill(stack.dlq, MESSAGES)

    code, out, _ = run(capsys, "dlq", "list", "--outputs", str(stack.outputs), "--format", "json")

    assert code == 0
    listed = {q["consumer"]: q for q in json.loads(out)["deadLetterQueues"]}
    assert listed["orders"]["messages"] == MESSAGES
    assert listed["orders"]["queue"] == stack.dlq
    assert listed["orders"]["ageSource"] == "sample"
    assert 0 <= listed["orders"]["oldestAgeSeconds"] < 60
    assert listed["billing"]["messages"] == 0
    assert listed["billing"]["oldestAgeSeconds"] is None
    # The sample leaves the messages visible.
    assert stack.counts(stack.dlq) == (MESSAGES, 0)


def test_peek_shows_the_runtime_attributes_and_consumes_nothing(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = stack.fill(stack.dlq, MESSAGES)

    code, out, _ = run(
        capsys, "dlq", "peek", "orders", "--max", "3", "--outputs", str(stack.outputs),
        "--format", "json",
    )  # fmt: skip

    assert code == 0
    shown = json.loads(out)["messages"]
    assert len(shown) == 3
    assert {m["eventId"] for m in shown} <= set(ids)
    assert {m["eventType"] for m in shown} == {"order.placed"}
    assert {m["reason"] for m in shown} == {"$.orderId: 'x' is not of type 'integer'"}
    assert all(json.loads(m["body"])["orderId"] == m["eventId"] for m in shown)
    assert stack.counts(stack.dlq) == (MESSAGES, 0)  # visible again, none consumed


def test_redrive_moves_every_message_back_with_one_audit_line_each(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = stack.fill(stack.dlq, MESSAGES)
    audit = tmp_path / "audit.jsonl"

    code, out, _ = run(
        capsys, "dlq", "redrive", "orders", "--outputs", str(stack.outputs), "--audit",
        str(audit), "--format", "json",
    )  # fmt: skip

    assert code == 0
    result = json.loads(out)
    assert result["moved"] == MESSAGES
    assert result["complete"] is True
    assert result["method"] == "receive-send-delete"
    assert any("StartMessageMoveTask is not available" in n for n in result["notes"])
    assert stack.counts(stack.dlq) == (0, 0)
    moved = stack.drain(stack.queue_url)
    assert event_ids(moved) == sorted(ids)
    assert {m["MessageAttributes"]["event-type"]["StringValue"] for m in moved} == {"order.placed"}
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert sorted(line["eventId"] for line in lines) == sorted(ids)
    assert {(line["action"], line["from"], line["to"]) for line in lines} == {
        ("redrive", "orders DLQ", "orders")
    }
    assert all(line["time"].endswith("+00:00") for line in lines)


def test_redrive_is_bounded_by_max_and_paced_by_rate(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.fill(stack.dlq, MESSAGES)
    started = time.monotonic()

    code, out, err = run(
        capsys, "dlq", "redrive", "orders", "--max", "3", "--rate", "10", "--outputs",
        str(stack.outputs),
    )  # fmt: skip

    assert code == 0
    assert "Moved 3 message(s) from orders DLQ to orders (receive-send-delete)." in out
    assert time.monotonic() - started >= 0.2  # 3 messages at 10/s: two gaps of 0.1 s
    assert len(err.strip().splitlines()) == 3  # the audit lines, on stderr by default
    assert stack.counts(stack.dlq) == (MESSAGES - 3, 0)
    assert stack.counts(stack.queue_url) == (3, 0)


def test_dry_run_changes_nothing(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    stack.fill(stack.dlq, MESSAGES)

    code, out, _ = run(
        capsys, "dlq", "redrive", "orders", "--dry-run", "--outputs", str(stack.outputs),
        "--format", "json",
    )  # fmt: skip

    assert code == 0
    result = json.loads(out)
    assert (result["dryRun"], result["moved"], len(result["wouldMove"])) == (True, 0, MESSAGES)
    assert stack.counts(stack.dlq) == (MESSAGES, 0)
    assert stack.counts(stack.queue_url) == (0, 0)


def test_purge_asks_for_yes_then_says_how_many(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.fill(stack.dlq, MESSAGES)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    refused, _, err = run(capsys, "dlq", "purge", "orders", "--outputs", str(stack.outputs))
    assert refused == 2
    assert "pass --yes, because there is no terminal to confirm on" in err
    assert stack.counts(stack.dlq) == (MESSAGES, 0)

    code, out, _ = run(capsys, "dlq", "purge", "orders", "--yes", "--outputs", str(stack.outputs))

    assert code == 0
    assert out.strip() == f"Purged {MESSAGES} message(s) from orders DLQ."
    assert stack.counts(stack.dlq) == (0, 0)


def test_replay_delivers_parked_events_to_a_new_consumer_and_empties_the_parking_queue(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = stack.fill(stack.parking, 4, event_type="invoice.paid")

    code, out, err = run(
        capsys, "replay", "invoice.paid", "--to", "billing", "--outputs", str(stack.outputs),
    )  # fmt: skip

    assert code == 0, err
    assert "Moved 4 message(s) from invoice.paid parking to billing" in out
    assert stack.counts(stack.parking) == (0, 0)
    assert event_ids(stack.drain(stack.billing)) == sorted(ids)
    assert stack.counts(stack.queue_url) == (0, 0)  # no other consumer got a copy
    assert [json.loads(line)["action"] for line in err.splitlines()] == ["replay"] * 4


class SimulatedCrash(BaseException):
    """Not an Exception: nothing in the move may catch and tidy up after it."""


def test_a_crash_between_send_and_delete_leaves_a_duplicate_never_a_loss(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = stack.fill(stack.dlq, MESSAGES)
    monkeypatch.setattr(moves, "HOLD_MARGIN_SECONDS", 1)  # the crashed batch reappears soon
    backend = SqsBackend(parse_outputs(json.loads(stack.outputs.read_text()), "test"))
    sent: list[InHand] = []

    def crash_on_third(message: InHand) -> None:
        sent.append(message)
        if len(sent) == 3:
            raise SimulatedCrash

    with pytest.raises(SimulatedCrash), (tmp_path / "audit").open("w") as audit:
        move(
            backend, backend.dead_letter_queue("orders"), backend.consumer_queue("orders"),
            action="redrive", max_messages=None, rate=None, dry_run=False,
            audit=Audit(audit), stop=StopRequest(), method="receive-send-delete",
            after_send=crash_on_third,
        )  # fmt: skip

    time.sleep(1.5)  # the visibility timeout of what was in hand lapses
    in_queue = stack.drain(stack.queue_url)
    left_in_dlq = stack.drain(stack.dlq)
    assert len(in_queue) == 3
    assert len(left_in_dlq) == MESSAGES - 2  # the third was sent but not deleted
    assert len(in_queue) + len(left_in_dlq) == MESSAGES + 1
    assert set(event_ids(in_queue)) | set(event_ids(left_in_dlq)) == set(ids)  # none lost
    duplicated = set(event_ids(in_queue)) & set(event_ids(left_in_dlq))
    assert duplicated == {sent[2].event_id}


def test_ctrl_c_stops_after_the_message_in_flight(stack: Stack, tmp_path: Path) -> None:
    ids = stack.fill(stack.dlq, MESSAGES)
    backend = SqsBackend(parse_outputs(json.loads(stack.outputs.read_text()), "test"))
    sent: list[InHand] = []

    def interrupt_on_second(message: InHand) -> None:
        sent.append(message)
        if len(sent) == 2:
            os.kill(os.getpid(), signal.SIGINT)

    stop = StopRequest()
    with stop_on_interrupt(stop), (tmp_path / "audit").open("w") as audit:
        result = move(
            backend, backend.dead_letter_queue("orders"), backend.consumer_queue("orders"),
            action="redrive", max_messages=None, rate=None, dry_run=False,
            audit=Audit(audit), stop=stop, method="receive-send-delete",
            after_send=interrupt_on_second,
        )  # fmt: skip

    assert result.moved == 2  # the message in flight when Ctrl-C came was finished
    assert result.stopped == "interrupted (Ctrl-C)"
    assert stack.counts(stack.dlq) == (MESSAGES - 2, 0)  # the rest of the batch released
    in_queue, left = stack.drain(stack.queue_url), stack.drain(stack.dlq)
    assert sorted(event_ids(in_queue) + event_ids(left)) == sorted(ids)  # no duplicate, no loss
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_unknown_consumer_is_one_sentence_and_exit_2(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "dlq", "peek", "payments", "--outputs", str(stack.outputs))

    assert (code, out) == (2, "")
    assert err.strip() == (
        f"error: Consumer 'payments' is not in the stack's outputs ({stack.outputs}); "
        "expected one of ['billing', 'orders']."
    )


def test_a_missing_queue_is_one_sentence_and_exit_2(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.sqs.delete_queue(QueueUrl=stack.billing)

    code, _, err = run(
        capsys, "replay", "invoice.paid", "--to", "billing", "--outputs", str(stack.outputs)
    )

    assert code == 2
    assert err.startswith("error: AWS refused to read the queue's attributes billing (")
    assert "NonExistentQueue" in err or "QueueDoesNotExist" in err
    assert "Traceback" not in err
