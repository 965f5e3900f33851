"""The topology the program records, applied to a real RabbitMQ, keeps every message it confirms.

The Vhost, Exchange, Queue, Binding, Policy, User and Permission objects come from the recorded
graph of `stacks/Pulumi.k8s.yaml` (never written again here) and are applied through the HTTP API
the way the Messaging Topology Operator applies them; the passwords are the recorded
`RandomPassword` results. Then the generated users publish and consume over AMQP.

Version notes (see tests/integration/broker/test_harness.py): a quorum queue delivers a message
`delivery-limit + 1` times, and its `limit + 1`-th return dead-letters it (3.10 and 4.x alike for
`basic.reject` with requeue, which is what a failing consumer sends here). On 3.x every return
counts (nack, a consumer that goes away); from 4.3 only `basic.reject` does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pika
import pika.exceptions
import pytest
import requests

from eventinfra.check.synth import Synthesis, synthesize
from eventinfra.graph import RecordedResource
from tests.support import REPOSITORY
from tests.support.rabbitmq_broker import LocalRabbitMQ

TOPOLOGY = "kubernetes:rabbitmq.com/v1beta1:"


@pytest.fixture(scope="module")
def graph() -> Synthesis:
    return synthesize(REPOSITORY, "k8s")


class AppliedTopology:
    """The recorded topology objects, and the credentials their Secrets and passwords hold."""

    def __init__(self, graph: Synthesis) -> None:
        self.objects: dict[str, list[dict[str, Any]]] = {}
        for resource in graph.resources:
            if resource.type.startswith(TOPOLOGY):
                kind = resource.type.removeprefix(TOPOLOGY)
                self.objects.setdefault(kind, []).append(resource.inputs)
        (vhost,) = self.objects["Vhost"]
        self.vhost: str = vhost["spec"]["name"]
        secrets = {
            r.inputs["metadata"]["name"]: r for r in graph.by_type("kubernetes:core/v1:Secret")
        }
        self.passwords: dict[str, str] = {}
        self.usernames: dict[str, str] = {}  # User object name -> RabbitMQ user name
        self.tags: dict[str, list[str]] = {}
        for user in self.objects["User"]:
            secret = secrets[user["spec"]["importCredentialsSecret"]["name"]]
            username = secret.inputs["stringData"]["username"]
            self.usernames[user["metadata"]["name"]] = username
            self.passwords[username] = _recorded_password(graph, secret)
            self.tags[username] = list(user["spec"].get("tags", []))

    def apply(self, broker: LocalRabbitMQ) -> None:
        """PUT/POST each object as the Topology Operator's controllers do."""
        q = broker.q
        vhost = q(self.vhost)
        broker.http("DELETE", f"/api/vhosts/{vhost}", expect=(204, 404))
        for item in self.objects["Vhost"]:
            broker.http(
                "PUT",
                f"/api/vhosts/{q(item['spec']['name'])}",
                {"tracing": item["spec"].get("tracing", False)},
                expect=(201, 204),
            )
        broker.http(
            "PUT",
            f"/api/permissions/{vhost}/{q(broker.admin_user)}",
            {"configure": ".*", "write": ".*", "read": ".*"},
            expect=(201, 204),
        )
        for item in self.objects["Exchange"]:
            spec = item["spec"]
            broker.http(
                "PUT",
                f"/api/exchanges/{q(spec['vhost'])}/{q(spec['name'])}",
                {
                    "type": spec["type"],
                    "durable": spec["durable"],
                    "auto_delete": spec["autoDelete"],
                    "arguments": spec.get("arguments", {}),
                },
                expect=(201, 204),
            )
        for item in self.objects["Queue"]:
            spec = item["spec"]
            arguments = dict(spec.get("arguments", {}))
            if spec.get("type"):
                arguments["x-queue-type"] = spec["type"]  # as the operator maps `type`
            broker.http(
                "PUT",
                f"/api/queues/{q(spec['vhost'])}/{q(spec['name'])}",
                {
                    "durable": spec["durable"],
                    "auto_delete": spec["autoDelete"],
                    "arguments": arguments,
                },
                expect=(201, 204),
            )
        for item in self.objects["Binding"]:
            spec = item["spec"]
            assert spec["destinationType"] == "queue"
            broker.http(
                "POST",
                f"/api/bindings/{q(spec['vhost'])}/e/{q(spec['source'])}/q/{q(spec['destination'])}",
                {"routing_key": spec["routingKey"], "arguments": spec.get("arguments", {})},
                expect=201,
            )
        for item in self.objects["Policy"]:
            spec = item["spec"]
            broker.http(
                "PUT",
                f"/api/policies/{q(spec['vhost'])}/{q(spec['name'])}",
                {
                    "pattern": spec["pattern"],
                    "definition": spec["definition"],
                    "priority": spec.get("priority", 0),
                    "apply-to": spec["applyTo"],
                },
                expect=(201, 204),
            )
        for username, password in self.passwords.items():
            broker.http(
                "PUT",
                f"/api/users/{q(username)}",
                {"password": password, "tags": ",".join(self.tags[username])},
                expect=(201, 204),
            )
        for item in self.objects["Permission"]:
            spec = item["spec"]
            username = self.usernames[spec["userReference"]["name"]]
            broker.http(
                "PUT",
                f"/api/permissions/{q(spec['vhost'])}/{q(username)}",
                dict(spec["permissions"]),
                expect=(201, 204),
            )
        # Policies apply asynchronously: wait until every queue's policy is in effect.
        policies = {p["spec"]["name"] for p in self.objects["Policy"]}
        for item in self.objects["Queue"]:
            name = item["spec"]["name"]
            if name in policies:

                def policy_in_effect(name: str = name) -> bool:
                    applied: str | None = (
                        broker.http("GET", f"/api/queues/{vhost}/{q(name)}").json().get("policy")
                    )
                    return applied == name

                wait_for(policy_in_effect, what=f"policy {name} on its queue")

    def remove(self, broker: LocalRabbitMQ) -> None:
        """Delete the vhost and the users: users are node-wide and outlive their vhost."""
        if not broker.running:  # a restart failed: no API to clean up through
            return
        broker.http("DELETE", f"/api/vhosts/{broker.q(self.vhost)}", expect=(204, 404))
        for username in self.passwords:
            broker.http("DELETE", f"/api/users/{broker.q(username)}", expect=(204, 404))


def _recorded_password(graph: Synthesis, secret: RecordedResource) -> str:
    """The RandomPassword result recorded beside the Secret (same parent component)."""
    (generated,) = [
        r
        for r in graph.by_type("random:index/randomPassword:RandomPassword")
        if r.parent == secret.parent
    ]
    password: str = generated.outputs["result"]
    assert secret.inputs["stringData"]["password"] == password
    return password


@pytest.fixture
def topology(rabbitmq: LocalRabbitMQ, graph: Synthesis) -> Iterator[AppliedTopology]:
    applied = AppliedTopology(graph)
    applied.apply(rabbitmq)
    yield applied
    applied.remove(rabbitmq)


# --- helpers -----------------------------------------------------------------------------------


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def channel_as(broker: LocalRabbitMQ, topology: AppliedTopology, user: str | None) -> Iterator[Any]:
    password = topology.passwords[user] if user is not None else None
    connection = pika.BlockingConnection(broker.amqp_params(user, password, topology.vhost))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        yield channel
    finally:
        if connection.is_open:
            connection.close()


def publish(channel: Any, event: str, body: bytes, routing_key: str | None = None) -> None:
    """As a producer must: confirmed, mandatory, persistent, routing key = the event name."""
    channel.basic_publish(
        event,
        event if routing_key is None else routing_key,
        body,
        pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent),
        mandatory=True,
    )


def get(channel: Any, queue: str, timeout: float = 1.5) -> tuple[Any, Any, Any]:
    """basic.get, polling up to `timeout` (quorum-queue deliveries are asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is not None or time.monotonic() > deadline:
            return method, properties, body
        time.sleep(0.05)


def drain(channel: Any, queue: str, timeout: float = 1.5) -> list[bytes]:
    bodies: list[bytes] = []
    while True:
        method, _, body = get(channel, queue, timeout)
        if method is None:
            return bodies
        channel.basic_ack(method.delivery_tag)
        bodies.append(body)


def refused(action: Callable[[], Any]) -> int:
    """The AMQP reply code of the channel error `action` causes."""
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as raised:
        action()
    return int(raised.value.reply_code)


# --- routing -----------------------------------------------------------------------------------


def test_a_confirmed_publish_reaches_exactly_the_subscribed_consumers_queues(
    rabbitmq: LocalRabbitMQ,
    topology: AppliedTopology,
) -> None:
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        publish(channel, "user.signup", b'{"userId": "u-1"}')
    with channel_as(rabbitmq, topology, "checkout-api") as channel:
        publish(channel, "order.placed", b'{"orderId": "o-1"}')

    received = {}
    for consumer in ("mailer", "analytics", "fulfilment"):
        with channel_as(rabbitmq, topology, consumer) as channel:
            received[consumer] = sorted(drain(channel, consumer))
    assert received == {
        "mailer": [b'{"userId": "u-1"}'],
        "analytics": [b'{"orderId": "o-1"}', b'{"userId": "u-1"}'],
        "fulfilment": [b'{"orderId": "o-1"}'],
    }
    with channel_as(rabbitmq, topology, None) as admin:
        for event in ("user.signup", "order.placed", "invoice.paid"):
            assert drain(admin, f"{event}.parking", timeout=0.5) == []


def test_an_unroutable_event_is_parked_not_lost(
    rabbitmq: LocalRabbitMQ,
    topology: AppliedTopology,
) -> None:
    # invoice.paid has no consumer; a confirm with mandatory still succeeds (no basic.return),
    # because the alternate exchange routed it to the parking queue.
    with channel_as(rabbitmq, topology, "billing") as channel:
        publish(channel, "invoice.paid", b'{"invoiceId": "i-1"}')
    # A routing key no consumer is bound to is parked as well.
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        publish(channel, "user.signup", b"v2", routing_key="user.signup.v2")
    with channel_as(rabbitmq, topology, None) as admin:
        assert drain(admin, "invoice.paid.parking") == [b'{"invoiceId": "i-1"}']
        assert drain(admin, "user.signup.parking") == [b"v2"]
    with channel_as(rabbitmq, topology, "mailer") as channel:
        assert drain(channel, "mailer", timeout=0.5) == []


# --- least privilege ---------------------------------------------------------------------------


def test_a_producer_can_publish_only_to_its_own_events_exchange(
    rabbitmq: LocalRabbitMQ,
    topology: AppliedTopology,
) -> None:
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        assert refused(lambda: publish(channel, "order.placed", b"forged")) == 403
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        # The default exchange would reach any queue by name: it is not writable either.
        assert refused(lambda: publish(channel, "", b"forged", routing_key="mailer")) == 403
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        assert refused(lambda: channel.basic_get("mailer")) == 403
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        assert refused(lambda: channel.queue_declare("mine", durable=True)) == 403


def test_a_consumer_can_read_only_its_own_queue(
    rabbitmq: LocalRabbitMQ,
    topology: AppliedTopology,
) -> None:
    with channel_as(rabbitmq, topology, "mailer") as channel:
        assert refused(lambda: channel.basic_get("analytics")) == 403
    with channel_as(rabbitmq, topology, "mailer") as channel:
        assert refused(lambda: channel.basic_get("mailer.dead-letter")) == 403
    with channel_as(rabbitmq, topology, "mailer") as channel:
        assert refused(lambda: publish(channel, "user.signup", b"forged")) == 403
    with channel_as(rabbitmq, topology, "mailer") as channel:
        assert refused(lambda: channel.exchange_declare("mine", "fanout")) == 403
    with channel_as(rabbitmq, topology, "mailer") as channel:
        assert channel.basic_get("mailer") == (None, None, None)


def test_kedas_user_reads_queue_lengths_but_no_message(
    rabbitmq: LocalRabbitMQ,
    topology: AppliedTopology,
) -> None:
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        publish(channel, "user.signup", b"{}")
    keda = "eventinfra-keda"
    url = f"{rabbitmq.management_url}/api/queues/{topology.vhost}/mailer"
    auth = (keda, topology.passwords[keda])
    wait_for(
        lambda: requests.get(url, auth=auth, timeout=10).json().get("messages") == 1,
        what="KEDA's user to see one message in mailer",
    )
    with channel_as(rabbitmq, topology, keda) as channel:
        assert refused(lambda: channel.basic_get("mailer")) == 403


# --- failures ----------------------------------------------------------------------------------


def test_a_message_rejected_delivery_limit_times_lands_in_the_dead_letter_queue(
    rabbitmq: LocalRabbitMQ,
    topology: AppliedTopology,
) -> None:
    (policy,) = [p["spec"] for p in topology.objects["Policy"] if p["spec"]["name"] == "mailer"]
    limit = policy["definition"]["delivery-limit"]
    assert limit == 5
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        publish(channel, "user.signup", b'{"userId": "poison"}')

    deliveries = 0
    with channel_as(rabbitmq, topology, "mailer") as channel:
        while True:
            method, _, body = get(channel, "mailer")
            if method is None:
                break
            assert body == b'{"userId": "poison"}'
            deliveries += 1
            channel.basic_reject(method.delivery_tag, requeue=True)
    assert deliveries == limit + 1  # the (limit + 1)-th return dead-letters it

    with channel_as(rabbitmq, topology, None) as admin:
        method, properties, body = get(admin, "mailer.dead-letter", timeout=10)
        assert body == b'{"userId": "poison"}'
        (death,) = properties.headers["x-death"]
        assert (death["queue"], death["reason"]) == ("mailer", "delivery_limit")
        admin.basic_ack(method.delivery_tag)
    # The other subscriber's copy is untouched.
    with channel_as(rabbitmq, topology, "analytics") as channel:
        assert drain(channel, "analytics") == [b'{"userId": "poison"}']


CONSUMER_THAT_DIES = textwrap.dedent(
    """
    import sys, time, pika
    port, vhost, user, password = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    params = pika.ConnectionParameters("127.0.0.1", int(port), vhost,
                                       pika.PlainCredentials(user, password))
    channel = pika.BlockingConnection(params).channel()
    while True:
        method, _, body = channel.basic_get("mailer", auto_ack=False)
        if method is not None:
            print(body.decode(), flush=True)
            time.sleep(3600)  # killed here, holding the unacknowledged message
        time.sleep(0.05)
    """
)


def test_a_consumer_that_dies_without_acking_loses_nothing(
    rabbitmq: LocalRabbitMQ,
    topology: AppliedTopology,
) -> None:
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        publish(channel, "user.signup", b'{"userId": "u-crash"}')
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CONSUMER_THAT_DIES,
            str(rabbitmq.amqp_port),
            topology.vhost,
            "mailer",
            topology.passwords["mailer"],
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == '{"userId": "u-crash"}'
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    with channel_as(rabbitmq, topology, "mailer") as channel:
        method, _, body = get(channel, "mailer", timeout=15)
        assert body == b'{"userId": "u-crash"}'
        assert method.redelivered is True
        channel.basic_ack(method.delivery_tag)
        assert drain(channel, "mailer", timeout=0.5) == []


def test_a_broker_restart_loses_no_confirmed_message(
    rabbitmq: LocalRabbitMQ,
    topology: AppliedTopology,
) -> None:
    sent = [f'{{"userId": "u-{n}"}}'.encode() for n in range(100)]
    with channel_as(rabbitmq, topology, "accounts-api") as channel:
        for body in sent:
            publish(channel, "user.signup", body)  # returns once the broker confirmed it
    with channel_as(rabbitmq, topology, "billing") as channel:
        publish(channel, "invoice.paid", b"parked")

    rabbitmq.restart()

    for consumer in ("mailer", "analytics"):
        with channel_as(rabbitmq, topology, consumer) as channel:
            assert sorted(drain(channel, consumer, timeout=5)) == sorted(sent)
    with channel_as(rabbitmq, topology, None) as admin:
        assert drain(admin, "invoice.paid.parking", timeout=5) == [b"parked"]
