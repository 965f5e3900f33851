"""Publishing to SNS: message attributes, FIFO group and deduplication ids."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from eventinfra_runtime.contract import EventSettings
from eventinfra_runtime.errors import PublishError

__all__ = ["SnsTransport", "filter_attributes"]


def filter_attributes(event: EventSettings, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload fields subscriptions filter on (`event.attributes`), as SNS message attributes.

    SNS compares an attribute-scope filter policy only with message attributes: a string value
    matches as `String`, a number as `Number` (numeric matching: exact numbers and `numeric`
    ranges, -10^9 to 10^9 with five decimals), a list as `String.Array` (it matches when one
    element does). A boolean goes as a one-element `String.Array` (`[true]`), the type whose
    values may be the keywords a filter writes as `true`/`false`. A field that is missing, null,
    an empty string or list, or an object is not set: SNS refuses empty attribute values, and a
    filter names flat values only.
    """
    attributes: dict[str, Any] = {}
    for field in event.attributes:
        value = payload.get(field)
        if isinstance(value, bool):
            attributes[field] = {"DataType": "String.Array", "StringValue": json.dumps([value])}
        elif isinstance(value, int | float):
            attributes[field] = {"DataType": "Number", "StringValue": _number(value)}
        elif isinstance(value, str) and value:
            attributes[field] = {"DataType": "String", "StringValue": value}
        elif isinstance(value, list) and value:
            attributes[field] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
    return attributes


def _number(value: int | float) -> str:
    """Plain digits: `1e-07` is no number to SNS's attribute parser."""
    return str(value) if isinstance(value, int) else format(Decimal(repr(value)), "f")


class SnsTransport:
    """SNS Publish is synchronous: a returned MessageId is the broker's confirmation."""

    def __init__(self, client: Any = None) -> None:
        self.client = client if client is not None else boto3.client("sns")

    def send(
        self,
        event: EventSettings,
        body: bytes,
        headers: Mapping[str, str],
        group_id: str | None,
        deduplication_id: str | None,
    ) -> None:
        request: dict[str, Any] = {
            "TopicArn": event.destination,
            "Message": body.decode(),
            "MessageAttributes": {
                # The runtime's own attributes win over a payload field of the same name.
                **(filter_attributes(event, json.loads(body)) if event.attributes else {}),
                **{
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in headers.items()
                },
            },
        }
        if group_id is not None:
            request["MessageGroupId"] = group_id
        if deduplication_id is not None:
            request["MessageDeduplicationId"] = deduplication_id
        try:
            self.client.publish(**request)
        except (BotoCoreError, ClientError) as error:
            raise PublishError(
                f"SNS did not accept event {event.event_type!r} on {event.destination!r}: {error}"
            ) from error

    def close(self) -> None:
        """Nothing to release: boto3 clients hold no broker session."""
