"""RabbitMQBroker: a highly available RabbitmqCluster in its namespace, scraped by Prometheus."""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.contract import raise_for, under, whole_numbers
from eventinfra.ordering import after_caller
from eventinfra.rabbitmq import defaults, naming
from eventinfra.rabbitmq import validation as rules
from eventinfra.rabbitmq.resources import (
    PROMETHEUS_API_VERSION,
    RABBITMQ_API_VERSION,
    custom_resource,
)


class RabbitMQBrokerArgs(TypedDict):
    """The broker's size, storage, TLS and who may reach it."""

    namespace: str
    """Namespace created for the broker, its topology objects and the consumers."""
    cluster_name: str
    """metadata.name of the RabbitmqCluster (also its Service's name)."""
    replicas: int
    """Odd, 3 or more in production: quorum queues need a majority of nodes."""
    cpu: str
    """CPU request of each node (`1`, `500m`), equal to the limit."""
    memory: str
    """Memory request of each node (`2Gi`), equal to the limit (Guaranteed QoS: the broker is
    never evicted first)."""
    storage: str
    """Size of each node's persistent volume (`10Gi`)."""
    storage_class: NotRequired[str | None]
    """Storage class of the volumes; none: the cluster's default."""
    tls_secret: NotRequired[str | None]
    """A kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt): TLS only, no plain listeners."""
    vhost: pulumi.Input[str]
    """The vhost whose queues are scraped per queue (the `/metrics/detailed` endpoint)."""
    client_labels: NotRequired[dict[str, str]]
    """Pod labels (any namespace) that may open AMQP connections; without it, no NetworkPolicy."""
    operators_namespace: NotRequired[str]
    """Where the RabbitMQ operators run (they call the management API); default
    `rabbitmq-system`."""
    keda_namespace: NotRequired[str]
    """Where KEDA runs (it reads queue lengths from the management API); default `keda`."""
    monitoring_namespace: NotRequired[str]
    """Where Prometheus runs (it scrapes the metrics port); default `monitoring`."""
    image: NotRequired[str]
    """The broker image (default `defaults.RABBITMQ_IMAGE`); pin it by digest in production."""
    labels: NotRequired[dict[str, str]]
    """Labels of every object."""


class RabbitMQBroker(pulumi.ComponentResource):
    """The RabbitMQ cluster (Cluster Operator), its PodDisruptionBudget and ServiceMonitor."""

    namespace: pulumi.Output[str]
    """The namespace, known once it exists: depend on it to create objects inside."""
    cluster_name: str
    """metadata.name of the RabbitmqCluster."""
    host: str
    """The in-cluster DNS name of the broker's client Service."""
    amqp_port: int
    """The AMQP port clients connect to (5671 with TLS, else 5672)."""
    management_port: int
    """The management API's port (15671 with TLS, else 15672)."""
    tls: bool
    """Whether the broker listens with TLS only."""

    def __init__(
        self, name: str, args: RabbitMQBrokerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = whole_numbers(args, RabbitMQBrokerArgs)
        image = args.get("image", defaults.RABBITMQ_IMAGE)
        raise_for(
            "RabbitMQBroker",
            name,
            [
                *under(("image",), rules.image_problems(image)),
                *under(("cpu",), rules.cpu_problems(args["cpu"])),
                *under(("memory",), rules.memory_problems(args["memory"])),
                *under(
                    ("storage",),
                    rules.memory_problems(
                        args["storage"], minimum=defaults.MIN_STORAGE_BYTES, what="volume size"
                    ),
                ),
            ],
        )
        super().__init__("eventinfra:index:RabbitMQBroker", name, None, opts)
        # Everything here waits for what the broker waits for (the operators' manifests).
        child = after_caller(opts, self)
        labels = args.get("labels", {})
        self.cluster_name = args["cluster_name"]
        tls_secret = args.get("tls_secret")
        self.tls = tls_secret is not None
        self.amqp_port = defaults.AMQPS_PORT if self.tls else defaults.AMQP_PORT
        self.management_port = (
            defaults.MANAGEMENT_TLS_PORT if self.tls else defaults.MANAGEMENT_PORT
        )
        self.host = f"{self.cluster_name}.{args['namespace']}.svc"

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": args["namespace"], "labels": labels}, opts=child
        )
        self.namespace = namespace.metadata.name
        resources = {"cpu": args["cpu"], "memory": args["memory"]}
        persistence: dict[str, str] = {"storage": args["storage"]}
        if args.get("storage_class"):
            persistence["storageClassName"] = str(args.get("storage_class"))
        spec: dict[str, object] = {
            "replicas": args["replicas"],
            "image": image,
            "resources": {"requests": resources, "limits": dict(resources)},
            "persistence": persistence,
            "rabbitmq": {
                "additionalPlugins": list(defaults.RABBITMQ_PLUGINS),
                "additionalConfig": (
                    f"cluster_partition_handling = {defaults.CLUSTER_PARTITION_HANDLING}\n"
                ),
            },
        }
        if tls_secret is not None:
            spec["tls"] = {"secretName": tls_secret, "disableNonTLSListeners": True}
        custom_resource(
            f"{name}-cluster",
            RABBITMQ_API_VERSION,
            "RabbitmqCluster",
            spec,
            object_name=self.cluster_name,
            namespace=self.namespace,
            labels=labels,
            opts=child,
        )
        # The Cluster Operator labels the broker's pods and Services with these.
        pod_selector = {"app.kubernetes.io/name": self.cluster_name}
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata={
                "name": f"{self.cluster_name}-server",
                "namespace": self.namespace,
                "labels": labels,
            },
            spec={"max_unavailable": 1, "selector": {"match_labels": pod_selector}},
            opts=child,
        )
        if "client_labels" in args:
            self._network_policy(name, args, pod_selector, labels, child)
        endpoint: dict[str, object] = {
            "port": "prometheus-tls" if self.tls else "prometheus",
            "scheme": "https" if self.tls else "http",
            "interval": defaults.SCRAPE_INTERVAL,
        }
        if tls_secret is not None:
            endpoint["tlsConfig"] = {
                "ca": {"secret": {"name": tls_secret, "key": "ca.crt"}},
                "serverName": self.host,
            }
        # Per-queue series (ready, unacked, consumers) come from /metrics/detailed only; the
        # default /metrics endpoint aggregates them per node.
        detailed = {
            **endpoint,
            "path": "/metrics/detailed",
            "params": {
                "family": ["queue_coarse_metrics", "queue_consumer_count"],
                "vhost": [args["vhost"]],
            },
        }
        custom_resource(
            f"{name}-service-monitor",
            PROMETHEUS_API_VERSION,
            "ServiceMonitor",
            {
                "selector": {
                    "matchLabels": {**pod_selector, "app.kubernetes.io/component": "rabbitmq"}
                },
                "namespaceSelector": {"matchNames": [self.namespace]},
                "endpoints": [endpoint, detailed],
            },
            object_name=self.cluster_name,
            namespace=self.namespace,
            labels=labels,
            opts=child,
        )
        self.register_outputs({"namespace": self.namespace, "cluster_name": self.cluster_name})

    def _network_policy(
        self,
        name: str,
        args: RabbitMQBrokerArgs,
        pod_selector: dict[str, str],
        labels: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> None:
        """Who may reach the broker's pods (the operator's): the namespace denies the rest."""

        def from_namespace(key: str, default: str) -> dict[str, object]:
            namespace = str(args.get(key, default))
            return {
                "namespace_selector": {"match_labels": {naming.NAMESPACE_NAME_LABEL: namespace}}
            }

        def tcp(*ports: int) -> list[dict[str, object]]:
            return [{"protocol": "TCP", "port": port} for port in ports]

        metrics_port = defaults.PROMETHEUS_TLS_PORT if self.tls else defaults.PROMETHEUS_PORT
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata={
                "name": f"{self.cluster_name}-ingress",
                "namespace": self.namespace,
                "labels": labels,
            },
            spec={
                "pod_selector": {"match_labels": pod_selector},
                "policy_types": ["Ingress"],
                "ingress": [
                    # Clients: consumers here, producers anywhere, when their pods carry the label.
                    {
                        "from_": [
                            {
                                "namespace_selector": {},
                                "pod_selector": {"match_labels": args.get("client_labels", {})},
                            }
                        ],
                        "ports": tcp(self.amqp_port),
                    },
                    # Clustering (epmd, inter-node, CLI tools) among the broker's own pods.
                    {"from_": [{"pod_selector": {"match_labels": pod_selector}}]},
                    # The operators reconcile users, queues and policies through the management
                    # API; KEDA reads queue lengths from it.
                    {
                        "from_": [
                            from_namespace("operators_namespace", defaults.OPERATORS_NAMESPACE),
                            from_namespace("keda_namespace", defaults.KEDA_NAMESPACE),
                        ],
                        "ports": tcp(self.management_port),
                    },
                    {
                        "from_": [
                            from_namespace("monitoring_namespace", defaults.MONITORING_NAMESPACE)
                        ],
                        "ports": tcp(metrics_port),
                    },
                ],
            },
            opts=child,
        )
