"""Publishing to SNS: message attributes, FIFO group and deduplication ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from eventinfra_runtime.contract import EventSettings
from eventinfra_runtime.errors import PublishError

__all__ = ["SnsTransport"]


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
                name: {"DataType": "String", "StringValue": value}
                for name, value in headers.items()
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
