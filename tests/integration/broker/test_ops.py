"""`eventinfra dlq` and `eventinfra replay` against a real RabbitMQ (quorum queues, confirms).

The topology is the one rabbitmq/ builds, by the names in rabbitmq/naming.py: a topic exchange
per event, a quorum queue per consumer bound to it, a `<consumer>.dead-letter` quorum DLQ and an
`<event>.parking` queue. Not shown here: reading the credentials Secret from Kubernetes (no
cluster on this machine; the commands take a URL or a mounted Secret folder instead) and TLS.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from eventinfra.check.cli import main
from eventinfra.ops.model import InHand
from eventinfra.ops.moves import Audit, StopRequest, move
from eventinfra.ops.outputs import parse_outputs
from eventinfra.ops.rabbitmq import RabbitMQBackend, connection_parameters
from eventinfra.rabbitmq import naming
from tests.support import REPOSITORY
from tests.support.rabbitmq_broker import LocalRabbitMQ

EVENT = "user.signup"
PARKED_EVENT = "invoice.paid"
CONSUMERS = ("mailer", "analytics")
NEW_CONSUMER = "billing"
MESSAGES = 6


class Topology:
    def __init__(self, broker: LocalRabbitMQ, vhost: str, tmp_path: Path) -> None:
        self.broker, self.vhost = broker, vhost
        v, q = broker.q(vhost), broker.q
        for exchange in (EVENT, PARKED_EVENT):
            broker.http(
                "PUT",
                f"/api/exchanges/{v}/{q(exchange)}",
                {"type": "topic", "durable": True},
                expect=(201, 204),
            )
        queues = [
            *CONSUMERS,
            *(naming.dead_letter_queue(c) for c in CONSUMERS),
            NEW_CONSUMER,
            naming.dead_letter_queue(NEW_CONSUMER),
            naming.parking_queue(PARKED_EVENT),
        ]
        for queue in queues:
            broker.http(
                "PUT",
                f"/api/queues/{v}/{q(queue)}",
                {"durable": True, "arguments": {"x-queue-type": "quorum"}},
                expect=(201, 204),
            )
        for consumer in CONSUMERS:  # both consume user.signup: a copy via the exchange hits both
            broker.http(
                "POST",
                f"/api/bindings/{v}/e/{q(EVENT)}/q/{q(consumer)}",
                {"routing_key": EVENT},
                expect=201,
            )
        broker.http(
            "POST",
            f"/api/bindings/{v}/e/{q(PARKED_EVENT)}/q/{q(NEW_CONSUMER)}",
            {"routing_key": PARKED_EVENT},
            expect=201,
        )
        consumers = (*CONSUMERS, NEW_CONSUMER)
        self.outputs = tmp_path / "outputs.json"
        self.outputs.write_text(
            json.dumps(
                {  # the shape __main__.py exports for a rabbitmq stack
                    "namespace": "events",
                    "vhost": vhost,
                    "rabbitmq_cluster": "events-rabbitmq",
                    "exchanges": {EVENT: EVENT, PARKED_EVENT: PARKED_EVENT},
                    "queues": {c: naming.consumer_queue(c) for c in consumers},
                    "dead_letter_queues": {c: naming.dead_letter_queue(c) for c in consumers},
                    "credential_secrets": {c: f"k8s-{c}-rabbitmq" for c in consumers},
                }
            )
        )

    @property
    def url(self) -> str:
        user = urllib.parse.quote(self.broker.admin_user, safe="")
        password = urllib.parse.quote(self.broker.admin_password, safe="")
        return f"amqp://{user}:{password}@127.0.0.1:{self.broker.amqp_port}"

    def channel(self) -> Any:
        connection = pika.BlockingConnection(self.broker.amqp_params(vhost=self.vhost))
        return connection.channel()

    def fill(self, queue: str, count: int, event_type: str = EVENT) -> list[str]:
        channel = self.channel()
        channel.confirm_delivery()
        ids = [f"{event_type}-{i}" for i in range(count)]
        for event_id in ids:
            channel.basic_publish(
                "",
                queue,
                json.dumps({"userId": event_id}).encode(),
                pika.BasicProperties(
                    content_type="application/json",
                    delivery_mode=2,
                    message_id=event_id,
                    type=event_type,
                    timestamp=int(time.time()) - 120,
                    headers={
                        "event-id": event_id,
                        "event-type": event_type,
                        "schema-version": "1",
                        "x-first-death-reason": "delivery_limit",
                    },
                ),
                mandatory=True,
            )
        channel.connection.close()
        return ids

    def depth(self, queue: str) -> int:
        channel = self.channel()
        try:
            return int(channel.queue_declare(queue, passive=True).method.message_count)
        finally:
            channel.connection.close()

    def drain(self, queue: str) -> list[tuple[str, dict[str, Any]]]:
        """Every message (event id, headers), acknowledged."""
        channel = self.channel()
        found = []
        while True:
            method, properties, _ = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            found.append((properties.message_id, dict(properties.headers or {})))
            channel.basic_ack(method.delivery_tag)
        channel.connection.close()
        return found

    def backend(self) -> RabbitMQBackend:
        outputs = parse_outputs(json.loads(self.outputs.read_text()), "test")
        return RabbitMQBackend(outputs, connection_parameters(outputs, url=self.url))


@pytest.fixture
def topology(rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str, tmp_path: Path) -> Topology:
    return Topology(rabbitmq, rabbitmq_vhost, tmp_path)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("EVENTINFRA_RABBITMQ_URL", raising=False)
    yield


def run(
    capsys: pytest.CaptureFixture[str], topology: Topology, *arguments: str
) -> tuple[int, str, str]:
    code = main([*arguments, "--outputs", str(topology.outputs), "--rabbitmq-url", topology.url])
    out, err = capsys.readouterr()
    return code, out, err


def ids(messages: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return sorted(event_id for event_id, _ in messages)


def test_list_and_peek_read_without_consuming(
    topology: Topology, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = topology.fill("mailer.dead-letter", MESSAGES)

    code, out, _ = run(capsys, topology, "dlq", "list", "--format", "json")
    assert code == 0
    listed = {q["consumer"]: q for q in json.loads(out)["deadLetterQueues"]}
    assert listed["mailer"]["messages"] == MESSAGES
    assert listed["mailer"]["ageSource"] == "head"
    assert 110 < listed["mailer"]["oldestAgeSeconds"] < 600
    assert listed["analytics"]["messages"] == 0

    code, out, _ = run(capsys, topology, "dlq", "peek", "mailer", "--max", "4", "--format", "json")
    assert code == 0
    shown = json.loads(out)["messages"]
    # A returned message may go to the back (3.10 quorum queues do): the order can change.
    assert len({m["eventId"] for m in shown}) == 4
    assert {m["eventId"] for m in shown} <= set(sent)
    assert {m["reason"] for m in shown} == {"delivery_limit"}
    assert {m["eventType"] for m in shown} == {EVENT}
    assert topology.depth("mailer.dead-letter") == MESSAGES  # all returned


def test_redrive_reaches_only_the_named_consumers_queue(
    topology: Topology, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sent = topology.fill("mailer.dead-letter", MESSAGES)
    audit = tmp_path / "audit.jsonl"

    code, out, err = run(
        capsys, topology, "dlq", "redrive", "mailer", "--audit", str(audit), "--format", "json"
    )

    assert code == 0, err
    result = json.loads(out)
    assert (result["moved"], result["method"]) == (MESSAGES, "get-publish-confirm-ack")
    assert topology.depth("mailer.dead-letter") == 0
    redriven = topology.drain("mailer")
    assert ids(redriven) == sorted(sent)
    # The consumer's queue counts deliveries afresh (3.10 shows 0 on a first delivery).
    assert {(h["event-type"], h.get("x-delivery-count", 0)) for _, h in redriven} == {(EVENT, 0)}
    # analytics is bound to the same exchange: a copy sent through it would have reached it.
    assert topology.depth("analytics") == 0
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [line["eventId"] for line in lines] == sent
    assert {(line["from"], line["toQueue"]) for line in lines} == {("mailer DLQ", "mailer")}


def test_redrive_max_rate_dry_run_and_purge(
    topology: Topology, capsys: pytest.CaptureFixture[str]
) -> None:
    topology.fill("mailer.dead-letter", MESSAGES)

    code, out, _ = run(capsys, topology, "dlq", "redrive", "mailer", "--dry-run")
    assert code == 0
    assert out.startswith(f"Would move {MESSAGES} message(s) from mailer DLQ to mailer")
    assert (topology.depth("mailer.dead-letter"), topology.depth("mailer")) == (MESSAGES, 0)

    started = time.monotonic()
    code, _, _ = run(capsys, topology, "dlq", "redrive", "mailer", "--max", "2", "--rate", "5")
    assert code == 0
    assert time.monotonic() - started >= 0.2
    assert (topology.depth("mailer.dead-letter"), topology.depth("mailer")) == (MESSAGES - 2, 2)

    code, out, _ = run(capsys, topology, "dlq", "purge", "mailer", "--yes")
    assert code == 0
    assert out.strip() == f"Purged {MESSAGES - 2} message(s) from mailer DLQ."
    assert (topology.depth("mailer.dead-letter"), topology.depth("mailer")) == (0, 2)


def test_replay_moves_parked_events_to_the_new_consumer_only(
    topology: Topology, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = topology.fill("invoice.paid.parking", 4, event_type=PARKED_EVENT)

    code, out, err = run(capsys, topology, "replay", PARKED_EVENT, "--to", NEW_CONSUMER)

    assert code == 0, err
    assert "Moved 4 message(s) from invoice.paid parking to billing" in out
    assert topology.depth("invoice.paid.parking") == 0
    assert ids(topology.drain(NEW_CONSUMER)) == sorted(sent)
    assert [topology.depth(q) for q in CONSUMERS] == [0, 0]


class SimulatedCrash(BaseException):
    """Not an Exception: nothing in the move may catch and tidy up after it."""


def test_a_crash_between_publish_and_ack_leaves_a_duplicate_never_a_loss(
    topology: Topology, tmp_path: Path
) -> None:
    sent = topology.fill("mailer.dead-letter", MESSAGES)
    backend = topology.backend()
    published: list[InHand] = []

    def crash_on_third(message: InHand) -> None:
        published.append(message)
        if len(published) == 3:
            raise SimulatedCrash

    with pytest.raises(SimulatedCrash), (tmp_path / "audit").open("w") as audit:
        move(
            backend, backend.dead_letter_queue("mailer"), backend.consumer_queue("mailer"),
            action="redrive", max_messages=None, rate=None, dry_run=False, audit=Audit(audit),
            stop=StopRequest(), method="test", after_send=crash_on_third,
        )  # fmt: skip
    backend.close()  # the process is gone: the broker returns what it held

    in_queue, left = topology.drain("mailer"), topology.drain("mailer.dead-letter")
    assert (len(in_queue), len(left)) == (3, MESSAGES - 2)
    assert set(ids(in_queue)) | set(ids(left)) == set(sent)
    assert set(ids(in_queue)) & set(ids(left)) == {published[2].event_id}


def test_messages_survive_a_broker_restart_in_the_middle_of_a_redrive(
    topology: Topology,
    rabbitmq: LocalRabbitMQ,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sent = topology.fill("mailer.dead-letter", MESSAGES)
    backend = topology.backend()
    published: list[InHand] = []

    def restart_on_third(message: InHand) -> None:
        published.append(message)
        if len(published) == 3:
            rabbitmq.restart()  # graceful stop and start on the same data

    audit = Audit(open(os.devnull, "w"))  # noqa: SIM115
    result = move(
        backend, backend.dead_letter_queue("mailer"), backend.consumer_queue("mailer"),
        action="redrive", max_messages=None, rate=None, dry_run=False, audit=audit,
        stop=StopRequest(), method="test", after_send=restart_on_third,
    )  # fmt: skip
    audit.stream.close()
    backend.close()

    assert result.moved == 2
    assert result.stopped is not None and "connection" in result.stopped
    assert topology.depth("mailer") == 3  # the third copy was confirmed before the restart
    assert topology.depth("mailer.dead-letter") == MESSAGES - 2  # its original was not acked

    code, out, err = run(capsys, topology, "dlq", "redrive", "mailer", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["moved"] == MESSAGES - 2
    redriven = topology.drain("mailer")
    assert len(redriven) == MESSAGES + 1  # one duplicate, which idempotent consumers absorb
    assert set(ids(redriven)) == set(sent)


def test_ctrl_c_in_a_real_process_stops_cleanly_after_the_message_in_flight(
    topology: Topology, tmp_path: Path
) -> None:
    count = 20
    sent = topology.fill("mailer.dead-letter", count)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPOSITORY / "components"), os.environ.get("PYTHONPATH", "")]
        ),
        "EVENTINFRA_RABBITMQ_URL": topology.url,
    }
    audit = tmp_path / "audit.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "eventinfra", "dlq", "redrive", "mailer", "--rate", "5",
         "--outputs", str(topology.outputs), "--format", "json", "--audit", str(audit)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (audit.exists() and audit.read_text().count("\n") >= 2):  # moving, 5 per second
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 1, err
    result = json.loads(out)
    assert result["stopped"] == "interrupted (Ctrl-C)"
    assert 2 <= result["moved"] < count
    assert "Traceback" not in err
    assert len(audit.read_text().splitlines()) == result["moved"]
    in_queue, left = topology.drain("mailer"), topology.drain("mailer.dead-letter")
    assert len(in_queue) == result["moved"]
    assert sorted(ids(in_queue) + ids(left)) == sorted(sent)  # exactly once each
