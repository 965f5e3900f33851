"""Every rule of the rabbitmq backend, as functions over plain values."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from eventinfra.contract import Finding
from eventinfra.rabbitmq import naming


def filter_problems(filter_policy: Mapping[str, Any] | None) -> list[Finding]:
    """Topic exchanges route on the routing key (the event name) only."""
    if filter_policy is None:
        return []
    return [
        Finding(
            (),
            "is not supported on the 'rabbitmq' broker, whose topic exchanges route on the event "
            "name only; expected no filter (filter in the consumer, or publish a separate "
            f"event), found {dict(filter_policy)!r}.",
        )
    ]


def reserved_name_problems(
    events: Collection[str], producers: Collection[str], consumers: Collection[str]
) -> list[Finding]:
    """Names that clash with the exchanges and the user eventinfra creates itself
    (keys relative to the topology: `events.<name>`, `producers.<name>`, `consumers.<name>`)."""
    findings = []
    for consumer in consumers:
        dead_letter = naming.dead_letter_exchange(consumer)
        if dead_letter in events:
            findings.append(
                Finding(
                    ("events", dead_letter),
                    f"has the name of consumer {consumer!r}'s dead-letter exchange on the "
                    f"'rabbitmq' broker; expected another event name, found {dead_letter!r}.",
                )
            )
    for event in events:
        unroutable = naming.unroutable_exchange(event)
        if unroutable in events:
            findings.append(
                Finding(
                    ("events", unroutable),
                    f"has the name of event {event!r}'s unroutable-message exchange on the "
                    f"'rabbitmq' broker; expected another event name, found {unroutable!r}.",
                )
            )
    for kind, names in (("producers", producers), ("consumers", consumers)):
        if naming.SCALER_USERNAME in names:
            findings.append(
                Finding(
                    (kind, naming.SCALER_USERNAME),
                    "is the RabbitMQ user eventinfra creates for KEDA on the 'rabbitmq' broker; "
                    f"expected another name, found {naming.SCALER_USERNAME!r}.",
                )
            )
    return findings
