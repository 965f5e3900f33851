"""The RabbitMQ test harness works, and the broker semantics eventinfra relies on hold.

Runs against the real broker from ``.ci/install-rabbitmq`` (Debian 12: RabbitMQ 3.10.8, Erlang 25).
Where 3.10 and 4.x differ, the expectation is chosen by ``rabbitmq.version_info``:

* 3.10: no default delivery-limit (unlimited redeliveries); every return counts toward
  ``delivery-limit``: ``basic.nack``/``basic.reject`` with requeue, ``basic.recover`` and closing
  the channel with unacked messages. A message is delivered ``limit + 1`` times; its
  ``limit + 1``-th return dead-letters it (``x-death`` reason ``delivery_limit``).
* 4.0+: default delivery-limit 20 on quorum queues. 4.3+: only failed deliveries count
  (``basic.reject`` requeue=true does, ``basic.nack`` requeue=true does not).
* Policies: 3.10 accepts ``apply-to: queues`` (not ``quorum_queues``).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pika
import pika.exceptions
import pytest

from tests.support.rabbitmq_broker import LOOPBACK, LocalRabbitMQ

DELIVERY_LIMIT = 2


# --------------------------------------------------------------------------- helpers


@contextmanager
def amqp(
    broker: LocalRabbitMQ, vhost: str, user: str | None = None, password: str | None = None
) -> Iterator[pika.adapters.blocking_connection.BlockingConnection]:
    conn = pika.BlockingConnection(broker.amqp_params(user, password, vhost))
    try:
        yield conn
    finally:
        if conn.is_open:
            conn.close()


def declare_topology(broker: LocalRabbitMQ, vhost: str, queue: str = "orders.q") -> None:
    """What the product will generate, declared the same way: HTTP API, policy-driven."""
    v = broker.q(vhost)
    broker.http(
        "PUT", f"/api/exchanges/{v}/orders", {"type": "topic", "durable": True}, expect=(201, 204)
    )
    broker.http(
        "PUT",
        f"/api/exchanges/{v}/orders.dlx",
        {"type": "fanout", "durable": True},
        expect=(201, 204),
    )
    for q in (queue, "orders.dlq"):
        broker.http(
            "PUT",
            f"/api/queues/{v}/{broker.q(q)}",
            {"durable": True, "auto_delete": False, "arguments": {"x-queue-type": "quorum"}},
            expect=(201, 204),
        )
    broker.http(
        "POST",
        f"/api/bindings/{v}/e/orders/q/{broker.q(queue)}",
        {"routing_key": "order.#"},
        expect=201,
    )
    broker.http(
        "POST", f"/api/bindings/{v}/e/orders.dlx/q/orders.dlq", {"routing_key": ""}, expect=201
    )
    broker.http(
        "PUT",
        f"/api/policies/{v}/orders-dlx",
        {
            "pattern": r"^orders\.q$",
            "apply-to": "queues",
            "priority": 10,
            "definition": {
                "dead-letter-exchange": "orders.dlx",
                "delivery-limit": DELIVERY_LIMIT,
                "dead-letter-strategy": "at-least-once",
                "overflow": "reject-publish",
            },
        },
        expect=(201, 204),
    )


_T = TypeVar("_T")


def wait_for(predicate: Callable[[], _T | None], timeout: float = 15.0, what: str = "") -> _T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def get_one(ch: Any, queue: str, timeout: float = 10.0) -> tuple[Any, Any, bytes]:
    """basic.get with polling (quorum queue deliveries and dead-lettering are asynchronous)."""

    def attempt() -> tuple[Any, Any, bytes] | None:
        method, props, body = ch.basic_get(queue, auto_ack=False)
        return (method, props, body) if method is not None else None

    return wait_for(attempt, timeout, f"a message in {queue}")


def poll_get(ch: Any, queue: str, timeout: float = 1.5) -> tuple[Any, Any, Any]:
    """basic.get, polling up to ``timeout``; ``(None, None, None)`` when still empty."""
    deadline = time.monotonic() + timeout
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=False)
        if method is not None or time.monotonic() > deadline:
            return method, props, body
        time.sleep(0.05)


def publish_confirmed(ch: Any, exchange: str, routing_key: str, body: bytes) -> None:
    """Confirmed, mandatory, persistent: raises on nack (NackError) or no route (UnroutableError)."""
    ch.basic_publish(
        exchange,
        routing_key,
        body,
        pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent, content_type="application/json"
        ),
        mandatory=True,
    )


def create_user(
    broker: LocalRabbitMQ,
    vhost: str,
    user: str,
    password: str,
    configure: str,
    write: str,
    read: str,
) -> None:
    broker.http(
        "PUT", f"/api/users/{broker.q(user)}", {"password": password, "tags": ""}, expect=(201, 204)
    )
    broker.http(
        "PUT",
        f"/api/permissions/{broker.q(vhost)}/{broker.q(user)}",
        {"configure": configure, "write": write, "read": read},
        expect=(201, 204),
    )


def delivery_count(props: Any) -> int:
    # 3.10 omits the header on a first consumer delivery (basic.get says 0).
    return int((props.headers or {}).get("x-delivery-count", 0))


# --------------------------------------------------------------------------- the harness


def test_broker_is_private_loopback_and_has_no_guest(rabbitmq: LocalRabbitMQ) -> None:
    overview = rabbitmq.http("GET", "/api/overview", expect=200).json()
    assert overview["node"] == rabbitmq.node_name
    assert overview["rabbitmq_version"] == rabbitmq.version
    cli_version = rabbitmq.rabbitmqctl("version").stdout.strip()
    assert cli_version == rabbitmq.version
    print(
        f"RabbitMQ {rabbitmq.version} node {rabbitmq.node_name} started in "
        f"{rabbitmq.start_seconds:.1f}s; ports {rabbitmq.ports}"
    )
    assert rabbitmq.start_seconds is not None and rabbitmq.start_seconds < 90

    listeners = {(x["protocol"], x["port"]): x for x in overview["listeners"]}
    assert listeners[("amqp", rabbitmq.amqp_port)]["ip_address"] == LOOPBACK
    # 3.10 reports the management listener's ip_address as "::" although the socket is bound
    # to 127.0.0.1 (see socket_opts, and listening_sockets() below).
    assert listeners[("http", rabbitmq.management_port)]["socket_opts"]["ip"] == LOOPBACK
    # Every listening socket of every process we spawned (beam, epmd) is on loopback.
    sockets = rabbitmq.listening_sockets()
    ports = rabbitmq.ports
    assert ports is not None
    assert {p for _, p in sockets} >= {ports.amqp, ports.management, ports.epmd, ports.dist}
    assert all(addr in ("127.0.0.1", "::1") for addr, _ in sockets), sockets

    # guest never exists; the harness admin does, as an administrator. Users are node-wide, so
    # whatever other tests create (and their fixtures remove) is not this test's to assert on.
    assert rabbitmq.http("GET", "/api/users/guest").status_code == 404
    users = {u["name"]: u for u in rabbitmq.http("GET", "/api/users", expect=200).json()}
    assert "guest" not in users
    assert "administrator" in users[rabbitmq.admin_user]["tags"]
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(rabbitmq.amqp_params("guest", "guest", "/"))


# --------------------------------------------------------------------------- topology + publish


def test_quorum_queue_and_policy_declared_over_http(
    rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str
) -> None:
    declare_topology(rabbitmq, rabbitmq_vhost)
    v = rabbitmq.q(rabbitmq_vhost)
    q = rabbitmq.http("GET", f"/api/queues/{v}/orders.q", expect=200).json()
    assert q["type"] == "quorum"
    assert q["durable"] is True
    assert q["arguments"] == {"x-queue-type": "quorum"}  # everything else lives in the policy
    wait_for(
        lambda: rabbitmq.http("GET", f"/api/queues/{v}/orders.q").json().get("policy"),
        what="the policy to apply",
    )
    q = rabbitmq.http("GET", f"/api/queues/{v}/orders.q", expect=200).json()
    assert q["policy"] == "orders-dlx"
    assert q["effective_policy_definition"] == {
        "dead-letter-exchange": "orders.dlx",
        "delivery-limit": DELIVERY_LIMIT,
        "dead-letter-strategy": "at-least-once",
        "overflow": "reject-publish",
    }
    # The DLQ is not matched by the anchored pattern.
    dlq = rabbitmq.http("GET", f"/api/queues/{v}/orders.dlq", expect=200).json()
    assert not dlq.get("policy")


def test_policy_apply_to_values_are_version_specific(
    rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str
) -> None:
    v = rabbitmq.q(rabbitmq_vhost)
    resp = rabbitmq.http(
        "PUT",
        f"/api/policies/{v}/qq-only",
        {"pattern": "^x$", "apply-to": "quorum_queues", "definition": {"delivery-limit": 5}},
    )
    if rabbitmq.version_info < (3, 11):
        assert resp.status_code == 400, resp.text  # 3.10 knows only queues/exchanges/all
    elif rabbitmq.version_info >= (4, 0):
        assert resp.status_code in (201, 204), resp.text


def test_queue_arguments_are_immutable(rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str) -> None:
    declare_topology(rabbitmq, rabbitmq_vhost)
    with amqp(rabbitmq, rabbitmq_vhost) as conn:
        ch = conn.channel()
        # Same arguments: fine (idempotent re-declare).
        ch.queue_declare("orders.q", durable=True, arguments={"x-queue-type": "quorum"})
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as exc:
            ch.queue_declare(
                "orders.q",
                durable=True,
                arguments={"x-queue-type": "quorum", "x-delivery-limit": 5},
            )
        assert exc.value.reply_code == 406
        assert "PRECONDITION_FAILED" in exc.value.reply_text


def test_confirmed_mandatory_publish_then_consume_and_ack(
    rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str
) -> None:
    declare_topology(rabbitmq, rabbitmq_vhost)
    with amqp(rabbitmq, rabbitmq_vhost) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        publish_confirmed(ch, "orders", "order.created", b'{"id": 1}')
        # Without a matching binding, mandatory + confirms surface the loss to the publisher.
        with pytest.raises(pika.exceptions.UnroutableError):
            publish_confirmed(ch, "orders", "invoice.created", b'{"id": 2}')

        received: list[bytes] = []

        def on_message(c: Any, method: Any, props: Any, body: bytes) -> None:
            received.append(body)
            c.basic_ack(method.delivery_tag)
            c.stop_consuming()

        ch.basic_qos(prefetch_count=10)
        ch.basic_consume("orders.q", on_message)
        conn.call_later(15, ch.stop_consuming)
        ch.start_consuming()
        assert received == [b'{"id": 1}']
        # Acked: nothing left, nothing dead-lettered.
        assert ch.queue_declare("orders.q", passive=True).method.message_count == 0
        assert ch.queue_declare("orders.dlq", passive=True).method.message_count == 0


# --------------------------------------------------------------------------- delivery-limit


def _return_by_nack(ch: Any, method: Any) -> None:
    ch.basic_nack(method.delivery_tag, requeue=True)


def _return_by_reject(ch: Any, method: Any) -> None:
    ch.basic_reject(method.delivery_tag, requeue=True)


def _return_by_channel_close(ch: Any, method: Any) -> None:
    ch.close()  # unacked message goes back to the queue


def _return_by_recover(ch: Any, method: Any) -> None:
    ch.basic_recover(requeue=True)


RETURNS = {
    "nack": _return_by_nack,
    "reject": _return_by_reject,
    "channel_close": _return_by_channel_close,
    "recover": _return_by_recover,
}


def _return_counts(version: tuple[int, ...], how: str) -> bool:
    """Does this kind of return increment the quorum queue delivery-count?"""
    if version >= (4, 3):
        return how in ("reject", "channel_close")  # 4.3: only failed deliveries count
    return True  # 3.10 - 4.2: every return counts


@pytest.mark.parametrize("how", sorted(RETURNS))
def test_requeued_more_than_delivery_limit_lands_in_dlq(
    rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str, how: str
) -> None:
    declare_topology(rabbitmq, rabbitmq_vhost)
    give_back = RETURNS[how]
    with amqp(rabbitmq, rabbitmq_vhost) as conn:
        pub = conn.channel()
        pub.confirm_delivery()
        publish_confirmed(pub, "orders", "order.created", b"poison")

        counts = []
        for _ in range(DELIVERY_LIMIT + 3):
            ch = conn.channel()
            # Returns and dead-lettering are asynchronous: poll before concluding "gone".
            method, props, body = poll_get(ch, "orders.q")
            if method is None:
                ch.close()
                break
            assert body == b"poison"
            counts.append(delivery_count(props))
            give_back(ch, method)
            if ch.is_open:
                ch.close()

        if _return_counts(rabbitmq.version_info, how):
            # Delivered limit+1 times (counts 0..limit); the (limit+1)-th return dead-letters it.
            assert counts == list(range(DELIVERY_LIMIT + 1)), counts
            dlq = conn.channel()
            method, props, body = get_one(dlq, "orders.dlq")
            assert body == b"poison"
            death = props.headers["x-death"][0]
            assert death["reason"] == "delivery_limit"
            assert death["queue"] == "orders.q"
            assert props.headers["x-first-death-reason"] == "delivery_limit"
            dlq.basic_ack(method.delivery_tag)
        else:
            assert len(counts) == DELIVERY_LIMIT + 3  # never dead-lettered
            assert set(counts) == {0}


def test_nack_without_requeue_dead_letters_immediately(
    rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str
) -> None:
    declare_topology(rabbitmq, rabbitmq_vhost)
    with amqp(rabbitmq, rabbitmq_vhost) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        publish_confirmed(ch, "orders", "order.created", b"bad")
        method, _, _ = get_one(ch, "orders.q")
        ch.basic_nack(method.delivery_tag, requeue=False)
        method, props, body = get_one(ch, "orders.dlq")
        assert body == b"bad"
        assert props.headers["x-death"][0]["reason"] == "rejected"
        ch.basic_ack(method.delivery_tag)


def test_default_delivery_limit_is_version_specific(
    rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str
) -> None:
    """A quorum queue with no delivery-limit: unlimited on 3.x, 20 from 4.0 (then dropped)."""
    v = rabbitmq.q(rabbitmq_vhost)
    rabbitmq.http(
        "PUT",
        f"/api/queues/{v}/plain.q",
        {"durable": True, "arguments": {"x-queue-type": "quorum"}},
        expect=(201, 204),
    )
    returns = 25
    with amqp(rabbitmq, rabbitmq_vhost) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        publish_confirmed(ch, "", "plain.q", b"m")
        deliveries = 0
        for _ in range(returns):
            method = poll_get(ch, "plain.q")[0]
            if method is None:
                break
            deliveries += 1
            ch.basic_reject(method.delivery_tag, requeue=True)
        if rabbitmq.version_info < (4, 0):
            assert deliveries == returns  # still there after 25 returns
            method, props, _ = get_one(ch, "plain.q")
            assert delivery_count(props) == returns
            ch.basic_ack(method.delivery_tag)
        else:
            assert deliveries == 21  # default delivery-limit 20, no DLX: dropped


# --------------------------------------------------------------------------- restart


def test_restart_keeps_confirmed_persistent_messages_and_leaves_nothing_running(
    rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str
) -> None:
    declare_topology(rabbitmq, rabbitmq_vhost)
    with amqp(rabbitmq, rabbitmq_vhost) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        publish_confirmed(ch, "orders", "order.created", b'{"id": "survivor"}')
    ports_before = rabbitmq.ports
    assert rabbitmq.leftover_pids()

    t0 = time.monotonic()
    rabbitmq.stop()
    stop_seconds = time.monotonic() - t0
    assert rabbitmq.leftover_pids() == []
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True)
    assert ports_before is not None
    strays = [
        line
        for line in ps.stdout.splitlines()
        if f"-port {ports_before.epmd}" in line
        or f"-epmd_port {ports_before.epmd}" in line
        or rabbitmq.node_name in line
    ]
    assert strays == [], strays

    rabbitmq.start()
    print(f"stop {stop_seconds:.1f}s, start {rabbitmq.start_seconds:.1f}s")
    assert rabbitmq.ports == ports_before  # kept when still free
    v = rabbitmq.q(rabbitmq_vhost)
    # Queue details in the HTTP API are filled in from stats (Ra tick) a moment after a boot.
    q = wait_for(
        lambda: (
            (r := rabbitmq.http("GET", f"/api/queues/{v}/orders.q", expect=200).json()).get(
                "policy"
            )
            and r
        ),
        what="queue stats after restart",
    )
    assert q["type"] == "quorum"
    assert q["policy"] == "orders-dlx"
    with amqp(rabbitmq, rabbitmq_vhost) as conn:
        ch = conn.channel()
        method, props, body = get_one(ch, "orders.q", timeout=30)
        assert body == b'{"id": "survivor"}'
        assert props.delivery_mode == 2
        ch.basic_ack(method.delivery_tag)

        # A crash (SIGKILL, nothing flushed on the way out) keeps confirmed messages too:
        # a quorum queue confirms only after the Ra WAL write is fsynced.
        ch.confirm_delivery()
        publish_confirmed(ch, "orders", "order.created", b'{"id": "crash-survivor"}')
    rabbitmq.restart(kill=True)
    print(f"kill-restart start {rabbitmq.start_seconds:.1f}s")
    with amqp(rabbitmq, rabbitmq_vhost) as conn:
        ch = conn.channel()
        method, _, body = get_one(ch, "orders.q", timeout=30)
        assert body == b'{"id": "crash-survivor"}'
        ch.basic_ack(method.delivery_tag)


# --------------------------------------------------------------------------- permissions


def test_user_with_empty_read_permission_cannot_consume(
    rabbitmq: LocalRabbitMQ, rabbitmq_vhost: str
) -> None:
    declare_topology(rabbitmq, rabbitmq_vhost)
    create_user(
        rabbitmq,
        rabbitmq_vhost,
        "publisher-only",
        "pw-publisher",
        configure="^$",
        write=r"^orders$",
        read="^$",
    )
    create_user(
        rabbitmq,
        rabbitmq_vhost,
        "orders-consumer",
        "pw-consumer",
        configure="^$",
        write="^$",
        read=r"^orders\.q$",
    )

    with amqp(rabbitmq, rabbitmq_vhost, "publisher-only", "pw-publisher") as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        publish_confirmed(ch, "orders", "order.created", b"x")  # write on ^orders$ is enough
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as exc:
            ch.basic_consume("orders.q", lambda *a: None)
        assert exc.value.reply_code == 403
        assert "ACCESS_REFUSED" in exc.value.reply_text
        ch = conn.channel()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as exc:
            ch.basic_get("orders.q")
        assert exc.value.reply_code == 403

    with amqp(rabbitmq, rabbitmq_vhost, "orders-consumer", "pw-consumer") as conn:
        ch = conn.channel()
        method, _, body = get_one(ch, "orders.q")
        assert body == b"x"
        ch.basic_ack(method.delivery_tag)
        # The anchored regex does not extend to the DLQ.
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as exc:
            ch.basic_get("orders.dlq")
        assert exc.value.reply_code == 403

    for user in ("publisher-only", "orders-consumer"):
        rabbitmq.http("DELETE", f"/api/users/{user}", expect=204)
