"""The container consumer without an idempotency store: no broker or Redis needed here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import events_json, write_credentials
from prometheus_client import REGISTRY

from eventinfra_runtime import contract, envelope, tracing
from eventinfra_runtime.rabbitmq.consumer import RabbitMQConsumer


class RecordingChannel:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bool | None]] = []

    def basic_ack(self, delivery_tag: int) -> None:
        self.calls.append(("ack", delivery_tag, None))

    def basic_reject(self, delivery_tag: int, requeue: bool) -> None:
        self.calls.append(("reject", delivery_tag, requeue))


def without_redis(tmp_path: Path) -> contract.RuntimeConfig:
    """What the component injects for a consumer with idempotency off: no EVENTINFRA_REDIS_*."""
    return contract.load(
        "container-consumer",
        {
            contract.BROKER: "rabbitmq",
            contract.SERVICE: "mailer",
            contract.EVENTS: events_json({"user.signup": None}),
            contract.SCHEMAS: '{"user.signup": {"type": "object"}}',
            contract.RABBITMQ_HOST: "127.0.0.1",
            contract.RABBITMQ_PORT: "5672",
            contract.RABBITMQ_VHOST: "dev",
            contract.RABBITMQ_TLS: "false",
            contract.RABBITMQ_CREDENTIALS_DIR: str(write_credentials(tmp_path, "u", "p")),
            contract.RABBITMQ_QUEUE: "mailer",
            contract.HEALTH_PORT: "0",
        },
    )


def received(event_id: str) -> envelope.ReceivedEvent:
    return envelope.ReceivedEvent(
        event_id=event_id,
        event_type="user.signup",
        schema_version="1",
        payload={"userId": "u-1"},
        attempt=1,
        trace=tracing.for_publish(),
        message_id=event_id,
    )


def test_without_redis_every_delivery_runs_the_handler_and_is_acked(tmp_path: Path) -> None:
    handled: list[str] = []
    consumer = RabbitMQConsumer(lambda e: handled.append(e.event_id), without_redis(tmp_path))
    assert consumer.store is None
    channel = RecordingChannel()
    consumer._process(channel, 1, received("e-1"), {}, "e-1")
    consumer._process(channel, 2, received("e-1"), {}, "e-1")  # a redelivery: at-least-once
    assert handled == ["e-1", "e-1"]
    assert channel.calls == [("ack", 1, None), ("ack", 2, None)]


def test_without_redis_a_failure_requeues_and_effects_dead_letter(tmp_path: Path) -> None:
    def failing(_: envelope.ReceivedEvent) -> Any:
        raise ConnectionError("the mail service is down")

    channel = RecordingChannel()
    RabbitMQConsumer(failing, without_redis(tmp_path))._process(channel, 1, received("e"), {}, "e")
    effects = RabbitMQConsumer(lambda _: lambda pipe: None, without_redis(tmp_path))
    effects._process(channel, 2, received("e"), {}, "e")
    assert channel.calls == [("reject", 1, True), ("reject", 2, False)]


def test_without_redis_the_start_warns_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    consumer = RabbitMQConsumer(lambda _: None, without_redis(tmp_path))
    consumer.stop()  # run() then starts, warns and stops without connecting
    consumer.run(install_signal_handlers=False)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    warnings = [line for line in lines if line["level"] == "WARNING"]
    assert len(warnings) == 1 and "idempotency is off" in warnings[0]["message"]


def test_each_delivery_outcome_is_counted_by_the_names_the_kafka_consumer_uses(
    tmp_path: Path,
) -> None:
    def count(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_total", {"service": "mailer", **labels}) or 0.0

    def failing(_: envelope.ReceivedEvent) -> Any:
        raise ConnectionError("the mail service is down")

    fields = {"event_type": "user.signup"}
    outcomes = ("processed", "failed")
    before = [
        count("eventinfra_consumed_events", event_type="user.signup", outcome=o) for o in outcomes
    ]
    poison_before = count(
        "eventinfra_dead_lettered_events", event_type="user.signup", reason="poison"
    )
    channel = RecordingChannel()
    RabbitMQConsumer(lambda _: None, without_redis(tmp_path))._process(
        channel, 1, received("e"), fields, "e"
    )
    RabbitMQConsumer(failing, without_redis(tmp_path))._process(
        channel, 2, received("e"), fields, "e"
    )
    RabbitMQConsumer(lambda _: lambda pipe: None, without_redis(tmp_path))._process(
        channel, 3, received("e"), fields, "e"
    )
    after = [
        count("eventinfra_consumed_events", event_type="user.signup", outcome=o) for o in outcomes
    ]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 2]
    assert (
        count("eventinfra_dead_lettered_events", event_type="user.signup", reason="poison")
        == poison_before + 1
    )
