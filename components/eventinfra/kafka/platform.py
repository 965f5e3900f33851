"""KafkaPlatform: a topology on Kafka on Kubernetes (Strimzi), with the same guarantees."""

import json

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.config.loader import PlatformConfig
from eventinfra.kafka import defaults, naming
from eventinfra.kafka.cluster import KafkaCluster
from eventinfra.kafka.consumer import KafkaConsumer
from eventinfra.kafka.topic import kafka_topic
from eventinfra.kafka.topics import replication, topic_settings
from eventinfra.kafka.user import KafkaAccess, producer_acls
from eventinfra.rabbitmq.container_consumer import ContainerConsumerArgs, consumed_event
from eventinfra.rabbitmq.idempotency import RedisIdempotencyStore

IDEMPOTENCY_CLIENT_LABEL = "eventinfra/idempotency-client"
"""Pod label of the consumers the idempotency store's NetworkPolicy admits."""


class KafkaPlatform(pulumi.ComponentResource):
    """The cluster, a topic per event, a dead-letter topic and user per consumer, alerts."""

    namespace: pulumi.Output[str]
    cluster_name: str
    bootstrap: str
    topics: dict[str, str]
    """Topic name by event name."""
    producers: dict[str, KafkaAccess]
    """Producer credentials (KafkaUser, Secret) by producer name."""
    producer_events: dict[str, str]
    """The runtime's EVENTINFRA_EVENTS (JSON) by producer name: each event's topic."""
    consumers: dict[str, KafkaConsumer]
    idempotency_store: RedisIdempotencyStore | None
    operators: list[k8s.yaml.v2.ConfigFile]
    """The operators' release manifests, when the settings say eventinfra installs them."""

    def __init__(
        self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None
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
                "depends_on": after,
            },
            opts=child,
        )
        self.namespace = cluster.namespace
        self.bootstrap = cluster.bootstrap
        namespace = cluster.namespace

        self.topics = {}
        for event in topology.events:
            topic = topic_settings(kafka, event)
            self.topics[event] = naming.event_topic(event)
            kafka_topic(
                f"{name}-topic-{naming.k8s_slug(event)}",
                parent=self,
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
                depends_on=after,
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
                    "depends_on": after,
                },
                opts=child,
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
                    "labels": labels,
                    "client_labels": {IDEMPOTENCY_CLIENT_LABEL: "true"},
                },
                opts=child,
            )
            if idempotent
            else None
        )

        self.consumers = {}
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
                    "depends_on": after,
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
                    "depends_on": after,
                },
                opts=child,
            )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "cluster_name": self.cluster_name,
                "bootstrap": self.bootstrap,
                "topics": self.topics,
                "producer_secrets": {n: p.secret_name for n, p in self.producers.items()},
                "producer_events": self.producer_events,
                "consumer_secrets": {
                    n: c.credentials.secret_name for n, c in self.consumers.items()
                },
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
