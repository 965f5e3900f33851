"""RabbitMQPlatform: a topology on RabbitMQ on Kubernetes, with the AWS backend's guarantees."""

from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.config.loader import PlatformConfig
from eventinfra.kubernetes.alerts import alert_rule, promql_series
from eventinfra.kubernetes.naming import k8s_slug
from eventinfra.kubernetes.platform import (
    BuiltFromConfig,
    config_of,
    container_workload,
    idempotency_store,
    install_operators,
    platform_labels,
)
from eventinfra.rabbitmq import defaults, naming
from eventinfra.rabbitmq.broker import RabbitMQBroker
from eventinfra.rabbitmq.consumer import RabbitMQConsumer
from eventinfra.rabbitmq.event import RabbitMQEvent
from eventinfra.rabbitmq.platform_args import RabbitMQPlatformArgs, platform_config_from_args
from eventinfra.rabbitmq.resources import PROMETHEUS_API_VERSION, custom_resource, topology_object
from eventinfra.rabbitmq.user import RabbitMQUser


class RabbitMQPlatform(pulumi.ComponentResource, BuiltFromConfig):
    """One environment's event platform on RabbitMQ in Kubernetes: the broker, one vhost, an
    exchange per event, a quorum queue with a dead-letter queue per consumer, a user per
    application, the consumers' workloads and Prometheus alerts.

    Python programs also get the child components: `events` (event name → `RabbitMQEvent`),
    `producers` (→ `RabbitMQUser`), `consumers` (→ `RabbitMQConsumer`), `idempotency_store`
    and `operators`; they are not in the package schema.
    """

    namespace: pulumi.Output[str]
    """The Kubernetes namespace of the broker and every object of the platform."""
    vhost: str
    """The platform's RabbitMQ vhost."""
    cluster_name: str
    """The `RabbitmqCluster`'s name."""
    producer_secrets: dict[str, str]
    """The Secret with each producer's credentials (an AMQP `uri`), by producer name."""
    consumer_secrets: dict[str, str]
    """The Secret with each consumer's credentials (an AMQP `uri`), by consumer name."""

    def __init__(
        self, name: str, args: RabbitMQPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self._build(name, config_of(args, platform_config_from_args), opts)

    def _build(
        self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None
    ) -> None:
        super().__init__("eventinfra:index:RabbitMQPlatform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings, topology, prefix = config.settings, config.topology, config.prefix
        rabbitmq = settings.rabbitmq
        labels = platform_labels(config)
        self.vhost = prefix
        self.cluster_name = f"{prefix}-rabbitmq"
        self.operators = (
            install_operators(name, defaults.OPERATOR_MANIFESTS, self)
            if rabbitmq.install_operators
            else []
        )
        after: list[pulumi.Resource] = list(self.operators)
        custom = pulumi.ResourceOptions(parent=self, depends_on=after)

        broker = RabbitMQBroker(
            f"{name}-broker",
            {
                "namespace": rabbitmq.namespace,
                "cluster_name": self.cluster_name,
                "replicas": rabbitmq.replicas,
                "cpu": rabbitmq.cpu,
                "memory": rabbitmq.memory,
                "storage": rabbitmq.storage,
                "storage_class": rabbitmq.storage_class,
                "tls_secret": rabbitmq.tls_secret,
                "image": rabbitmq.image,
                "client_labels": {naming.RABBITMQ_CLIENT_LABEL: "true"},
                "operators_namespace": rabbitmq.operators_namespace,
                "keda_namespace": rabbitmq.keda_namespace,
                "monitoring_namespace": rabbitmq.monitoring_namespace,
                "vhost": self.vhost,
                "labels": labels,
            },
            opts=custom,
        )
        self.namespace = broker.namespace
        namespace = broker.namespace
        # Nothing reaches a pod here unless a NetworkPolicy allows it: the broker's own, the
        # idempotency store's.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata={"name": f"{prefix}-default-deny", "namespace": namespace, "labels": labels},
            spec={"pod_selector": {}, "policy_types": ["Ingress"]},
            opts=child,
        )
        topology_object(
            f"{name}-vhost",
            "Vhost",
            {"name": self.vhost},
            object_name=f"{prefix}-vhost",
            namespace=namespace,
            cluster_name=self.cluster_name,
            labels=labels,
            opts=custom,
        )
        common: dict[str, Any] = {
            "namespace": namespace,
            "cluster_name": self.cluster_name,
            "vhost": self.vhost,
            "labels": labels,
        }
        amqp_scheme = "amqps" if broker.tls else "amqp"
        http_scheme = "https" if broker.tls else "http"
        vhost_path = quote(self.vhost, safe="")

        scaler = RabbitMQUser(
            f"{name}-scaler",
            {
                **common,  # type: ignore[typeddict-item]
                "username": naming.SCALER_USERNAME,
                "secret_name": f"{prefix}-keda-rabbitmq",
                "object_name": f"{prefix}-keda",
                "permissions": {
                    "configure": defaults.NOTHING,
                    "write": defaults.NOTHING,
                    "read": defaults.NOTHING,
                },
                "tags": ["management"],
                "uri_template": (
                    f"{http_scheme}://{{username}}:{{password}}@{broker.host}:"
                    f"{broker.management_port}/{vhost_path}"
                ),
                "uri_key": "host",
            },
            opts=custom,
        )

        self.events = {
            event: RabbitMQEvent(
                f"{name}-event-{k8s_slug(event)}",
                {
                    **common,  # type: ignore[typeddict-item]
                    "event": event,
                    "object_name": f"{prefix}-{k8s_slug(event)}",
                },
                opts=custom,
            )
            for event in topology.events
        }
        amqp_uri = (
            f"{amqp_scheme}://{{username}}:{{password}}@{broker.host}:{broker.amqp_port}/"
            f"{vhost_path}"
        )
        self.producers = {
            producer_name: RabbitMQUser(
                f"{name}-producer-{producer_name}",
                {
                    **common,  # type: ignore[typeddict-item]
                    "username": producer_name,
                    "secret_name": f"{prefix}-{producer_name}-rabbitmq",
                    "object_name": f"{prefix}-{producer_name}",
                    "permissions": {
                        "configure": defaults.NOTHING,
                        "write": naming.anchored(
                            *(naming.event_exchange(e) for e in producer.publishes)
                        ),
                        "read": defaults.NOTHING,
                    },
                    "uri_template": amqp_uri,
                    "extra_data": {
                        "host": broker.host,
                        "port": str(broker.amqp_port),
                        "vhost": self.vhost,
                    },
                },
                opts=custom,
            )
            for producer_name, producer in topology.producers.items()
        }

        self.idempotency_store = idempotency_store(
            name,
            config,
            namespace=namespace,
            storage_class=rabbitmq.storage_class,
            image=rabbitmq.redis_image,
            labels=labels,
            parent=self,
        )

        self.consumers: dict[str, RabbitMQConsumer] = {}
        for consumer_name, consumer in topology.consumers.items():
            base = f"{prefix}-{consumer_name}"
            workload = container_workload(
                config,
                consumer_name,
                object_name=base,
                namespace=namespace,
                store=self.idempotency_store,
                labels={**labels, naming.RABBITMQ_CLIENT_LABEL: "true"},
            )
            if workload is not None:
                workload.update(
                    {
                        "queue": naming.consumer_queue(consumer_name),
                        "host": broker.host,
                        "vhost": self.vhost,
                        "credentials_secret": f"{base}-rabbitmq",
                        "scaler_secret": scaler.secret_name,
                        "tls_secret": rabbitmq.tls_secret,
                    }
                )
            self.consumers[consumer_name] = RabbitMQConsumer(
                f"{name}-consumer-{consumer_name}",
                {
                    "consumer": consumer_name,
                    "object_name": base,
                    "events": [s.event for s in consumer.subscribes],
                    "max_receive_count": config.max_receive_count(consumer_name),
                    "namespace": namespace,
                    "cluster_name": self.cluster_name,
                    "vhost": self.vhost,
                    "host": broker.host,
                    "amqp_port": broker.amqp_port,
                    "tls": broker.tls,
                    "queue_age_alert_seconds": settings.alarms.queue_age_seconds,
                    "scale_to_zero": workload is not None and workload["min_replicas"] == 0,
                    "labels": labels,
                    "container": workload,
                },
                opts=custom,
            )

        custom_resource(
            f"{name}-parking-alerts",
            PROMETHEUS_API_VERSION,
            "PrometheusRule",
            {"groups": [parking_alerts(self.vhost, list(topology.events))]},
            object_name=f"{prefix}-parking-alerts",
            namespace=namespace,
            labels=labels,
            opts=custom,
        )
        self.producer_secrets = {n: p.secret_name for n, p in self.producers.items()}
        self.consumer_secrets = {n: c.credentials.secret_name for n, c in self.consumers.items()}
        self.register_outputs(
            {
                "namespace": self.namespace,
                "vhost": self.vhost,
                "cluster_name": self.cluster_name,
                "producer_secrets": self.producer_secrets,
                "consumer_secrets": self.consumer_secrets,
            }
        )


def parking_alerts(vhost: str, events: list[str]) -> dict[str, Any]:
    """Unroutable messages: an event published with no (matching) consumer is parked."""
    return {
        "name": "eventinfra-unroutable",
        "rules": [
            alert_rule(
                "EventUnroutableMessagesParked",
                promql_series(
                    "rabbitmq_detailed_queue_messages",
                    vhost=vhost,
                    queue=naming.parking_queue(event),
                )
                + " > 0",
                defaults.DEAD_LETTER_ALERT_FOR,
                "warning",
                f"{event} messages reached no consumer and wait in {naming.parking_queue(event)}.",
                labels={"event": event},
            )
            for event in events
        ],
    }
