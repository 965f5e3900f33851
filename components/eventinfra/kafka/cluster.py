"""KafkaCluster: a KRaft Kafka cluster (Strimzi) with node pools, a TLS listener and simple ACLs."""

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.contract import raise_for
from eventinfra.kafka import defaults, naming
from eventinfra.kafka import validation as rules
from eventinfra.ordering import after_caller


class KafkaClusterArgs(TypedDict):
    """The cluster's size, replication, storage and listener."""

    namespace: str
    """Namespace created for the cluster, its topics, users and the consumers."""
    cluster_name: str
    """metadata.name of the Kafka resource (and the prefix of Strimzi's Services)."""
    replicas: int
    """Brokers: 3 or more in production (replication 3, `min.insync.replicas` 2)."""
    replication_factor: int
    """Replicas of every partition, the internal topics' included."""
    min_insync_replicas: int
    """Replicas that must acknowledge a write (`acks=all`) for it to succeed."""
    cpu: str
    """CPU request of each broker (`1`, `500m`), equal to the limit."""
    memory: str
    """Memory request of each broker (`4Gi`), equal to the limit (Guaranteed QoS)."""
    storage: str
    """Size of each broker's persistent volume (`100Gi`)."""
    storage_class: NotRequired[str | None]
    """Storage class of the volumes; none: the cluster's default."""
    tls: bool
    """TLS listener with client certificates; False: plain listener with SCRAM-SHA-512."""
    rack_topology_key: NotRequired[str | None]
    """Node label whose values are racks (`topology.kubernetes.io/zone`): replicas spread
    across them; none: no rack awareness."""
    labels: NotRequired[dict[str, str]]
    """Labels of every object."""


class KafkaCluster(pulumi.ComponentResource):
    """The namespace, the Kafka resource and its two KafkaNodePools (controllers, brokers).

    KRaft only (Strimzi 1.x has no ZooKeeper): three dedicated controllers form the metadata
    quorum; brokers hold the data on persistent volumes. One listener, TLS with client
    certificates by default; `authorization: simple`, so a principal may do only what its
    KafkaUser's ACLs say. The Topic and User Operators run in the entity operator, and the Kafka
    Exporter exports consumer-group lag and topic offsets for the alerts.
    """

    namespace: pulumi.Output[str]
    """The namespace, known once it exists: depend on it to create objects inside."""
    cluster_name: str
    """metadata.name of the Kafka resource."""
    bootstrap: str
    """`host:port` of the bootstrap Service, for clients inside the cluster."""
    tls: bool
    """Whether clients connect with TLS and client certificates (else SCRAM-SHA-512)."""
    cluster_ca_secret: str
    """Strimzi's Secret with the cluster CA certificate (`ca.crt`) clients must trust."""

    def __init__(
        self, name: str, args: KafkaClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Validated before the component registers: a mistake in the args declares nothing.
        raise_for(
            "KafkaCluster",
            name,
            rules.cluster_settings_problems(
                cpu=args["cpu"],
                memory=args["memory"],
                storage=args["storage"],
                storage_class=args.get("storage_class"),
                rack_topology_key=args.get("rack_topology_key"),
            ),
        )
        super().__init__("eventinfra:index:KafkaCluster", name, None, opts)
        # Everything here waits for what the cluster waits for (the operators' manifests).
        child = after_caller(opts, self)
        labels = args.get("labels", {})
        self.cluster_name = args["cluster_name"]
        self.tls = args["tls"]
        port = defaults.TLS_PORT if self.tls else defaults.PLAIN_PORT
        self.bootstrap = f"{naming.bootstrap_host(self.cluster_name, args['namespace'])}:{port}"
        self.cluster_ca_secret = self.cluster_name + defaults.CLUSTER_CA_SUFFIX

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": args["namespace"], "labels": labels}, opts=child
        )
        self.namespace = namespace.metadata.name
        # Node pools belong to a cluster through this label.
        pool_labels = {**labels, "strimzi.io/cluster": self.cluster_name}

        def volume(size: str) -> dict[str, Any]:
            storage: dict[str, Any] = {
                "type": "persistent-claim",
                "size": size,
                "deleteClaim": False,
                "kraftMetadata": "shared",
            }
            if args.get("storage_class"):
                storage["class"] = args.get("storage_class")
            return {"type": "jbod", "volumes": [{"id": 0, **storage}]}

        def resources(cpu: str, memory: str) -> dict[str, Any]:
            return {
                "requests": {"cpu": cpu, "memory": memory},
                "limits": {"cpu": cpu, "memory": memory},
            }

        pools = [
            k8s.apiextensions.CustomResource(
                f"{name}-{role}",
                api_version=defaults.API_VERSION,
                kind="KafkaNodePool",
                metadata={
                    "name": role,
                    "namespace": self.namespace,
                    "labels": pool_labels,
                },
                spec={
                    "replicas": replicas,
                    "roles": [pool_role],
                    "storage": volume(size),
                    "resources": resources(cpu, memory),
                },
                opts=child,
            )
            for role, pool_role, replicas, size, cpu, memory in (
                (
                    "controllers",
                    "controller",
                    defaults.CONTROLLER_REPLICAS if args["replicas"] > 1 else 1,
                    defaults.CONTROLLER_STORAGE,
                    defaults.CONTROLLER_CPU,
                    defaults.CONTROLLER_MEMORY,
                ),
                (
                    "brokers",
                    "broker",
                    args["replicas"],
                    args["storage"],
                    args["cpu"],
                    args["memory"],
                ),
            )
        ]
        listener: dict[str, Any] = {
            "name": "tls" if self.tls else "plain",
            "port": port,
            "type": "internal",
            "tls": self.tls,
            "authentication": {"type": "tls" if self.tls else "scram-sha-512"},
        }
        replication = args["replication_factor"]
        kafka: dict[str, Any] = {
            "listeners": [listener],
            "authorization": {"type": "simple"},
            "config": {
                "default.replication.factor": replication,
                "min.insync.replicas": args["min_insync_replicas"],
                "offsets.topic.replication.factor": replication,
                "transaction.state.log.replication.factor": replication,
                "transaction.state.log.min.isr": args["min_insync_replicas"],
                "auto.create.topics.enable": defaults.AUTO_CREATE_TOPICS,
                "unclean.leader.election.enable": defaults.UNCLEAN_LEADER_ELECTION,
                "offsets.retention.minutes": defaults.OFFSETS_RETENTION_MINUTES,
            },
        }
        if args.get("rack_topology_key"):
            kafka["rack"] = {"type": "topology-label", "topologyKey": args.get("rack_topology_key")}
        k8s.apiextensions.CustomResource(
            f"{name}-kafka",
            api_version=defaults.API_VERSION,
            kind="Kafka",
            metadata={"name": self.cluster_name, "namespace": self.namespace, "labels": labels},
            spec={
                "kafka": kafka,
                "entityOperator": {"topicOperator": {}, "userOperator": {}},
                "kafkaExporter": {
                    "groupRegex": defaults.EXPORTER_GROUP_REGEX,
                    "topicRegex": defaults.EXPORTER_TOPIC_REGEX,
                },
            },
            opts=after_caller(opts, self, depends_on=pools),
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "cluster_name": self.cluster_name,
                "bootstrap": self.bootstrap,
            }
        )
