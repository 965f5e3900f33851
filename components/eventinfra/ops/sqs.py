"""The SQS backend of the ops commands (boto3, the usual AWS credential chain)."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from eventinfra.errors import EventInfraError
from eventinfra.ops.model import (
    EVENT_ID,
    EVENT_TYPE,
    REJECTION_REASON,
    InHand,
    MoveTask,
    QueueRef,
    QueueStat,
)
from eventinfra.ops.outputs import StackOutputs

__all__ = ["MoveTaskStatus", "SqsBackend", "import_boto3"]

INSTALL_HINT: Final = "pip install 'eventinfra[ops]'"
SQS_BATCH: Final = 10  # ReceiveMessage, ChangeMessageVisibilityBatch: at most 10 per call
# Long polling asks every SQS server, so an empty answer means the queue is (nearly) empty;
# short polling samples a subset and can answer empty while messages wait.
RECEIVE_WAIT_SECONDS: Final = 1
MAX_VISIBILITY_SECONDS: Final = 43_200
# Errors with which a region or account answers "no message move tasks here".
MOVE_TASK_UNAVAILABLE: Final = frozenset(
    {"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "InvalidAction"}
)
_REGION = re.compile(r"^https://sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")


def import_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise EventInfraError(
            f"The SQS commands need boto3, which is not installed: run `{INSTALL_HINT}`."
        ) from None
    return boto3


class MoveTaskStatus:
    def __init__(self, result: Mapping[str, Any]) -> None:
        self.status = str(result.get("Status", "UNKNOWN"))
        self.moved = int(result.get("ApproximateNumberOfMessagesMoved", 0))
        to_move = result.get("ApproximateNumberOfMessagesToMove")
        self.to_move = int(to_move) if to_move is not None else None
        self.failure = result.get("FailureReason")

    @property
    def finished(self) -> bool:
        return self.status in ("COMPLETED", "CANCELLED", "FAILED")


class SqsBackend:
    """Queues by the stack's outputs; every AWS error becomes one sentence."""

    def __init__(
        self, outputs: StackOutputs, *, client: Any = None, cloudwatch: Any = None
    ) -> None:
        self.outputs = outputs
        if client is None or cloudwatch is None:
            boto3 = import_boto3()
            region = self._region()
            with self._errors("create an AWS client", None):
                client = client or boto3.client("sqs", region_name=region)
                cloudwatch = cloudwatch or boto3.client("cloudwatch", region_name=region)
        self.client = client
        self.cloudwatch = cloudwatch

    def _region(self) -> str | None:
        """The region in the queue URLs, so no AWS_REGION is needed to reach the stack."""
        for url in self.outputs.queues.values():
            if match := _REGION.match(url):
                return match.group(1)
        return None

    @contextlib.contextmanager
    def _errors(self, action: str, queue: QueueRef | None) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        where = f" {queue.label} ({queue.address})" if queue else ""
        try:
            yield
        except ClientError as error:
            details = error.response.get("Error", {})
            raise EventInfraError(
                f"AWS refused to {action}{where}: {details.get('Code', 'error')}: "
                f"{details.get('Message', error)}."
            ) from None
        except BotoCoreError as error:
            raise EventInfraError(f"Cannot {action}{where}: {error}.") from None

    # ------------------------------------------------------------------ where the queues are

    def dead_letter_queue(self, consumer: str) -> QueueRef:
        self.outputs.consumer(consumer)
        known = self.outputs.dead_letter_queues.get(consumer)
        if known is None:
            raise EventInfraError(
                f"Consumer {consumer!r} has no dead-letter queue in the stack's outputs "
                f"({self.outputs.source})."
            )
        label = f"{consumer} DLQ"
        if known.startswith("arn:"):
            parts = known.split(":")
            if len(parts) != 6:
                raise EventInfraError(
                    f"The dead-letter queue ARN of {consumer!r} must look like "
                    f"'arn:aws:sqs:eu-west-1:123456789012:orders-dlq', but it is {known!r}."
                )
            with self._errors("find the queue", QueueRef(label, known)):
                url = self.client.get_queue_url(
                    QueueName=parts[5], QueueOwnerAWSAccountId=parts[4]
                )["QueueUrl"]
            return QueueRef(label, str(url), known)
        return QueueRef(label, known, self._arn(QueueRef(label, known)))

    def consumer_queue(self, consumer: str) -> QueueRef:
        url = self.outputs.queues[self.outputs.consumer(consumer)]
        arn = self.outputs.queue_arns.get(consumer) or self._arn(QueueRef(consumer, url))
        return QueueRef(consumer, url, arn)

    def parking_queue(self, event: str) -> QueueRef:
        return QueueRef(f"{event} parking", self.outputs.parking_queue(event))

    def _arn(self, queue: QueueRef) -> str:
        with self._errors("read the queue's ARN", queue):
            attributes = self.client.get_queue_attributes(
                QueueUrl=queue.address, AttributeNames=["QueueArn"]
            )["Attributes"]
        return str(attributes["QueueArn"])

    # ------------------------------------------------------------------ reading

    def depth(self, queue: QueueRef) -> int:
        visible, _ = self._counts(queue)
        return visible

    def _counts(self, queue: QueueRef) -> tuple[int, int]:
        with self._errors("read the queue's attributes", queue):
            attributes = self.client.get_queue_attributes(
                QueueUrl=queue.address,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
        return (
            int(attributes.get("ApproximateNumberOfMessages", 0)),
            int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        )

    def stats(self, consumer: str, queue: QueueRef) -> QueueStat:
        visible, in_flight = self._counts(queue)
        age, source = self._age_from_cloudwatch(queue), "cloudwatch"
        if age is None and visible:
            age, source = self._age_from_sample(queue), "sample"
        return QueueStat(consumer, queue, visible, in_flight, age, source if age else None)

    def _age_from_cloudwatch(self, queue: QueueRef) -> float | None:
        """SQS's own ApproximateAgeOfOldestMessage (1-minute metric), when it has one."""
        now = datetime.now(UTC)
        try:
            answer = self.cloudwatch.get_metric_statistics(
                Namespace="AWS/SQS",
                MetricName="ApproximateAgeOfOldestMessage",
                Dimensions=[{"Name": "QueueName", "Value": queue.address.rsplit("/", 1)[-1]}],
                StartTime=now - timedelta(minutes=15),
                EndTime=now,
                Period=60,
                Statistics=["Maximum"],
            )
        except Exception:  # no cloudwatch:GetMetricStatistics is no reason to fail a listing
            return None
        points = sorted(answer.get("Datapoints", []), key=lambda p: p["Timestamp"])
        return float(points[-1]["Maximum"]) if points else None

    def _age_from_sample(self, queue: QueueRef) -> float | None:
        """The oldest of up to 10 messages, left visible (VisibilityTimeout 0)."""
        with self._errors("receive from", queue):
            messages = self.client.receive_message(
                QueueUrl=queue.address,
                MaxNumberOfMessages=SQS_BATCH,
                VisibilityTimeout=0,
                MessageSystemAttributeNames=["SentTimestamp"],
            ).get("Messages", [])
        sent = [_sent_at(m) for m in messages]
        known = [s for s in sent if s is not None]
        return (datetime.now(UTC) - min(known)).total_seconds() if known else None

    def take(self, queue: QueueRef, count: int, hold_seconds: int) -> list[InHand]:
        with self._errors("receive from", queue):
            messages = self.client.receive_message(
                QueueUrl=queue.address,
                MaxNumberOfMessages=max(1, min(SQS_BATCH, count)),
                WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
                VisibilityTimeout=max(1, min(MAX_VISIBILITY_SECONDS, hold_seconds)),
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
        return [_in_hand(queue, message) for message in messages]

    # ------------------------------------------------------------------ moving

    def send(self, message: InHand, destination: QueueRef) -> None:
        request: dict[str, Any] = {
            "QueueUrl": destination.address,
            "MessageBody": message.body.decode("utf-8"),
        }
        attributes = message.native or {}
        if attributes:
            request["MessageAttributes"] = attributes
        if destination.address.endswith(".fifo"):
            system = message.extra.get("system", {})
            request["MessageGroupId"] = system.get("MessageGroupId") or message.event_id or "0"
            request["MessageDeduplicationId"] = (
                system.get("MessageDeduplicationId") or message.event_id or message.handle[:128]
            )
        with self._errors("send to", destination):
            self.client.send_message(**request)

    def settle(self, message: InHand) -> None:
        queue: QueueRef = message.extra["queue"]
        with self._errors("delete a moved message from", queue):
            self.client.delete_message(QueueUrl=queue.address, ReceiptHandle=message.handle)

    def release(self, messages: Sequence[InHand]) -> None:
        for start in range(0, len(messages), SQS_BATCH):
            chunk = messages[start : start + SQS_BATCH]
            queue: QueueRef = chunk[0].extra["queue"]
            with self._errors("make messages visible again in", queue):
                self.client.change_message_visibility_batch(
                    QueueUrl=queue.address,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m.handle, "VisibilityTimeout": 0}
                        for i, m in enumerate(chunk)
                    ],
                )

    def purge(self, queue: QueueRef) -> int:
        visible, in_flight = self._counts(queue)
        with self._errors("purge", queue):
            self.client.purge_queue(QueueUrl=queue.address)
        return visible + in_flight

    def start_move_task(
        self, source: QueueRef, destination: QueueRef, rate: float | None
    ) -> MoveTask | None:
        """StartMessageMoveTask, or None where the service does not offer it."""
        from botocore.exceptions import ClientError

        request: dict[str, Any] = {"SourceArn": source.arn, "DestinationArn": destination.arn}
        if rate is not None:
            # The API takes whole messages per second, 1-500.
            request["MaxNumberOfMessagesPerSecond"] = max(1, min(500, math.floor(rate)))
        try:
            handle = self.client.start_message_move_task(**request)["TaskHandle"]
        except NotImplementedError:  # moto: the action is not emulated
            return None
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MOVE_TASK_UNAVAILABLE:
                return None
            with self._errors("start a message move task from", source):
                raise
        return MoveTask(str(handle), source, destination)

    def move_task_status(self, task: MoveTask) -> MoveTaskStatus:
        with self._errors("read the message move task of", task.source):
            results = self.client.list_message_move_tasks(
                SourceArn=task.source.arn, MaxResults=10
            ).get("Results", [])
        for result in results:
            if result.get("TaskHandle") == task.handle:
                return MoveTaskStatus(result)
        # Only the running task has a handle in the listing; a finished one is the newest entry.
        return MoveTaskStatus(results[0] if results else {"Status": "UNKNOWN"})

    def cancel_move_task(self, task: MoveTask) -> None:
        with self._errors("cancel the message move task of", task.source):
            self.client.cancel_message_move_task(TaskHandle=task.handle)

    def close(self) -> None:
        """boto3 clients hold no session to end."""


def _sent_at(message: Mapping[str, Any]) -> datetime | None:
    raw = message.get("Attributes", {}).get("SentTimestamp")
    return datetime.fromtimestamp(int(raw) / 1000, UTC) if raw else None


def _in_hand(queue: QueueRef, message: Mapping[str, Any]) -> InHand:
    native: dict[str, dict[str, Any]] = {}
    shown: dict[str, str] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        copy: dict[str, Any] = {"DataType": value["DataType"]}
        if "StringValue" in value:
            copy["StringValue"] = value["StringValue"]
            shown[name] = str(value["StringValue"])
        elif "BinaryValue" in value:
            copy["BinaryValue"] = value["BinaryValue"]
            shown[name] = f"<{len(value['BinaryValue'])} bytes>"
        native[name] = copy
    system = message.get("Attributes", {})
    receive_count = system.get("ApproximateReceiveCount")
    return InHand(
        body=str(message["Body"]).encode("utf-8"),
        attributes=shown,
        event_id=shown.get(EVENT_ID),
        event_type=shown.get(EVENT_TYPE),
        reason=shown.get(REJECTION_REASON)
        or ("moved by SQS after maxReceiveCount" if "DeadLetterQueueSourceArn" in system else None),
        deliveries=int(receive_count) if receive_count else None,
        sent_at=_sent_at(message),
        handle=message["ReceiptHandle"],
        native=native,
        extra={"queue": queue, "system": dict(system), "message_id": message.get("MessageId")},
    )
