"""RedisIdempotencyStore: processed-message records with TTLs, one Redis user per consumer.

The store container consumers use to skip redeliveries (RabbitMQ delivers at least once): one
small Redis per platform (StatefulSet, append-only file on a volume, `noeviction` so a full store
fails writes - and the message is retried - instead of silently forgetting records). Each
consumer gets its own Redis ACL user that may only touch keys under its prefix; its connection
URL is in its own Secret (`url`), beside `username` and `password` (what eventinfra-runtime reads,
mounted as files). Consumers write `SET <prefix><id> <result> NX EX <ttl>`.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from eventinfra.contract import raise_for, under
from eventinfra.rabbitmq import defaults
from eventinfra.rabbitmq import validation as rules


class IdempotencyClientArgs(TypedDict):
    """One consumer that may use the store."""

    consumer: str
    """Redis user name, and the key prefix `<consumer>:` it is confined to."""
    secret_name: str
    """Name of the Secret that receives the consumer's connection URL (key `url`)."""


class RedisIdempotencyStoreArgs(TypedDict):
    """The platform's Redis and its consumers."""

    object_name: str
    """Name of the Redis Service and StatefulSet (its ACL Secret is `<object_name>-acl`)."""
    namespace: pulumi.Input[str]
    """Namespace the store runs in, beside its consumers."""
    clients: list[IdempotencyClientArgs]
    """The consumers that may use the store, each confined to its own key prefix."""
    storage_class: str | None
    """Storage class of the append-only file's volume; None: the cluster's default."""
    image: NotRequired[str]
    """The Redis image (default `defaults.REDIS_IMAGE`); pin it by digest in production."""
    labels: dict[str, str]
    """Labels of every object."""
    client_labels: dict[str, str]
    """Pod labels of the consumers allowed to connect (a NetworkPolicy admits only them)."""


class RedisIdempotencyStore(pulumi.ComponentResource):
    """A persistent Redis whose only users are the consumers, each confined to its prefix."""

    client_secrets: dict[str, str]
    """Secret name (keys `username`, `password`, `url`, `key-prefix`) by consumer."""
    host: pulumi.Output[str]
    """The Service's in-cluster host name."""
    port: int
    """The Service's Redis port."""
    tls: bool
    """False: the store has no TLS listener (its NetworkPolicy admits only the consumers)."""

    def __init__(
        self,
        name: str,
        args: RedisIdempotencyStoreArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        image = args.get("image", defaults.REDIS_IMAGE)
        raise_for("RedisIdempotencyStore", name, under(("image",), rules.image_problems(image)))
        super().__init__("eventinfra:index:RedisIdempotencyStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace, base = args["namespace"], args["object_name"]
        selector = {"app.kubernetes.io/name": base}
        labels = {**args["labels"], **selector}
        port = defaults.REDIS_PORT
        self.port, self.tls = port, False
        self.host = pulumi.Output.format("{0}.{1}.svc", base, namespace)
        self.client_secrets = {}

        acl_lines: list[pulumi.Output[str]] = []
        for client in args["clients"]:
            consumer = client["consumer"]
            password = pulumi.Output.secret(
                random.RandomPassword(
                    f"{name}-{consumer}-password",
                    length=defaults.PASSWORD_LENGTH,
                    special=False,
                    opts=child,
                ).result
            )
            acl_lines.append(
                pulumi.Output.format(
                    "user {0} on >{1} ~{0}:* resetchannels "
                    "-@all +@read +@write +@connection -@dangerous",
                    consumer,
                    password,
                )
            )
            url: pulumi.Output[str] = pulumi.Output.secret(
                pulumi.Output.format(
                    "redis://{0}:{1}@{2}.{3}.svc:{4}/0", consumer, password, base, namespace, port
                )
            )
            k8s.core.v1.Secret(
                f"{name}-{consumer}-client",
                metadata={"name": client["secret_name"], "namespace": namespace, "labels": labels},
                type="Opaque",
                string_data={
                    "username": consumer,
                    "password": password,
                    "url": url,
                    "key-prefix": f"{consumer}:",
                },
                opts=child,
            )
            self.client_secrets[consumer] = client["secret_name"]

        acl: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(*acl_lines).apply(_acl_file)
        )
        acl_secret = k8s.core.v1.Secret(
            f"{name}-acl",
            metadata={"name": f"{base}-acl", "namespace": namespace, "labels": labels},
            type="Opaque",
            string_data={"users.acl": acl},
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": base, "namespace": namespace, "labels": labels},
            spec={
                "selector": selector,
                "ports": [{"name": "redis", "port": port, "target_port": "redis"}],
            },
            opts=child,
        )
        resources = {"cpu": defaults.REDIS_CPU, "memory": defaults.REDIS_MEMORY}
        claim_spec: dict[str, object] = {
            "access_modes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": defaults.REDIS_STORAGE}},
        }
        # Optional in the schema (`str | None`): other languages may leave it out.
        storage_class = args.get("storage_class")
        if storage_class:
            claim_spec["storage_class_name"] = storage_class
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata={"name": base, "namespace": namespace, "labels": labels},
            spec={
                "pod_selector": {"match_labels": selector},
                "policy_types": ["Ingress"],
                "ingress": [
                    {
                        "from_": [{"pod_selector": {"match_labels": args["client_labels"]}}],
                        "ports": [{"protocol": "TCP", "port": port}],
                    }
                ],
            },
            opts=child,
        )
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={"name": base, "namespace": namespace, "labels": labels},
            spec={
                "service_name": base,
                "replicas": 1,
                "selector": {"match_labels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automount_service_account_token": False,
                        "security_context": {
                            "run_as_non_root": True,
                            "run_as_user": defaults.REDIS_UID,
                            "run_as_group": defaults.REDIS_UID,
                            "fs_group": defaults.REDIS_UID,
                            "seccomp_profile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "redis",
                                "image": image,
                                "args": [
                                    "--aclfile",
                                    "/etc/redis/users.acl",
                                    "--appendonly",
                                    "yes",
                                    "--dir",
                                    "/data",
                                    "--maxmemory-policy",
                                    "noeviction",
                                ],
                                "ports": [{"name": "redis", "container_port": port}],
                                "resources": {"requests": resources, "limits": dict(resources)},
                                "liveness_probe": {"tcp_socket": {"port": "redis"}},
                                "readiness_probe": {"tcp_socket": {"port": "redis"}},
                                "security_context": {
                                    "run_as_non_root": True,
                                    "read_only_root_filesystem": True,
                                    "allow_privilege_escalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "volume_mounts": [
                                    {"name": "data", "mount_path": "/data"},
                                    {"name": "acl", "mount_path": "/etc/redis", "read_only": True},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "acl", "secret": {"secret_name": acl_secret.metadata.name}}
                        ],
                    },
                },
                "volume_claim_templates": [{"metadata": {"name": "data"}, "spec": claim_spec}],
            },
            opts=child,
        )
        self.register_outputs(
            {
                "client_secrets": self.client_secrets,
                "host": self.host,
                "port": self.port,
                "tls": self.tls,
            }
        )


def _acl_file(lines: list[str]) -> str:
    """Redis ACL file: the default (password-less) user off, then one line per consumer."""
    return "\n".join(["user default off", *lines]) + "\n"
