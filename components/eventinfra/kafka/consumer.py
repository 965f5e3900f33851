"""KafkaConsumer: a consumer's group, dead-letter topic, credentials, alerts and workload."""

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.contract import raise_for, range_problems
from eventinfra.kafka import defaults, naming
from eventinfra.kafka.topic import kafka_topic
from eventinfra.kafka.user import KafkaAccess, consumer_acls
from eventinfra.kubernetes.alerts import alert_rule, promql_series
from eventinfra.ordering import after_caller
from eventinfra.rabbitmq import validation as rabbitmq_rules
from eventinfra.rabbitmq.container_consumer import (
    BrokerBindingArgs,
    ContainerConsumer,
    ContainerConsumerArgs,
)


class KafkaConsumerArgs(TypedDict):
    """One consumer: its topics, where its cluster is, and its workload."""

    consumer: str
    """The consumer's name: its group id and the base of its dead-letter topic's name."""
    object_name: str
    """Base of the Kubernetes object names (`<prefix>-<consumer>`), also its KafkaUser."""
    topics: list[str]
    """The subscribed events' topics."""
    namespace: pulumi.Input[str]
    """The cluster's namespace, where the consumer's objects go."""
    cluster_name: str
    """The Kafka cluster (`KafkaCluster.cluster_name`)."""
    bootstrap: str
    """`host:port` of the cluster's bootstrap Service (`KafkaCluster.bootstrap`)."""
    tls: bool
    """Whether the cluster's listener is TLS with client certificates (`KafkaCluster.tls`)."""
    cluster_ca_secret: str
    """The Secret with the cluster CA (`KafkaCluster.cluster_ca_secret`)."""
    replicas: int
    """Replicas of the dead-letter topic's partitions."""
    min_insync_replicas: int
    """The dead-letter topic's `min.insync.replicas`."""
    labels: dict[str, str]
    """Labels of every object."""
    max_receive_count: NotRequired[int]
    """How often the workload runs its handler on one record before writing it to the
    dead-letter topic (the topology's `max_receive_count`, 1 to 1000); default: the runtime's 3.
    Kafka has no redelivery counter: the runtime retries in place."""
    container: NotRequired[ContainerConsumerArgs | None]
    """The container workload (without `binding`: it is added here); None: an external consumer
    (dead-letter topic and credentials only)."""


class KafkaConsumer(pulumi.ComponentResource):
    """A consumer group with a dead-letter topic, least-privilege ACLs and lag alerts.

    Kafka keeps events whether or not anyone reads them, so a consumer needs no queue: its
    group's committed offsets are its position. What it cannot process goes to its own
    dead-letter topic, written by the consumer itself (Kafka has no broker-side redelivery
    limit), with the reason in the record's headers.
    """

    group: str
    """The consumer group id."""
    dead_letter_topic: str
    """The topic the consumer writes what it cannot process to."""
    retry_topic: str
    """The topic only this consumer reads besides its events' topics: `eventinfra dlq redrive`
    writes dead letters back here, so they reach this consumer and no other group."""
    secret_name: str
    """The Secret with the consumer's Kafka credentials."""

    # `credentials` and `workload` are set in __init__, not declared here: a declared attribute
    # is a schema output, and the schema cannot hold a component (the analyzer only references
    # resources of packages with a `pulumi_type`). Other languages get `secret_name`.

    def __init__(
        self, name: str, args: KafkaConsumerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        raise_for(
            "KafkaConsumer",
            name,
            [
                *rabbitmq_rules.consumer_name_problems(args["consumer"]),
                *rabbitmq_rules.event_name_problems(args["topics"], ("topics",)),
                *(
                    range_problems(
                        args["max_receive_count"],
                        1,
                        1000,
                        "the topology's max_receive_count range",
                        ("max_receive_count",),
                    )
                    if "max_receive_count" in args
                    else []
                ),
            ],
        )
        super().__init__("eventinfra:index:KafkaConsumer", name, None, opts)
        consumer, base = args["consumer"], args["object_name"]
        namespace, labels = args["namespace"], args["labels"]
        self.group = naming.consumer_group(consumer)
        self.dead_letter_topic = naming.dead_letter_topic(consumer)
        self.retry_topic = naming.retry_topic(consumer)
        # The group reads its retry topic like an event's topic: the runtime subscribes to every
        # topic in EVENTINFRA_KAFKA_TOPICS, and KEDA gets a lag trigger for it.
        topics = [*args["topics"], self.retry_topic]
        dead_letters = kafka_topic(
            f"{name}-dead-letter-topic",
            opts=after_caller(opts, self),
            object_name=f"{base}-dead-letter",
            topic=self.dead_letter_topic,
            namespace=namespace,
            cluster_name=args["cluster_name"],
            partitions=defaults.DEAD_LETTER_PARTITIONS,
            replicas=args["replicas"],
            min_insync_replicas=args["min_insync_replicas"],
            retention_hours=defaults.DEAD_LETTER_RETENTION_HOURS,
            cleanup_policy=defaults.CLEANUP_POLICY,
            labels=labels,
        )
        retries = kafka_topic(
            f"{name}-retry-topic",
            opts=after_caller(opts, self),
            object_name=f"{base}-retry",
            topic=self.retry_topic,
            namespace=namespace,
            cluster_name=args["cluster_name"],
            partitions=defaults.RETRY_PARTITIONS,
            replicas=args["replicas"],
            min_insync_replicas=args["min_insync_replicas"],
            retention_hours=defaults.RETRY_RETENTION_HOURS,
            cleanup_policy=defaults.CLEANUP_POLICY,
            labels=labels,
        )
        self.credentials: KafkaAccess = KafkaAccess(
            f"{name}-kafka",
            {
                "namespace": namespace,
                "cluster_name": args["cluster_name"],
                "user_name": base,
                "tls": args["tls"],
                "acls": consumer_acls(topics, self.group, self.dead_letter_topic),
                "labels": labels,
            },
            opts=after_caller(opts, self),
        )
        self.secret_name = self.credentials.secret_name
        k8s.apiextensions.CustomResource(
            f"{name}-alerts",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": f"{base}-alerts", "namespace": namespace, "labels": labels},
            spec={"groups": [alert_group(consumer)]},
            opts=after_caller(opts, self),
        )
        container = args.get("container")
        self.workload: ContainerConsumer | None = None
        if container is not None:
            binding = kafka_binding(
                consumer=consumer,
                topics=topics,
                bootstrap=args["bootstrap"],
                tls=args["tls"],
                credentials_secret=self.secret_name,
                cluster_ca_secret=args["cluster_ca_secret"],
                lag_threshold=container["target_queue_length"],
                max_attempts=args.get("max_receive_count"),
            )
            self.workload = ContainerConsumer(
                f"{name}-workload",
                {**container, "binding": binding},
                # The workload writes to its dead-letter topic and reads its retry topic; its
                # KEDA objects wait for the operators, like everything else here.
                opts=after_caller(opts, self, depends_on=[dead_letters, retries]),
            )
        self.register_outputs(
            {
                "group": self.group,
                "dead_letter_topic": self.dead_letter_topic,
                "retry_topic": self.retry_topic,
                "secret_name": self.secret_name,
            }
        )


def kafka_binding(
    *,
    consumer: str,
    topics: list[str],
    bootstrap: str,
    tls: bool,
    credentials_secret: str,
    cluster_ca_secret: str,
    lag_threshold: int,
    max_attempts: int | None = None,
) -> BrokerBindingArgs:
    """Credentials mounted as files, the runtime's Kafka variables, and one KEDA `kafka` trigger
    per topic (KEDA scales to the largest), on the group's lag. `max_attempts` None leaves the
    runtime's default."""
    security = "tls" if tls else "scram-sha-512"
    env = [
        {"name": "EVENTINFRA_BROKER", "value": "kafka"},
        {"name": "EVENTINFRA_SERVICE", "value": consumer},
        {"name": "EVENTINFRA_KAFKA_BOOTSTRAP", "value": bootstrap},
        {"name": "EVENTINFRA_KAFKA_SECURITY", "value": security},
        {"name": "EVENTINFRA_KAFKA_CREDENTIALS_DIR", "value": defaults.CREDENTIALS_DIR},
        {"name": "EVENTINFRA_KAFKA_TOPICS", "value": ",".join(topics)},
        {"name": "EVENTINFRA_KAFKA_GROUP", "value": naming.consumer_group(consumer)},
        {
            "name": "EVENTINFRA_KAFKA_DEAD_LETTER_TOPIC",
            "value": naming.dead_letter_topic(consumer),
        },
    ]
    if max_attempts is not None:
        env.append({"name": "EVENTINFRA_MAX_ATTEMPTS", "value": str(max_attempts)})
    credential_keys = defaults.TLS_CREDENTIAL_KEYS if tls else defaults.SCRAM_CREDENTIAL_KEYS
    volumes: list[dict[str, Any]] = [
        {"name": "kafka-credentials", "secret": _secret_files(credentials_secret, credential_keys)}
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "kafka-credentials", "mount_path": defaults.CREDENTIALS_DIR, "read_only": True}
    ]
    metadata: dict[str, str] = {
        "bootstrapServers": bootstrap,
        "consumerGroup": naming.consumer_group(consumer),
        "lagThreshold": str(lag_threshold),
        "activationLagThreshold": str(defaults.ACTIVATION_LAG_THRESHOLD),
        "offsetResetPolicy": defaults.OFFSET_RESET_POLICY,
        "excludePersistentLag": str(defaults.EXCLUDE_PERSISTENT_LAG).lower(),
    }
    if tls:
        ca_file = f"{defaults.CLUSTER_CA_DIR}/{defaults.CA_CERT_KEY}"
        env.append({"name": "EVENTINFRA_KAFKA_CA_FILE", "value": ca_file})
        volumes.append(
            {
                "name": "kafka-cluster-ca",
                "secret": _secret_files(cluster_ca_secret, (defaults.CA_CERT_KEY,)),
            }
        )
        mounts.append(
            {"name": "kafka-cluster-ca", "mount_path": defaults.CLUSTER_CA_DIR, "read_only": True}
        )
        metadata["tls"] = "enable"
        secret_refs = [
            {"parameter": "ca", "name": cluster_ca_secret, "key": defaults.CA_CERT_KEY},
            {"parameter": "cert", "name": credentials_secret, "key": "user.crt"},
            {"parameter": "key", "name": credentials_secret, "key": "user.key"},
        ]
    else:
        metadata["sasl"] = "scram_sha512"
        secret_refs = [
            {"parameter": "username", "name": credentials_secret, "key": "username"},
            {"parameter": "password", "name": credentials_secret, "key": "password"},
        ]
    return {
        "name": "kafka",
        "env": env,
        "volumes": volumes,
        "volume_mounts": mounts,
        "triggers": [
            {"type": "kafka", "metadata": {**metadata, "topic": topic}} for topic in topics
        ],
        "secret_refs": secret_refs,
    }


def _secret_files(secret: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """Only `keys` of the Secret, each a file of its own name, readable by the pod's group."""
    return {
        "secret_name": secret,
        "items": [{"key": key, "path": key} for key in keys],
        "default_mode": defaults.CREDENTIAL_FILE_MODE,
    }


def alert_group(consumer: str) -> dict[str, Any]:
    """Dead-letter topic growing, lag growing, lag with no group member (Kafka Exporter)."""
    group = naming.consumer_group(consumer)
    dead_letters = naming.dead_letter_topic(consumer)
    lag = f"sum({promql_series('kafka_consumergroup_lag', consumergroup=group)})"
    offsets = promql_series("kafka_topic_partition_current_offset", topic=dead_letters)
    window = defaults.LAG_GROWING_WINDOW
    labels = {"consumer": consumer, "consumergroup": group}

    return {
        "name": f"eventinfra-{consumer}",
        "rules": [
            alert_rule(
                "EventConsumerDeadLetters",
                f"sum(delta({offsets}[{defaults.DEAD_LETTER_WINDOW}])) > 0",
                defaults.DEAD_LETTER_ALERT_FOR,
                "critical",
                f"{consumer} wrote events it could not process to {dead_letters}.",
                labels=labels,
            ),
            alert_rule(
                "EventConsumerLagGrowing",
                f"deriv({lag}[{window}:1m]) > 0 and {lag} > 0",
                window,
                "warning",
                f"The lag of consumer group {group} has grown for {window}.",
                labels=labels,
            ),
            alert_rule(
                "EventConsumerNoMembers",
                f"max({promql_series('kafka_consumergroup_members', consumergroup=group)}) == 0 "
                f"and {lag} > 0",
                "10m",
                "critical",
                f"Consumer group {group} has lag and no member for 10 minutes.",
                labels=labels,
            ),
        ],
    }
