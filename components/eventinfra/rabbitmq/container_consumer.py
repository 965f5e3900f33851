"""ContainerConsumer: a hardened consumer Deployment that KEDA scales on its queue's length."""

import json
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.config.loader import PlatformConfig
from eventinfra.contract import Finding, raise_for, under
from eventinfra.ordering import after_caller
from eventinfra.rabbitmq import defaults, naming
from eventinfra.rabbitmq import validation as rules
from eventinfra.rabbitmq.resources import KEDA_API_VERSION, custom_resource


class RedisIdempotencyArgs(TypedDict):
    """Where the consumer records processed messages (see `RedisIdempotencyStore`)."""

    secret_name: str
    """Secret with `username` and `password`: the consumer's own Redis user, limited to its key
    prefix."""
    host: pulumi.Input[str]
    """The store's Service host (`RedisIdempotencyStore.host`)."""
    port: int
    """The store's Redis port (`RedisIdempotencyStore.port`)."""
    tls: bool
    """Whether the store speaks TLS (`RedisIdempotencyStore.tls`)."""
    key_prefix: str
    """The prefix of the consumer's keys, the only ones its Redis user may touch
    (`<consumer>:`)."""
    key: str | None
    """Payload field (JMESPath) identifying a message; None: the whole payload."""
    ttl_seconds: int
    """How long a processed message is remembered, in seconds."""


class BrokerBindingArgs(TypedDict):
    """How the container reaches another broker than RabbitMQ (the kafka backend's), and how
    KEDA scales it: replaces the RabbitMQ variables, trigger and TriggerAuthentication."""

    name: str
    """The broker's name: the TriggerAuthentication is `<object_name>-<name>`."""
    env: list[dict[str, Any]]
    """The container's broker variables (`name`, `value`), in the Kubernetes API's shape."""
    volumes: list[dict[str, Any]]
    """Secret volumes (credentials as files), mounted read-only by `volume_mounts`."""
    volume_mounts: list[dict[str, Any]]
    """Where the container mounts `volumes`."""
    triggers: list[dict[str, Any]]
    """The KEDA triggers without their `authenticationRef` (KEDA scales to the largest)."""
    secret_refs: list[dict[str, str]]
    """The TriggerAuthentication's `secretTargetRef` entries."""


class ConsumedEventArgs(TypedDict):
    """One event the consumer accepts, as the runtime's `EVENTINFRA_EVENTS` entry describes it."""

    schema: str
    """The payload's JSON Schema (file content); `{}` accepts any payload."""
    fifo: bool
    """Whether the event's messages are ordered per group."""
    group_key: str | None
    """Payload field (JMESPath) whose value groups ordered messages; None: no groups."""


def consumed_event(config: PlatformConfig, event: str) -> ConsumedEventArgs:
    """The event's entry of EVENTINFRA_EVENTS, with its payload schema (`{}`: any payload): the
    same for a consumer on RabbitMQ or on Kafka."""
    settings = config.topology.events[event]
    schema = (
        (config.topology_dir / settings.payload_schema).read_text(encoding="utf-8")
        if settings.payload_schema
        else "{}\n"
    )
    return {"schema": schema, "fifo": settings.fifo, "group_key": settings.group_key}


class ContainerConsumerArgs(TypedDict):
    """A consumer's container: image, size, scaling, and how it reaches its broker and store."""

    object_name: str
    """metadata.name of the Deployment and its KEDA objects."""
    namespace: pulumi.Input[str]
    """The namespace the consumer runs in (the broker's)."""
    image: str
    """The consumer's image; pin it by digest in production."""
    command: list[str] | None
    """The container's command; None: the image's entrypoint."""
    env: dict[str, str]
    """The application's own environment variables (never credentials)."""
    cpu: str
    """CPU request (`250m`), equal to the limit."""
    memory: str
    """Memory request (`256Mi`), equal to the limit."""
    min_replicas: int
    """Fewest replicas KEDA keeps (0: none while the queue is empty)."""
    max_replicas: int
    """Most replicas KEDA starts."""
    target_queue_length: int
    """Ready plus unacknowledged messages per replica that KEDA aims for."""
    port: int
    """The health port: GET /healthz (liveness) and /readyz (readiness) must answer there."""
    service: NotRequired[str]
    """The consumer's name in the topology (`EVENTINFRA_SERVICE`)."""
    events: NotRequired[dict[str, ConsumedEventArgs]]
    """By event type: `EVENTINFRA_EVENTS`, and the schemas in a ConfigMap mounted at
    `EVENTINFRA_SCHEMAS_DIR`."""
    queue: NotRequired[str]
    """RabbitMQ: the consumer's queue (this and the next five: unless `binding` is given)."""
    host: NotRequired[str]
    """The broker's Service host; its AMQP port and TLS follow from `tls_secret`."""
    vhost: NotRequired[str]
    """The broker's vhost holding `queue`."""
    credentials_secret: NotRequired[str]
    """The consumer's RabbitMQ Secret (`uri`, `username`, `password`, ...)."""
    scaler_secret: NotRequired[str]
    """Secret with `host`: the management API URL of KEDA's read-only monitoring user."""
    tls_secret: NotRequired[str | None]
    """The broker's TLS Secret, whose `ca.crt` KEDA trusts."""
    binding: NotRequired[BrokerBindingArgs]
    """Another broker's variables, volumes and KEDA trigger, instead of RabbitMQ's."""
    idempotency: RedisIdempotencyArgs | None
    """The consumer's idempotency store; None: every delivery is processed."""
    labels: dict[str, str]
    """Labels of every object (and the pods': a NetworkPolicy may admit them by label)."""


CREDENTIAL_KEYS = ("username", "password")
"""The files the runtime reads from each credentials folder (its `CREDENTIAL_FILES`): of the
consumer's RabbitMQ Secret under `EVENTINFRA_RABBITMQ_CREDENTIALS_DIR`, of its Redis Secret under
`EVENTINFRA_REDIS_CREDENTIALS_DIR`. Nothing else of either Secret is mounted."""
CREDENTIAL_FILE_MODE = 0o440  # owner root, group fsGroup (the consumer's): read-only, no others


def _secret_files(secret: str, keys: tuple[str, ...], folder: str) -> dict[str, Any]:
    return {
        "secret": {
            "name": secret,
            "items": [{"key": key, "path": f"{folder}/{key}"} for key in keys],
        }
    }


class ContainerConsumer(pulumi.ComponentResource):
    """Deployment (non-root, read-only, probed), PDB, ScaledObject and TriggerAuthentication."""

    deployment_name: str
    """metadata.name of the Deployment (and the ScaledObject)."""

    def __init__(
        self, name: str, args: ContainerConsumerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        raise_for("ContainerConsumer", name, _args_problems(args))
        super().__init__("eventinfra:index:ContainerConsumer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # KEDA objects need KEDA's CRDs first: they wait for what the consumer waits for.
        custom = after_caller(opts, self)
        namespace = args["namespace"]
        self.deployment_name = args["object_name"]
        selector = {"app.kubernetes.io/name": self.deployment_name}
        labels = {**args["labels"], **selector}
        metadata = {"name": self.deployment_name, "namespace": namespace, "labels": labels}

        # Credentials are files of Secret volumes, never environment variables: those leak into
        # crash reports, `kubectl describe` and every child process.
        binding = args.get("binding") or _rabbitmq_binding(args)
        injected: dict[str, pulumi.Input[str]] = {"EVENTINFRA_HEALTH_PORT": str(args["port"])}
        if "service" in args:
            injected["EVENTINFRA_SERVICE"] = args["service"]
        events = args.get("events")
        if events is not None:
            injected["EVENTINFRA_EVENTS"] = json.dumps(
                {
                    event: {
                        "destination": None,  # a consumer publishes nothing
                        "schema_version": defaults.EVENT_SCHEMA_VERSION,
                        "fifo": entry["fifo"],
                        "group_key": entry.get("group_key"),
                    }
                    for event, entry in events.items()
                },
                sort_keys=True,
                separators=(",", ":"),
            )
            injected["EVENTINFRA_SCHEMAS_DIR"] = naming.SCHEMAS_DIR
        sources: list[dict[str, Any]] = []
        if "binding" not in args:
            injected["EVENTINFRA_RABBITMQ_CREDENTIALS_DIR"] = naming.RABBITMQ_CREDENTIALS_DIR
            sources.append(_secret_files(args["credentials_secret"], CREDENTIAL_KEYS, "rabbitmq"))
        # `X | None` fields are optional in the schema: other languages may leave them out.
        idempotency = args.get("idempotency")
        if idempotency is not None:
            injected |= {
                "EVENTINFRA_REDIS_HOST": idempotency["host"],
                "EVENTINFRA_REDIS_PORT": str(idempotency["port"]),
                "EVENTINFRA_REDIS_TLS": str(idempotency["tls"]).lower(),
                "EVENTINFRA_REDIS_CREDENTIALS_DIR": naming.IDEMPOTENCY_CREDENTIALS_DIR,
                "EVENTINFRA_REDIS_KEY_PREFIX": idempotency["key_prefix"],
                "EVENTINFRA_IDEMPOTENCY_TTL_SECONDS": str(idempotency["ttl_seconds"]),
            }
            key = idempotency.get("key")
            if key is not None:
                injected["EVENTINFRA_IDEMPOTENCY_KEY"] = key
            sources.append(
                _secret_files(idempotency["secret_name"], CREDENTIAL_KEYS, "idempotency")
            )
        # The binding's variables win: the Kafka binding names its own broker and service.
        bound = {variable["name"] for variable in binding["env"]}
        env: list[dict[str, Any]] = [
            {"name": key, "value": value} for key, value in sorted(args["env"].items())
        ]
        env += binding["env"]
        env += [
            {"name": key, "value": value}
            for key, value in sorted(injected.items())
            if key not in bound
        ]

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
        volumes: list[dict[str, Any]] = [{"name": "tmp", "empty_dir": {}}, *binding["volumes"]]
        if sources:
            container["volume_mounts"].append(
                {"name": "credentials", "mount_path": naming.CREDENTIALS_DIR, "read_only": True}
            )
            volumes.append(
                {
                    "name": "credentials",
                    "projected": {"sources": sources, "default_mode": CREDENTIAL_FILE_MODE},
                }
            )
        if events is not None:
            schemas = k8s.core.v1.ConfigMap(
                f"{name}-schemas",
                metadata={**metadata, "name": f"{self.deployment_name}-schemas"},
                data={f"{event}.json": entry["schema"] for event, entry in events.items()},
                opts=child,
            )
            container["volume_mounts"].append(
                {"name": "schemas", "mount_path": naming.SCHEMAS_DIR, "read_only": True}
            )
            volumes.append({"name": "schemas", "config_map": {"name": schemas.metadata.name}})
        command = args.get("command")
        if command:
            container["command"] = list(command)
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
                            # The credential files belong to this group, readable by it only.
                            "fs_group": defaults.RUN_AS_USER,
                            "seccomp_profile": {"type": "RuntimeDefault"},
                        },
                        # No `<SERVICE>_SERVICE_HOST` variables: the consumer's environment is
                        # what the topology and eventinfra set, nothing the namespace adds.
                        "enable_service_links": False,
                        "containers": [container],
                        "volumes": volumes,
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
        authentication = custom_resource(
            f"{name}-trigger-authentication",
            KEDA_API_VERSION,
            "TriggerAuthentication",
            {"secretTargetRef": binding["secret_refs"]},
            object_name=authentication_name,
            namespace=namespace,
            labels=labels,
            opts=custom,
        )
        custom_resource(
            f"{name}-scaled-object",
            KEDA_API_VERSION,
            "ScaledObject",
            {
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
            object_name=self.deployment_name,
            namespace=namespace,
            labels=labels,
            opts=after_caller(opts, self, depends_on=[authentication]),
        )
        self.register_outputs({"deployment_name": self.deployment_name})


def _args_problems(args: ContainerConsumerArgs) -> list[Finding]:
    """The workload rules the loader checks too, placed at these Args' own keys."""
    findings = [
        *under(("image",), rules.image_problems(args["image"])),
        *under(("env",), rules.environment_problems(args["env"])),
        *under(("cpu",), rules.cpu_problems(args["cpu"])),
        *under(("memory",), rules.memory_problems(args["memory"])),
    ]
    numbers = rules.workload_range_problems(
        min_replicas=args["min_replicas"],
        max_replicas=args["max_replicas"],
        target_queue_length=args["target_queue_length"],
        port=args["port"],
    )
    # min against max only compares two valid counts; an invalid one was said above.
    findings += numbers or under(
        ("min_replicas",), rules.replica_problems(args["min_replicas"], args["max_replicas"])
    )
    if (idempotency := args.get("idempotency")) is not None:
        findings += rules.idempotency_ttl_problems(
            idempotency["ttl_seconds"], ("idempotency", "ttl_seconds")
        )
    return findings


def _rabbitmq_binding(args: ContainerConsumerArgs) -> BrokerBindingArgs:
    """RabbitMQ: the runtime's broker variables (its credentials folder is the caller's: the
    consumer's Secret is mounted beside the Redis one); KEDA on the queue's length through the
    management API."""
    secret_refs = [{"parameter": "host", "name": args["scaler_secret"], "key": "host"}]
    tls_secret = args.get("tls_secret")
    tls = tls_secret is not None
    if tls_secret is not None:
        secret_refs.append({"parameter": "ca", "name": tls_secret, "key": "ca.crt"})
    return {
        "name": "rabbitmq",
        "env": [
            {"name": "EVENTINFRA_BROKER", "value": "rabbitmq"},
            {"name": "EVENTINFRA_RABBITMQ_HOST", "value": args["host"]},
            {
                "name": "EVENTINFRA_RABBITMQ_PORT",
                "value": str(defaults.AMQPS_PORT if tls else defaults.AMQP_PORT),
            },
            {"name": "EVENTINFRA_RABBITMQ_VHOST", "value": args["vhost"]},
            {"name": "EVENTINFRA_RABBITMQ_TLS", "value": str(tls).lower()},
            {"name": "EVENTINFRA_RABBITMQ_QUEUE", "value": args["queue"]},
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
