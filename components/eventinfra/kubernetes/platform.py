"""The parts of a Kubernetes platform that do not depend on the broker."""

from collections.abc import Callable, Mapping
from typing import Any, Final, Self

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.config.loader import PlatformConfig
from eventinfra.rabbitmq.container_consumer import ContainerConsumerArgs, consumed_event
from eventinfra.rabbitmq.idempotency import RedisIdempotencyStore, RedisIdempotencyStoreArgs

IDEMPOTENCY_CLIENT_LABEL: Final = "eventinfra/idempotency-client"
"""Pod label of the consumers the idempotency store's NetworkPolicy admits."""


class BuiltFromConfig:
    """`from_config` of a platform whose `__init__` takes language-neutral args (the package
    schema is read from that signature) and whose `_build` takes a validated PlatformConfig."""

    def _build(
        self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None
    ) -> None:
        raise NotImplementedError

    @classmethod
    def from_config(
        cls, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ) -> Self:
        """The platform of a validated configuration, like `load_stack_config()` gives."""
        # This route skips the args' conversion, not the validation (a PlatformConfig is
        # validated when it is loaded). Same token, same URNs.
        platform = cls.__new__(cls)
        platform._build(name, config, opts)
        return platform


def config_of(
    args: Mapping[str, Any] | PlatformConfig,
    from_args: Callable[..., PlatformConfig],
) -> PlatformConfig:
    """The configuration a platform's `__init__` builds from: its args, validated before the
    component registers (a mistake declares nothing), or a PlatformConfig as such, the first
    signature `Platform(name, config)` kept so existing Python programs run unchanged."""
    if isinstance(args, PlatformConfig):
        return args
    return from_args(args, stack=pulumi.get_stack())


def platform_labels(config: PlatformConfig) -> dict[str, str]:
    """Labels of every object the platform declares."""
    return {
        "app.kubernetes.io/part-of": "eventinfra",
        "app.kubernetes.io/managed-by": "pulumi",
        "eventinfra/environment": config.stack,
    }


def install_operators(
    name: str, manifests: Mapping[str, str], parent: pulumi.Resource
) -> list[pulumi.Resource]:
    """The operators' pinned release manifests, one `<name>-<role>` ConfigFile each."""
    return [
        k8s.yaml.v2.ConfigFile(
            f"{name}-{role}", file=url, opts=pulumi.ResourceOptions(parent=parent)
        )
        for role, url in manifests.items()
    ]


def idempotency_secret(config: PlatformConfig, consumer_name: str) -> str:
    """The Secret that receives a consumer's connection to the idempotency store."""
    return f"{config.prefix}-{consumer_name}-idempotency"


def idempotency_store(
    name: str,
    config: PlatformConfig,
    *,
    namespace: pulumi.Input[str],
    storage_class: str | None,
    labels: dict[str, str],
    parent: pulumi.Resource,
    image: str | None = None,
) -> RedisIdempotencyStore | None:
    """The platform's one Redis, shared by its idempotent container consumers; None without
    any. `image` None: the store's default image."""
    idempotent = [
        consumer_name
        for consumer_name, consumer in config.topology.consumers.items()
        if consumer.runtime == "container" and consumer.idempotency.enabled
    ]
    if not idempotent:
        return None
    args: RedisIdempotencyStoreArgs = {
        "object_name": f"{config.prefix}-idempotency",
        "namespace": namespace,
        "clients": [
            {"consumer": c, "secret_name": idempotency_secret(config, c)} for c in idempotent
        ],
        "storage_class": storage_class,
        "labels": labels,
        "client_labels": {IDEMPOTENCY_CLIENT_LABEL: "true"},
    }
    if image is not None:
        args["image"] = image
    return RedisIdempotencyStore(
        f"{name}-idempotency", args, opts=pulumi.ResourceOptions(parent=parent)
    )


def container_workload(
    config: PlatformConfig,
    consumer_name: str,
    *,
    object_name: str,
    namespace: pulumi.Input[str],
    store: RedisIdempotencyStore | None,
    labels: dict[str, str],
) -> ContainerConsumerArgs | None:
    """A container consumer's workload, but for how it reaches its broker (the platform adds
    that); None for any other runtime. `labels` are the pods' (an idempotent consumer's also
    carry the label its store admits)."""
    consumer = config.topology.consumers[consumer_name]
    container = consumer.container
    if container is None or consumer.runtime != "container":
        return None
    # A container consumer with idempotency on is one of the store's clients.
    own_store = store if consumer.idempotency.enabled else None
    return {
        "object_name": object_name,
        "namespace": namespace,
        "image": container.image,
        "command": container.command,
        "env": dict(container.env),
        "cpu": container.resources.cpu,
        "memory": container.resources.memory,
        "min_replicas": container.replicas.min,
        "max_replicas": container.replicas.max,
        "target_queue_length": container.target_queue_length,
        "port": container.port,
        "service": consumer_name,
        "events": {s.event: consumed_event(config, s.event) for s in consumer.subscribes},
        "idempotency": (
            {
                "secret_name": idempotency_secret(config, consumer_name),
                "host": own_store.host,
                "port": own_store.port,
                "tls": own_store.tls,
                "key_prefix": f"{consumer_name}:",
                "key": consumer.idempotency.key,
                "ttl_seconds": consumer.idempotency.ttl_seconds,
            }
            if own_store is not None
            else None
        ),
        "labels": {**labels, IDEMPOTENCY_CLIENT_LABEL: "true"} if own_store is not None else labels,
    }
