"""What both Kubernetes platforms share: the idempotency store's clients and the workloads that
use it agree, whichever broker the platform runs."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi

from eventinfra.check.synth import record
from eventinfra.config.loader import PlatformConfig
from eventinfra.config.models import Idempotency
from eventinfra.kubernetes.platform import (
    IDEMPOTENCY_CLIENT_LABEL,
    container_workload,
    idempotency_store,
)
from tests.rabbitmq.test_components import platform_config

LABELS = {"app.kubernetes.io/part-of": "eventinfra"}


def store_and_workloads(config: PlatformConfig) -> dict[str, Any]:
    """The store and every consumer's workload, as a platform declares them."""
    built: dict[str, Any] = {}

    def build() -> None:
        owner = pulumi.ComponentResource("eventinfra:test:Owner", "events")
        store = idempotency_store(
            "events", config, namespace="events", storage_class=None, labels=LABELS, parent=owner
        )
        built["store"] = store
        built["workloads"] = {
            consumer: container_workload(
                config,
                consumer,
                object_name=f"k8s-{consumer}",
                namespace="events",
                store=store,
                labels=LABELS,
            )
            for consumer in config.topology.consumers
        }

    record(build)
    return built


def with_consumer(
    config: PlatformConfig, name: str, like: str, *, idempotent: bool
) -> PlatformConfig:
    """The config with consumer `name`: a copy of `like` with idempotency on or off."""
    consumers = dict(config.topology.consumers)
    consumers[name] = consumers[like].model_copy(
        update={"idempotency": Idempotency(enabled=idempotent)}
    )
    topology = config.topology.model_copy(update={"consumers": consumers})
    return dataclasses.replace(config, topology=topology)


def test_an_idempotent_container_consumer_mounts_the_secret_the_store_writes_for_it() -> None:
    built = store_and_workloads(platform_config())
    store, workloads = built["store"], built["workloads"]

    # fulfilment asks for idempotency but runs outside the platform: no client, no workload.
    assert store.client_secrets == {"mailer": "k8s-mailer-idempotency"}
    assert workloads["analytics"] is None and workloads["fulfilment"] is None
    mailer = workloads["mailer"]
    assert mailer["idempotency"]["secret_name"] == store.client_secrets["mailer"]
    assert (mailer["idempotency"]["key"], mailer["idempotency"]["ttl_seconds"]) == ("userId", 86400)
    assert mailer["labels"] == {**LABELS, IDEMPOTENCY_CLIENT_LABEL: "true"}


def test_a_container_consumer_with_idempotency_off_is_no_client_beside_one_with_it_on() -> None:
    config = with_consumer(platform_config(), "reporter", like="mailer", idempotent=False)

    built = store_and_workloads(config)

    assert set(built["store"].client_secrets) == {"mailer"}
    reporter = built["workloads"]["reporter"]
    assert reporter["idempotency"] is None
    assert reporter["labels"] == LABELS


def test_without_an_idempotent_container_consumer_there_is_no_store() -> None:
    config = with_consumer(platform_config(), "mailer", like="mailer", idempotent=False)

    built = store_and_workloads(config)

    assert built["store"] is None
    mailer = built["workloads"]["mailer"]
    assert mailer["idempotency"] is None
    assert mailer["labels"] == LABELS
