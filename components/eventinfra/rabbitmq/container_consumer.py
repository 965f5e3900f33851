"""ContainerConsumer: a hardened consumer Deployment that KEDA scales on its queue's length."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.rabbitmq import defaults


class RedisIdempotencyArgs(TypedDict):
    """Where the consumer records processed messages (see `RedisIdempotencyStore`)."""

    secret_name: str
    """Secret with `url`: the consumer's own Redis user, limited to its key prefix."""
    key_prefix: str
    key: str | None
    """Payload field (JMESPath) identifying a message; None: the whole payload."""
    ttl_seconds: int


class BrokerBindingArgs(TypedDict):
    """How the container reaches another broker than RabbitMQ (the kafka backend's), and how
    KEDA scales it: replaces the RabbitMQ variables, trigger and TriggerAuthentication."""

    name: str
    """The broker's name: the TriggerAuthentication is `<object_name>-<name>`."""
    env: list[dict[str, Any]]
    volumes: list[dict[str, Any]]
    """Secret volumes (credentials as files), mounted read-only by `volume_mounts`."""
    volume_mounts: list[dict[str, Any]]
    triggers: list[dict[str, Any]]
    """The KEDA triggers without their `authenticationRef` (KEDA scales to the largest)."""
    secret_refs: list[dict[str, str]]
    """The TriggerAuthentication's `secretTargetRef` entries."""


class ContainerConsumerArgs(TypedDict):
    object_name: str
    """metadata.name of the Deployment and its KEDA objects."""
    namespace: pulumi.Input[str]
    image: str
    command: list[str] | None
    env: dict[str, str]
    cpu: str
    memory: str
    """Requests, equal to the limits."""
    min_replicas: int
    max_replicas: int
    target_queue_length: int
    """Ready plus unacknowledged messages per replica that KEDA aims for."""
    port: int
    """The health port: GET /healthz (liveness) and /readyz (readiness) must answer there."""
    queue: NotRequired[str]
    """RabbitMQ: the consumer's queue (this and the next four: unless `binding` is given)."""
    vhost: NotRequired[str]
    credentials_secret: NotRequired[str]
    """The consumer's RabbitMQ Secret (`uri`, `username`, `password`, ...)."""
    scaler_secret: NotRequired[str]
    """Secret with `host`: the management API URL of KEDA's read-only monitoring user."""
    tls_secret: NotRequired[str | None]
    """The broker's TLS Secret, whose `ca.crt` KEDA trusts."""
    binding: NotRequired[BrokerBindingArgs]
    """Another broker's variables, volumes and KEDA trigger, instead of RabbitMQ's."""
    idempotency: RedisIdempotencyArgs | None
    labels: dict[str, str]
    depends_on: NotRequired[list[pulumi.Resource]]
    """What must exist first: the operators' manifests when eventinfra installs them."""


class ContainerConsumer(pulumi.ComponentResource):
    """Deployment (non-root, read-only, probed), PDB, ScaledObject and TriggerAuthentication."""

    deployment_name: str

    def __init__(
        self, name: str, args: ContainerConsumerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eventinfra:index:ContainerConsumer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # KEDA objects need KEDA's CRDs first.
        after = args.get("depends_on", [])
        custom = pulumi.ResourceOptions(parent=self, depends_on=after)
        namespace = args["namespace"]
        self.deployment_name = args["object_name"]
        selector = {"app.kubernetes.io/name": self.deployment_name}
        labels = {**args["labels"], **selector}
        metadata = {"name": self.deployment_name, "namespace": namespace, "labels": labels}

        def from_secret(variable: str, secret: str, key: str) -> dict[str, Any]:
            return {
                "name": variable,
                "value_from": {"secret_key_ref": {"name": secret, "key": key}},
            }

        binding = args.get("binding") or _rabbitmq_binding(args)
        env: list[dict[str, Any]] = [
            {"name": key, "value": value} for key, value in sorted(args["env"].items())
        ]
        env += binding["env"]
        idempotency = args["idempotency"]
        if idempotency is not None:
            env += [
                from_secret("IDEMPOTENCY_REDIS_URL", idempotency["secret_name"], "url"),
                {"name": "IDEMPOTENCY_KEY_PREFIX", "value": idempotency["key_prefix"]},
                {"name": "IDEMPOTENCY_TTL_SECONDS", "value": str(idempotency["ttl_seconds"])},
            ]
            if idempotency["key"] is not None:
                env.append({"name": "IDEMPOTENCY_KEY", "value": idempotency["key"]})

        resources = {"cpu": args["cpu"], "memory": args["memory"]}

        def probe(path: str) -> dict[str, Any]:
            return {
                "http_get": {"path": path, "port": "health"},
                "period_seconds": defaults.PROBE_PERIOD_SECONDS,
            }

        container: dict[str, Any] = {
            "name": "consumer",
            "image": args["image"],
            "env": env,
            "ports": [{"name": "health", "container_port": args["port"]}],
            "resources": {"requests": resources, "limits": dict(resources)},
            "liveness_probe": probe(defaults.LIVENESS_PATH),
            "readiness_probe": probe(defaults.READINESS_PATH),
            "security_context": {
                "run_as_non_root": True,
                "read_only_root_filesystem": True,
                "allow_privilege_escalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
            # The root filesystem is read-only; /tmp is the one writable place.
            "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}, *binding["volume_mounts"]],
        }
        if args["command"]:
            container["command"] = list(args["command"])
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata,
            spec={
                # KEDA owns the replica count; this is only the first rollout's.
                "replicas": max(args["min_replicas"], 1),
                "selector": {"match_labels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automount_service_account_token": False,
                        "termination_grace_period_seconds": (defaults.TERMINATION_GRACE_SECONDS),
                        "security_context": {
                            "run_as_non_root": True,
                            "run_as_user": defaults.RUN_AS_USER,
                            "run_as_group": defaults.RUN_AS_USER,
                            "seccomp_profile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [{"name": "tmp", "empty_dir": {}}, *binding["volumes"]],
                    },
                },
            },
            # KEDA's HPA changes spec.replicas: do not fight it on every update.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["spec.replicas"]),
        )
        if args["max_replicas"] > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=metadata,
                spec={"max_unavailable": 1, "selector": {"match_labels": selector}},
                opts=child,
            )

        authentication_name = f"{self.deployment_name}-{binding['name']}"
        authentication = k8s.apiextensions.CustomResource(
            f"{name}-trigger-authentication",
            api_version="keda.sh/v1alpha1",
            kind="TriggerAuthentication",
            metadata={**metadata, "name": authentication_name},
            spec={"secretTargetRef": binding["secret_refs"]},
            opts=custom,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-scaled-object",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=metadata,
            spec={
                "scaleTargetRef": {"name": self.deployment_name},
                "minReplicaCount": args["min_replicas"],
                "maxReplicaCount": args["max_replicas"],
                "pollingInterval": defaults.KEDA_POLLING_INTERVAL_SECONDS,
                "cooldownPeriod": defaults.KEDA_COOLDOWN_SECONDS,
                "triggers": [
                    {**trigger, "authenticationRef": {"name": authentication_name}}
                    for trigger in binding["triggers"]
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, authentication]),
        )
        self.register_outputs({"deployment_name": self.deployment_name})


def _rabbitmq_binding(args: ContainerConsumerArgs) -> BrokerBindingArgs:
    """RabbitMQ credentials as variables from the user's Secret; KEDA on the queue's length."""

    def from_secret(variable: str, key: str) -> dict[str, Any]:
        secret = args["credentials_secret"]
        return {"name": variable, "value_from": {"secret_key_ref": {"name": secret, "key": key}}}

    secret_refs = [{"parameter": "host", "name": args["scaler_secret"], "key": "host"}]
    tls_secret = args.get("tls_secret")
    if tls_secret is not None:
        secret_refs.append({"parameter": "ca", "name": tls_secret, "key": "ca.crt"})
    return {
        "name": "rabbitmq",
        "env": [
            from_secret("RABBITMQ_URI", "uri"),
            from_secret("RABBITMQ_USERNAME", "username"),
            from_secret("RABBITMQ_PASSWORD", "password"),
            {"name": "RABBITMQ_QUEUE", "value": args["queue"]},
            {"name": "RABBITMQ_VHOST", "value": args["vhost"]},
        ],
        "volumes": [],
        "volume_mounts": [],
        # protocol http: the management API's count includes unacknowledged messages, so
        # in-flight work keeps its replicas.
        "triggers": [
            {
                "type": "rabbitmq",
                "metadata": {
                    "protocol": "http",
                    "mode": "QueueLength",
                    "value": str(args["target_queue_length"]),
                    "queueName": args["queue"],
                    "vhostName": args["vhost"],
                },
            }
        ],
        "secret_refs": secret_refs,
    }
