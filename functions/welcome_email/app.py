"""Sends the welcome e-mail once per user, however often SQS delivers the event."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from typing import Any

import boto3
import jmespath
from botocore.exceptions import ClientError

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# Records follow the AWS Lambda Powertools idempotency layout (key `id`, TTL `expiration`),
# so the table can later be shared with Powertools-based handlers.
IN_PROGRESS_SECONDS = 60


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process an SQS batch; report only the failed messages so the rest are not retried."""
    store = IdempotencyStore(
        table=os.environ["IDEMPOTENCY_TABLE_NAME"],
        key_field=os.environ.get("IDEMPOTENCY_KEY") or None,
        ttl_seconds=int(os.environ.get("IDEMPOTENCY_TTL_SECONDS", "3600")),
        namespace=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "welcome-email"),
    )
    failures = []
    for record in event["Records"]:
        try:
            store.run_once(json.loads(record["body"]), send_welcome_email)
        except Exception:
            logger.exception("message %s failed; SQS will redeliver it", record["messageId"])
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def send_welcome_email(payload: dict[str, Any]) -> None:
    logger.info(json.dumps({"action": "welcome-email", "userId": payload["userId"]}))


class AlreadyInProgress(Exception):
    """Another invocation holds this message; fail it so SQS retries after visibility."""


class IdempotencyStore:
    def __init__(self, table: str, key_field: str | None, ttl_seconds: int, namespace: str):
        self.table = table
        self.key_field = key_field
        self.ttl_seconds = ttl_seconds
        self.namespace = namespace
        self.dynamodb = boto3.client("dynamodb")

    def record_id(self, payload: dict[str, Any]) -> str:
        # `idempotency.key` is a JMESPath expression, evaluated as eventinfra validates it.
        identity = jmespath.search(self.key_field, payload) if self.key_field else payload
        if identity is None:
            raise KeyError(f"the payload has no value at the idempotency key {self.key_field!r}")
        digest = hashlib.md5(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        return f"{self.namespace}#{digest}"

    def run_once(self, payload: dict[str, Any], action: Any) -> bool:
        """Run `action(payload)` unless a record says it already ran; True if it ran now."""
        record_id = self.record_id(payload)
        now = int(time.time())
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": record_id},
                    "status": {"S": "INPROGRESS"},
                    "expiration": {"N": str(now + self.ttl_seconds)},
                    "in_progress_expiration": {"N": str(now + IN_PROGRESS_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(id) OR expiration < :now OR "
                "(#status = :in_progress AND in_progress_expiration < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":in_progress": {"S": "INPROGRESS"},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            existing = self.dynamodb.get_item(TableName=self.table, Key={"id": {"S": record_id}})
            if existing.get("Item", {}).get("status", {}).get("S") == "COMPLETED":
                return False
            raise AlreadyInProgress(record_id) from None
        try:
            action(payload)
        except Exception:
            self.dynamodb.delete_item(TableName=self.table, Key={"id": {"S": record_id}})
            raise
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"id": {"S": record_id}},
            UpdateExpression="SET #status = :completed",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":completed": {"S": "COMPLETED"}},
        )
        return True
