"""KafkaPlatform: a topology on Kafka on Kubernetes (Strimzi), with the same guarantees."""

import json

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.config.loader import PlatformConfig
from eventinfra.kafka import defaults, naming
from eventinfra.kafka.cluster import KafkaCluster
from eventinfra.kafka.consumer import KafkaConsumer
from eventinfra.kafka.platform_args import KafkaPlatformArgs, platform_config_from_args
from eventinfra.kafka.topic import kafka_topic
from eventinfra.kafka.topics import replication, topic_settings
from eventinfra.kafka.user import KafkaAccess, ops_acls, producer_acls
from eventinfra.kubernetes.naming import k8s_slug
from eventinfra.kubernetes.platform import (
    BuiltFromConfig,
    config_of,
    container_workload,
    idempotency_store,
    install_operators,
    platform_labels,
)
from eventinfra.rabbitmq.naming import NAMESPACE_NAME_LABEL


class KafkaPlatform(pulumi.ComponentResource, BuiltFromConfig):
    """One environment's event platform on Kafka in Kubernetes (Strimzi): the cluster, a topic
    per event, a consumer group with a dead-letter topic and a user per consumer, a user per
    producer, the consumers' workloads and Prometheus alerts.

    Python programs also get the child components: `producers` (producer name →
    `KafkaAccess`), `consumers` (→ `KafkaConsumer`), `ops` (the ops commands' `KafkaAccess`),
    `idempotency_store` and `operators`; they
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
    dead_letter_topics: dict[str, str]
    """Each consumer's dead-letter topic, by consumer name."""
    retry_topics: dict[str, str]
    """Each consumer's retry topic (what `eventinfra dlq redrive` writes to), by consumer
    name."""
    ops_group: str
    """The consumer group the ops commands commit their progress through the dead-letter
    topics with."""
    ops_secret: str
    """The Secret with the ops commands' credentials (`eventinfra dlq`): Read on the
    dead-letter topics and the ops group, Write on the retry topics, nothing else."""

    def __init__(
        self, name: str, args: KafkaPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self._build(name, config_of(args, platform_config_from_args), opts)

    def _build(
        self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None
    ) -> None:
        super().__init__("eventinfra:index:KafkaPlatform", name, None, opts)
        settings, topology, prefix = config.settings, config.topology, config.prefix
        kafka = settings.kafka
        labels = platform_labels(config)
        self.cluster_name = naming.cluster_name(prefix)
        self.operators = (
            install_operators(name, defaults.OPERATOR_MANIFESTS, self)
            if kafka.install_operators
            else []
        )
        after: list[pulumi.Resource] = list(self.operators)
        after_operators = pulumi.ResourceOptions(parent=self, depends_on=after)
        child = pulumi.ResourceOptions(parent=self)
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
                f"{name}-topic-{k8s_slug(event)}",
                opts=after_operators,
                object_name=f"{prefix}-{k8s_slug(event)}",
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

        self.idempotency_store = idempotency_store(
            name,
            config,
            namespace=namespace,
            storage_class=kafka.storage_class,
            image=kafka.redis_image,
            labels=labels,
            parent=self,
        )

        self.consumers: dict[str, KafkaConsumer] = {}
        for consumer_name, consumer in topology.consumers.items():
            base = naming.user_name(prefix, consumer_name)
            workload = container_workload(
                config,
                consumer_name,
                object_name=base,
                namespace=namespace,
                store=self.idempotency_store,
                labels=labels,
            )
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
                    "max_receive_count": config.max_receive_count(consumer_name),
                    "container": workload,
                },
                opts=after_operators,
            )
        self.producer_secrets = {n: p.secret_name for n, p in self.producers.items()}
        self.consumer_secrets = {n: c.credentials.secret_name for n, c in self.consumers.items()}
        self.dead_letter_topics = {n: c.dead_letter_topic for n, c in self.consumers.items()}
        self.retry_topics = {n: c.retry_topic for n, c in self.consumers.items()}
        self.ops_group = naming.ops_group()
        self.ops = KafkaAccess(
            f"{name}-ops",
            {
                "namespace": namespace,
                "cluster_name": self.cluster_name,
                "user_name": naming.user_name(prefix, naming.OPS_APPLICATION),
                "tls": kafka.tls,
                "acls": ops_acls(
                    sorted(self.dead_letter_topics.values()),
                    sorted(self.retry_topics.values()),
                    self.ops_group,
                ),
                "labels": labels,
            },
            opts=after_operators,
        )
        self.ops_secret = self.ops.secret_name
        self.register_outputs(
            {
                "namespace": self.namespace,
                "cluster_name": self.cluster_name,
                "bootstrap": self.bootstrap,
                "topics": self.topics,
                "producer_secrets": self.producer_secrets,
                "producer_events": self.producer_events,
                "consumer_secrets": self.consumer_secrets,
                "dead_letter_topics": self.dead_letter_topics,
                "retry_topics": self.retry_topics,
                "ops_group": self.ops_group,
                "ops_secret": self.ops_secret,
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
