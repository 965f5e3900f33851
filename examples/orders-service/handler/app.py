"""Confirms each placed order once, however often SQS delivers the event."""

from __future__ import annotations

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

# Set by EventConsumer; records follow the Powertools layout (key `id`, TTL `expiration`).
table = boto3.resource("dynamodb").Table(os.environ["EVENTINFRA_IDEMPOTENCY_TABLE"])
KEY_FIELD = os.environ.get("EVENTINFRA_IDEMPOTENCY_KEY", "orderId")
TTL_SECONDS = int(os.environ.get("EVENTINFRA_IDEMPOTENCY_TTL_SECONDS", "3600"))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process an SQS batch; report only the failed messages so the rest are not retried."""
    failures = []
    for record in event["Records"]:
        try:
            process(json.loads(record["body"]))
        except Exception:
            logger.exception("message %s failed; SQS will redeliver it", record["messageId"])
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def process(order: dict[str, Any]) -> None:
    # `idempotency.key` is a JMESPath expression, evaluated as eventinfra validates it.
    identity = jmespath.search(KEY_FIELD, order)
    if identity is None:
        raise KeyError(f"the order has no value at the idempotency key {KEY_FIELD!r}")
    order_id = str(identity)
    try:
        table.put_item(
            Item={"id": order_id, "expiration": int(time.time()) + TTL_SECONDS},
            ConditionExpression="attribute_not_exists(id)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            logger.info("order %s was already confirmed", order_id)
            return
        raise
    try:
        confirm(order)
    except Exception:
        table.delete_item(Key={"id": order_id})  # so the redelivery does the work
        raise


def confirm(order: dict[str, Any]) -> None:
    logger.info(json.dumps({"action": "confirm-order", "orderId": order["orderId"]}))
