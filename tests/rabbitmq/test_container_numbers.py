"""A ContainerConsumer given numbers directly (another language, untyped Python) gets whole
numbers in range, or refuses them at their arg: replicas, the KEDA target, the health port and
the Redis record lifetime (the kafka backend's consumers use the same component)."""

from __future__ import annotations

from typing import Any

import pytest

from eventinfra.check.synth import record
from eventinfra.contract import Finding
from eventinfra.rabbitmq import validation
from eventinfra.rabbitmq.container_consumer import ContainerConsumer, ContainerConsumerArgs
from tests.aws.test_contract import problems, refused

IDEMPOTENCY = {
    "secret_name": "shop-mailer-idempotency",
    "host": "shop-idempotency.events.svc",
    "port": 6379,
    "tls": False,
    "key_prefix": "mailer:",
    "key": None,
    "ttl_seconds": 3600,
}


def args(**overrides: Any) -> ContainerConsumerArgs:
    values: dict[str, Any] = {
        "object_name": "shop-mailer",
        "namespace": "events",
        "image": "ghcr.io/acme/mailer:1.4.2",
        "command": None,
        "env": {},
        "cpu": "250m",
        "memory": "256Mi",
        "min_replicas": 0,
        "max_replicas": 3,
        "target_queue_length": 10,
        "port": 8080,
        "queue": "mailer",
        "host": "shop-rabbitmq.events.svc",
        "vhost": "shop",
        "credentials_secret": "shop-mailer-rabbitmq",
        "scaler_secret": "shop-keda-rabbitmq",
        "idempotency": IDEMPOTENCY,
        "labels": {},
        **overrides,
    }
    return values  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("min_replicas", 1.5, "an integer from 0 to 1000 (replica counts)"),
        ("min_replicas", -1, "an integer from 0 to 1000 (replica counts)"),
        ("max_replicas", 0, "an integer from 1 to 1000 (replica counts)"),
        ("max_replicas", "3", "an integer from 1 to 1000 (replica counts)"),
        ("target_queue_length", 0, "an integer from 1 to 100000 (messages per replica)"),
        ("target_queue_length", 20.5, "an integer from 1 to 100000 (messages per replica)"),
        ("port", 0, "an integer from 1 to 65535 (a TCP port)"),
        ("port", 65_536, "an integer from 1 to 65535 (a TCP port)"),
        ("port", True, "an integer from 1 to 65535 (a TCP port)"),
    ],
)
def test_a_workload_number_out_of_range_is_refused_at_its_arg(
    key: str, value: object, expected: str
) -> None:
    error, graph = refused(lambda: ContainerConsumer("mailer", args(**{key: value})))
    assert problems(error) == [
        (f"ContainerConsumer 'mailer' args.{key}", f"expected {expected}, found {value!r}.")
    ]
    assert graph.resources == []


@pytest.mark.parametrize("ttl", [7200.5, 0, 31_536_001, "3600", True])
def test_a_redis_record_lifetime_out_of_range_is_refused(ttl: object) -> None:
    idempotency = {**IDEMPOTENCY, "ttl_seconds": ttl}
    error, _ = refused(lambda: ContainerConsumer("mailer", args(idempotency=idempotency)))
    assert problems(error) == [
        (
            "ContainerConsumer 'mailer' args.idempotency.ttl_seconds",
            "expected an integer from 1 to 31536000 (whole seconds, at most one year; Redis SET "
            f"EX takes a positive integer), found {ttl!r}.",
        )
    ]


def test_min_above_max_is_still_refused_once_both_are_counts() -> None:
    error, _ = refused(lambda: ContainerConsumer("mailer", args(min_replicas=5, max_replicas=2)))
    assert problems(error) == [
        (
            "ContainerConsumer 'mailer' args.min_replicas",
            "expected min at most max (KEDA refuses a ScaledObject whose minReplicaCount exceeds "
            "maxReplicaCount), found min 5 and max 2.",
        )
    ]


def test_the_bounds_themselves_reach_the_deployment() -> None:
    idempotency = {**IDEMPOTENCY, "ttl_seconds": 31_536_000}

    def build() -> None:
        ContainerConsumer(
            "mailer", args(port=65_535, target_queue_length=100_000, idempotency=idempotency)
        )

    graph = record(build)
    (container,) = graph.named("mailer-deployment").inputs["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["EVENTINFRA_IDEMPOTENCY_TTL_SECONDS"] == "31536000"
    assert env["EVENTINFRA_HEALTH_PORT"] == "65535"


def test_the_validation_functions_accept_the_topology_defaults() -> None:
    assert validation.idempotency_ttl_problems(86_400) == []
    assert (
        validation.workload_range_problems(
            min_replicas=1, max_replicas=10, target_queue_length=20, port=8080
        )
        == []
    )
    assert validation.idempotency_ttl_problems(0.0) == [
        Finding(
            ("ttl_seconds",),
            "expected an integer from 1 to 31536000 (whole seconds, at most one year; Redis SET "
            "EX takes a positive integer), found 0.0.",
        )
    ]
