"""KafkaPlatform: a topology on Kafka on Kubernetes (Strimzi), with the same guarantees."""

import json
from typing import Self

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.config.loader import PlatformConfig
from eventinfra.kafka import defaults, naming
from eventinfra.kafka.cluster import KafkaCluster
from eventinfra.kafka.consumer import KafkaConsumer
from eventinfra.kafka.platform_args import KafkaPlatformArgs, platform_config_from_args
from eventinfra.kafka.topic import kafka_topic
from eventinfra.kafka.topics import replication, topic_settings
from eventinfra.kafka.user import KafkaAccess, producer_acls
from eventinfra.rabbitmq.container_consumer import ContainerConsumerArgs, consumed_event
from eventinfra.rabbitmq.idempotency import RedisIdempotencyStore
from eventinfra.rabbitmq.naming import NAMESPACE_NAME_LABEL

IDEMPOTENCY_CLIENT_LABEL = "eventinfra/idempotency-client"
"""Pod label of the consumers the idempotency store's NetworkPolicy admits."""


class KafkaPlatform(pulumi.ComponentResource):
    """One environment's event platform on Kafka in Kubernetes (Strimzi): the cluster, a topic
    per event, a consumer group with a dead-letter topic and a user per consumer, a user per
    producer, the consumers' workloads and Prometheus alerts.

    Python programs also get the child components: `producers` (producer name →
    `KafkaAccess`), `consumers` (→ `KafkaConsumer`), `idempotency_store` and `operators`; they
    are not in the package schema.
    """

    namespace: pulumi.Output[str]
    """The Kubernetes namespace of the cluster and every object of the platform."""
    cluster_name: str
    """The Strimzi `Kafka` cluster's name."""
    bootstrap: str
    """The bootstrap address clients connect to, `host:port`."""
    topics: dict[str, str]
    """Topic name by event name."""
    producer_secrets: dict[str, str]
    """The Secret with each producer's credentials (a client certificate with TLS, else a
    SCRAM password), by producer name."""
    producer_events: dict[str, str]
    """The runtime's `EVENTINFRA_EVENTS` (JSON) by producer name: each event's topic."""
    consumer_secrets: dict[str, str]
    """The Secret with each consumer's credentials, by consumer name."""

    def __init__(
        self, name: str, args: KafkaPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if isinstance(args, PlatformConfig):
            # The first signature, `KafkaPlatform(name, config)`, kept so existing Python
            # programs run unchanged; new code calls `from_config`.
            self._build(name, args, opts)
            return
        # Validated before the component registers: a mistake in the args declares nothing.
        self._build(name, platform_config_from_args(args, stack=pulumi.get_stack()), opts)

    @classmethod
    def from_config(
        cls, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ) -> Self:
        """The platform of a validated configuration, like `load_stack_config()` gives."""
        # `__init__` takes language-neutral args; this route skips their conversion, not the
        # validation (a PlatformConfig is validated when it is loaded). Same token, same URNs.
        platform = cls.__new__(cls)
        platform._build(name, config, opts)
        return platform

    def _build(
        self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None
    ) -> None:
        super().__init__("eventinfra:index:KafkaPlatform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings, topology, prefix = config.settings, config.topology, config.prefix
        kafka = settings.kafka
        labels = {
            "app.kubernetes.io/part-of": "eventinfra",
            "app.kubernetes.io/managed-by": "pulumi",
            "eventinfra/environment": config.stack,
        }
        self.cluster_name = naming.cluster_name(prefix)
        self.operators = (
            [
                k8s.yaml.v2.ConfigFile(f"{name}-{role}", file=url, opts=child)
                for role, url in defaults.OPERATOR_MANIFESTS.items()
            ]
            if kafka.install_operators
            else []
        )
        after: list[pulumi.Resource] = list(self.operators)
        after_operators = pulumi.ResourceOptions(parent=self, depends_on=after)
        replicas, min_insync = replication(kafka)
        cluster = KafkaCluster(
            f"{name}-cluster",
            {
                "namespace": kafka.namespace,
                "cluster_name": self.cluster_name,
                "replicas": kafka.replicas,
                "replication_factor": replicas,
                "min_insync_replicas": min_insync,
                "cpu": kafka.cpu,
                "memory": kafka.memory,
                "storage": kafka.storage,
                "storage_class": kafka.storage_class,
                "tls": kafka.tls,
                "rack_topology_key": kafka.rack_topology_key,
                "labels": labels,
            },
            opts=after_operators,
        )
        self.namespace = cluster.namespace
        self.bootstrap = cluster.bootstrap
        namespace = cluster.namespace
        # Nothing reaches a pod here unless a NetworkPolicy allows it: Strimzi's own (it creates
        # them for the nodes' listeners, which admit every client, and for their internal
        # ports), the idempotency store's, and Prometheus, which scrapes the Kafka Exporter the
        # alerts read (and any consumer's metrics) from its namespace.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata={"name": f"{prefix}-default-deny", "namespace": namespace, "labels": labels},
            spec={"pod_selector": {}, "policy_types": ["Ingress"]},
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-monitoring-ingress",
            metadata={
                "name": f"{prefix}-monitoring-ingress",
                "namespace": namespace,
                "labels": labels,
            },
            spec={
                "pod_selector": {},
                "policy_types": ["Ingress"],
                "ingress": [
                    {
                        "from_": [
                            {
                                "namespace_selector": {
                                    "match_labels": {
                                        NAMESPACE_NAME_LABEL: kafka.monitoring_namespace
                                    }
                                }
                            }
                        ]
                    }
                ],
            },
            opts=child,
        )

        self.topics = {}
        for event in topology.events:
            topic = topic_settings(kafka, event)
            self.topics[event] = naming.event_topic(event)
            kafka_topic(
                f"{name}-topic-{naming.k8s_slug(event)}",
                opts=after_operators,
                object_name=f"{prefix}-{naming.k8s_slug(event)}",
                topic=self.topics[event],
                namespace=namespace,
                cluster_name=self.cluster_name,
                partitions=topic.partitions,
                replicas=replicas,
                min_insync_replicas=min_insync,
                retention_hours=topic.retention_hours,
                cleanup_policy=topic.cleanup_policy,
                labels=labels,
            )

        self.producers = {
            producer_name: KafkaAccess(
                f"{name}-producer-{producer_name}",
                {
                    "namespace": namespace,
                    "cluster_name": self.cluster_name,
                    "user_name": naming.user_name(prefix, producer_name),
                    "tls": kafka.tls,
                    "acls": producer_acls([naming.event_topic(e) for e in producer.publishes]),
                    "labels": labels,
                },
                opts=after_operators,
            )
            for producer_name, producer in topology.producers.items()
        }

        self.producer_events = {
            producer_name: producer_events(config, producer.publishes)
            for producer_name, producer in topology.producers.items()
        }

        idempotent = [
            consumer_name
            for consumer_name, consumer in topology.consumers.items()
            if consumer.runtime == "container" and consumer.idempotency.enabled
        ]
        self.idempotency_store = (
            RedisIdempotencyStore(
                f"{name}-idempotency",
                {
                    "object_name": f"{prefix}-idempotency",
                    "namespace": namespace,
                    "clients": [
                        {"consumer": c, "secret_name": f"{prefix}-{c}-idempotency"}
                        for c in idempotent
                    ],
                    "storage_class": kafka.storage_class,
                    "image": kafka.redis_image,
                    "labels": labels,
                    "client_labels": {IDEMPOTENCY_CLIENT_LABEL: "true"},
                },
                opts=child,
            )
            if idempotent
            else None
        )

        self.consumers: dict[str, KafkaConsumer] = {}
        for consumer_name, consumer in topology.consumers.items():
            base = naming.user_name(prefix, consumer_name)
            workload: ContainerConsumerArgs | None = None
            if consumer.container is not None and consumer.runtime == "container":
                container = consumer.container
                workload = {
                    "object_name": base,
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
                    "events": {
                        s.event: consumed_event(config, s.event) for s in consumer.subscribes
                    },
                    "idempotency": (
                        {
                            "secret_name": f"{prefix}-{consumer_name}-idempotency",
                            "host": store.host,
                            "port": store.port,
                            "tls": store.tls,
                            "key_prefix": f"{consumer_name}:",
                            "key": consumer.idempotency.key,
                            "ttl_seconds": consumer.idempotency.ttl_seconds,
                        }
                        if (store := self.idempotency_store) is not None
                        and consumer_name in idempotent
                        else None
                    ),
                    "labels": (
                        {**labels, IDEMPOTENCY_CLIENT_LABEL: "true"}
                        if consumer_name in idempotent
                        else labels
                    ),
                }
            self.consumers[consumer_name] = KafkaConsumer(
                f"{name}-consumer-{consumer_name}",
                {
                    "consumer": consumer_name,
                    "object_name": base,
                    "topics": [naming.event_topic(s.event) for s in consumer.subscribes],
                    "namespace": namespace,
                    "cluster_name": self.cluster_name,
                    "bootstrap": cluster.bootstrap,
                    "tls": kafka.tls,
                    "cluster_ca_secret": cluster.cluster_ca_secret,
                    "replicas": replicas,
                    "min_insync_replicas": min_insync,
                    "labels": labels,
                    "container": workload,
                },
                opts=after_operators,
            )
        self.producer_secrets = {n: p.secret_name for n, p in self.producers.items()}
        self.consumer_secrets = {n: c.credentials.secret_name for n, c in self.consumers.items()}
        self.register_outputs(
            {
                "namespace": self.namespace,
                "cluster_name": self.cluster_name,
                "bootstrap": self.bootstrap,
                "topics": self.topics,
                "producer_secrets": self.producer_secrets,
                "producer_events": self.producer_events,
                "consumer_secrets": self.consumer_secrets,
            }
        )


def producer_events(config: PlatformConfig, publishes: list[str]) -> str:
    """A producer's `EVENTINFRA_EVENTS` (runtime/CONTRACT.md, role `kafka-producer`)."""
    events = config.topology.events
    entries = {
        event: {
            "destination": naming.event_topic(event),
            "schema_version": defaults.EVENT_SCHEMA_VERSION,
            "fifo": events[event].fifo,
            "group_key": events[event].group_key,
        }
        for event in publishes
    }
    return json.dumps(entries, sort_keys=True, separators=(",", ":"))
