"""Every default of the RabbitMQ-on-Kubernetes backend, with the fact behind it."""

from typing import Final

# --- RabbitMQ ---
# Pinned broker image: the Cluster Operator's own default moves with each operator release.
# `rabbitmq.image` in the settings overrides it; pin it by digest (`name:tag@sha256:…`) in
# production, which no default here can do offline (the digest is the registry's).
RABBITMQ_IMAGE: Final = "rabbitmq:4.0.5-management"
# A minority partition pauses instead of accepting writes it may later discard (split brain).
CLUSTER_PARTITION_HANDLING: Final = "pause_minority"
RABBITMQ_PLUGINS: Final = ("rabbitmq_prometheus",)
AMQP_PORT: Final = 5672
AMQPS_PORT: Final = 5671
MANAGEMENT_PORT: Final = 15672
MANAGEMENT_TLS_PORT: Final = 15671
PROMETHEUS_PORT: Final = 15692  # the rabbitmq_prometheus plugin's listener
PROMETHEUS_TLS_PORT: Final = 15691
# Quorum queues: replicated (Raft), durable, with delivery-limit and at-least-once dead-lettering.
QUEUE_TYPE: Final = "quorum"
# The Topology Operator keeps the queue (and its messages) when the Queue resource is deleted.
QUEUE_DELETION_POLICY: Final = "retain"
# At-least-once dead-lettering needs overflow reject-publish (RabbitMQ quorum queue docs).
DEAD_LETTER_STRATEGY: Final = "at-least-once"
OVERFLOW: Final = "reject-publish"
# Above the default 0, so a user policy at priority 0 never replaces the dead-letter settings.
POLICY_PRIORITY: Final = 10
# A regex that matches no exchange or queue: "^$" is RabbitMQ's documented "nothing" (the
# default exchange is checked as "amq.default", which it does not match).
NOTHING: Final = "^$"
PASSWORD_LENGTH: Final = 32  # letters and digits only: safe in AMQP and HTTP URIs, ~190 bits

# --- Kubernetes ---
# Alert when a consumer's queue has had no consumer this long (issue 5).
NO_CONSUMER_ALERT: Final = "10m"
DEAD_LETTER_ALERT_FOR: Final = "1m"
READY_GROWING_WINDOW: Final = "15m"
SCRAPE_INTERVAL: Final = "30s"
KEDA_POLLING_INTERVAL_SECONDS: Final = 15
KEDA_COOLDOWN_SECONDS: Final = 300
PROBE_PERIOD_SECONDS: Final = 10
LIVENESS_PATH: Final = "/healthz"
READINESS_PATH: Final = "/readyz"
RUN_AS_USER: Final = 10_001  # any non-root UID: runAsNonRoot rejects images whose user is root
# Sanity bounds on container resources: a CPU above this is almost always a forgotten `m`
# (`250` is 250 cores), a memory below the runtimes' minimum a forgotten unit (`256` is bytes).
MAX_CPU_CORES: Final = 64
MIN_MEMORY_BYTES: Final = 6 * 1024**2  # runc refuses memory limits below 6 MiB
MIN_STORAGE_BYTES: Final = 100 * 1024**2  # below this a volume size is a forgotten unit
# As on AWS (aws/defaults.py): a processed message is remembered at most a year.
IDEMPOTENCY_MAX_TTL_SECONDS: Final = 31_536_000
TERMINATION_GRACE_SECONDS: Final = 60  # time to finish and ack in-flight messages
# The `schema_version` of every event in EVENTINFRA_EVENTS: the topology has no versions yet
# (the AWS backend's value).
EVENT_SCHEMA_VERSION: Final = "1"

# --- Network: who may reach the broker (the namespace denies all other ingress) ---
# The namespaces the operators' release manifests install into, and the Prometheus Operator's
# usual one; `rabbitmq.operators_namespace`, `keda_namespace`, `monitoring_namespace` override.
OPERATORS_NAMESPACE: Final = "rabbitmq-system"
KEDA_NAMESPACE: Final = "keda"
MONITORING_NAMESPACE: Final = "monitoring"

# --- Idempotency store (Redis, one per platform) ---
REDIS_IMAGE: Final = (
    "redis:7.4.2-alpine"  # `rabbitmq.redis_image` and `kafka.redis_image` override it
)
REDIS_PORT: Final = 6379
# Not the image's own `redis` user (999): a UID of 10,000 or more matches no account on the node
# (checkov CKV_K8S_40). The official image runs as whatever user it is started as; fsGroup makes
# the data volume writable for it.
REDIS_UID: Final = 10_002
REDIS_STORAGE: Final = "1Gi"
REDIS_CPU: Final = "250m"
REDIS_MEMORY: Final = "256Mi"

# --- Operators eventinfra installs when `install_operators: true` (pinned release manifests) ---
# The same releases whose CRD schemas validate the rendered objects (k8s_schemas/SOURCES.md).
# The Topology Operator's manifest needs cert-manager in the cluster (its webhook certificate).
OPERATOR_MANIFESTS: Final = {
    "cluster-operator": (
        "https://github.com/rabbitmq/cluster-operator/releases/download/v2.21.1/"
        "cluster-operator.yml"
    ),
    "topology-operator": (
        "https://github.com/rabbitmq/messaging-topology-operator/releases/download/v1.14.2/"
        "messaging-topology-operator-with-certmanager.yaml"
    ),
    "keda": "https://github.com/kedacore/keda/releases/download/v2.18.1/keda-2.18.1.yaml",
}
