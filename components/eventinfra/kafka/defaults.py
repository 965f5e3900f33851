"""Every default of the Kafka-on-Kubernetes (Strimzi) backend, with the fact behind it."""

from typing import Final

# --- Strimzi / Kafka ---
# Strimzi 1.x serves only `kafka.strimzi.io/v1`; the CRD schemas in tests/support/k8s_schemas
# are Strimzi 1.2.0's. The Kafka version is the operator release's default, so pinning the
# operator pins Kafka.
API_VERSION: Final = "kafka.strimzi.io/v1"
STRIMZI_VERSION: Final = "1.2.0"
# Strimzi's listener ports: 9092 plain, 9093 TLS by convention (any 9092+ except 9404, 9999).
PLAIN_PORT: Final = 9092
TLS_PORT: Final = 9093
# A write is acknowledged by at least this many in-sync replicas (with acks=all), so one broker
# can fail without losing an acknowledged message and a second failure stops writes instead.
MIN_INSYNC_REPLICAS: Final = 2
# Topics are created by KafkaTopic objects only: auto-creation would make typos into topics
# with the broker's default partitions and no ACL review.
AUTO_CREATE_TOPICS: Final = False
# Unclean leader election can elect a replica that misses acknowledged writes: never.
UNCLEAN_LEADER_ELECTION: Final = False
# Kafka's own default log retention (log.retention.hours=168): 7 days.
RETENTION_HOURS: Final = 168
PARTITIONS: Final = 6
# Dead-letter topics keep what failed long enough for a human to look: Kafka has no "DLQ
# redrive"; a replay reads the topic from the beginning within retention.
DEAD_LETTER_RETENTION_HOURS: Final = 14 * 24
DEAD_LETTER_PARTITIONS: Final = 1
# A consumer's retry topic (what `eventinfra dlq redrive` writes to) gets the dead-letter
# topic's settings: it carries the same records, a few at a time, and one partition keeps the
# redriven order.
RETRY_RETENTION_HOURS: Final = DEAD_LETTER_RETENTION_HOURS
RETRY_PARTITIONS: Final = DEAD_LETTER_PARTITIONS
CLEANUP_POLICY: Final = "delete"
# Kafka drops an empty group's committed offsets this long after its last commit (default 7
# days). The ops group (`eventinfra dlq`) commits only when someone operates: its offsets must
# outlive the dead-letter records, or records already redriven would show, and redrive, again.
OFFSETS_RETENTION_MINUTES: Final = DEAD_LETTER_RETENTION_HOURS * 60
# The KRaft controller quorum tolerates one failure with three voters.
CONTROLLER_REPLICAS: Final = 3
CONTROLLER_STORAGE: Final = "10Gi"
CONTROLLER_CPU: Final = "500m"
CONTROLLER_MEMORY: Final = "1Gi"
# Rack awareness: brokers spread replicas over this node label's values (zones).
RACK_TOPOLOGY_KEY: Final = "topology.kubernetes.io/zone"
# KafkaUser certificates and the cluster CA's Secret (`<cluster>-cluster-ca-cert`, key ca.crt).
CLUSTER_CA_SUFFIX: Final = "-cluster-ca-cert"
CA_CERT_KEY: Final = "ca.crt"
# Where a consumer's Kafka credentials and the cluster CA are mounted (files, not variables: a
# renewed certificate reaches the pod without a restart, and nothing leaks into `env` dumps).
CREDENTIALS_DIR: Final = "/var/run/eventinfra/kafka"
CLUSTER_CA_DIR: Final = "/var/run/eventinfra/kafka-ca"
# The files the runtime reads from the credentials folder (its `KAFKA_CREDENTIAL_FILES`): only
# these keys are mounted. The User Operator's TLS Secret also holds the user's PKCS#12 keystore
# and its password, which nothing in the pod needs.
TLS_CREDENTIAL_KEYS: Final = ("user.crt", "user.key")
SCRAM_CREDENTIAL_KEYS: Final = ("username", "password")
# Owner root, group fsGroup (the consumer's): read-only, nothing for others, as the RabbitMQ
# consumer's credential files (`container_consumer.CREDENTIAL_FILE_MODE`).
CREDENTIAL_FILE_MODE: Final = 0o440
PASSWORD_LENGTH: Final = 32
# The `schema_version` of every event in the runtime's EVENTINFRA_EVENTS: the topology has one
# schema per event, as on the other backends.
EVENT_SCHEMA_VERSION: Final = "1"

# --- KEDA kafka scaler ---
# Lag below this does not wake a scaled-to-zero deployment (activation).
ACTIVATION_LAG_THRESHOLD: Final = 1
# A partition whose committed offset has not moved while lag stays (a stuck poison message
# the consumer keeps failing) does not count toward scaling: more pods would not help.
EXCLUDE_PERSISTENT_LAG: Final = True
# A new group has no committed offsets: KEDA reads it as lag from the earliest offset, like the
# consumer, which starts from the beginning (auto.offset.reset=earliest).
OFFSET_RESET_POLICY: Final = "earliest"

# --- Alerts (Kafka Exporter metrics, enabled on the Kafka resource) ---
LAG_GROWING_WINDOW: Final = "15m"
DEAD_LETTER_WINDOW: Final = "5m"
DEAD_LETTER_ALERT_FOR: Final = "1m"
EXPORTER_GROUP_REGEX: Final = ".*"
EXPORTER_TOPIC_REGEX: Final = ".*"

# --- Operators eventinfra installs when `install_operators: true` (pinned release manifests) ---
# The same release whose CRD schemas validate the rendered objects (k8s_schemas/SOURCES.md).
OPERATOR_MANIFESTS: Final = {
    "strimzi": (
        f"https://github.com/strimzi/strimzi-kafka-operator/releases/download/{STRIMZI_VERSION}/"
        f"strimzi-cluster-operator-{STRIMZI_VERSION}.yaml"
    ),
    "keda": "https://github.com/kedacore/keda/releases/download/v2.18.1/keda-2.18.1.yaml",
}
