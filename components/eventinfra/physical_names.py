"""One registry of every physical name a plan creates: a second claim on a name is an error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from eventinfra.aws import naming as aws_naming
from eventinfra.aws import validation as aws_rules
from eventinfra.contract import Finding
from eventinfra.kafka import naming as kafka_naming
from eventinfra.keypaths import KeyPath, format_key_path
from eventinfra.kubernetes.naming import k8s_slug
from eventinfra.rabbitmq import naming as rabbitmq_naming

if TYPE_CHECKING:
    from eventinfra.config.loader import PlatformConfig

# RabbitMQ refuses to declare exchanges and queues starting `amq.` (AMQP 0-9-1 reserves it), and
# a broker's default user must never be an application's.
RABBITMQ_RESERVED_PREFIX: Final = "amq."
RABBITMQ_DEFAULT_USERS: Final = frozenset({"guest"})
# Kubernetes: object names are DNS-1123 subdomains (253); Services are DNS-1035 labels (63);
# label values at most 63 characters.
DNS1123_SUBDOMAIN: Final = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
DNS1035_LABEL: Final = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE: Final = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
K8S_NAME_MAX: Final = 253
K8S_LABEL_MAX: Final = 63


@dataclass(frozen=True)
class Claim:
    owner: KeyPath
    """Where the name comes from in the topology; () for names eventinfra uses itself."""
    role: str


@dataclass
class NameRegistry:
    """Physical names by kind (`SQS queue`, `Kubernetes object`, …) and who claimed them."""

    claims: dict[tuple[str, str], Claim] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def claim(self, kind: str, name: str, owner: KeyPath, role: str) -> None:
        existing = self.claims.get((kind, name))
        if existing is None:
            self.claims[(kind, name)] = Claim(owner, role)
            return
        if existing.owner == owner:
            return  # one owner may use a name for several kinds of object
        where = format_key_path(existing.owner) if existing.owner else "eventinfra itself"
        self.findings.append(
            Finding(
                owner,
                f"gives the {kind} name {name!r} ({role}), which is already {existing.role} "
                f"(from {where}); expected names that give distinct physical names.",
            )
        )

    def reserve(self, kind: str, name: str, role: str) -> None:
        self.claim(kind, name, (), role)


def aws_name_problems(config: PlatformConfig) -> list[Finding]:
    """Every SNS topic, SQS queue, table and function of an `sns-sqs` plan, claimed once."""
    prefix, topology = config.prefix, config.topology
    names = NameRegistry()
    names.reserve("SNS topic", f"{prefix}-eventinfra-alerts", "the platform's alerts topic")
    for event_name, event in topology.events.items():
        owner: KeyPath = ("events", event_name)
        topic = aws_naming.topic_name(prefix, event_name, event.fifo)
        names.claim("SNS topic", topic, owner, f"the topic of event {event_name!r}")
    for event_name in config.unconsumed_events():
        fifo = topology.events[event_name].fifo
        queue = aws_naming.parking_queue_name(prefix, event_name, fifo)
        names.claim(
            "SQS queue", queue, ("events", event_name), f"the parking queue of event {event_name!r}"
        )
    for name, consumer in topology.consumers.items():
        owner = ("consumers", name)
        fifo = (
            config.consumer_fifo(name) if consumer.subscribes[0].event in topology.events else False
        )
        names.claim(
            "SQS queue",
            aws_naming.queue_name(prefix, name, fifo),
            owner,
            f"the queue of consumer {name!r}",
        )
        names.claim(
            "SQS queue",
            aws_naming.dead_letter_queue_name(prefix, name, fifo),
            owner,
            f"the dead-letter queue of consumer {name!r}",
        )
        if consumer.idempotency.enabled:
            names.claim(
                "DynamoDB table",
                f"{prefix}-{name}-idempotency",
                owner,
                f"the idempotency table of consumer {name!r}",
            )
        if consumer.runtime == "lambda":
            names.claim(
                "Lambda function",
                aws_naming.function_name(prefix, name),
                owner,
                f"the function of consumer {name!r}",
            )
            names.findings += [
                Finding(owner, f.message) for f in aws_rules.role_name_problems(f"{name}-role")
            ]
    return names.findings


def _k8s_object(
    names: NameRegistry, name: str, owner: KeyPath, role: str, *, check: bool = True
) -> None:
    names.claim("Kubernetes object", name, owner, role)
    if check and (len(name) > K8S_NAME_MAX or not DNS1123_SUBDOMAIN.fullmatch(name)):
        names.findings.append(
            Finding(
                owner,
                f"gives the Kubernetes object name {name!r} ({role}); expected a DNS-1123 "
                f"subdomain of at most {K8S_NAME_MAX} lowercase letters, digits, '-' and '.'.",
            )
        )


def _k8s_label(names: NameRegistry, value: str, owner: KeyPath, role: str) -> None:
    if len(value) > K8S_LABEL_MAX or not LABEL_VALUE.fullmatch(value):
        names.findings.append(
            Finding(
                owner,
                f"gives the Kubernetes label value {value!r} ({role}, {len(value)} characters); "
                f"expected at most {K8S_LABEL_MAX} letters, digits, '-', '_' and '.', beginning "
                "and ending with a letter or digit.",
            )
        )


def _service(names: NameRegistry, name: str, owner: KeyPath, role: str) -> None:
    if len(name) > K8S_LABEL_MAX or not DNS1035_LABEL.fullmatch(name):
        names.findings.append(
            Finding(
                owner,
                f"gives the Kubernetes Service name {name!r} ({role}); expected a DNS-1035 label: "
                f"at most {K8S_LABEL_MAX} lowercase letters, digits and '-', starting with a "
                "letter.",
            )
        )


def rabbitmq_prefix_problems(prefix: str, stack: str) -> list[Finding]:
    """The prefix (or stack name) in the broker's and the store's Service names, the broker's
    pod hostnames and the environment label (keys relative to where the prefix is set)."""
    names = NameRegistry()
    cluster = f"{prefix}-rabbitmq"
    _service(names, cluster, (), "the broker's Service")
    _service(names, f"{prefix}-idempotency", (), "the idempotency store's Service")
    # The operator names the broker's pods `<cluster>-server-<n>`; the pod name is a hostname.
    _k8s_label(names, f"{cluster}-server-10", (), "a broker pod's hostname")
    _k8s_label(names, stack, (), "the environment label (the stack name)")
    return names.findings


def rabbitmq_name_problems(config: PlatformConfig) -> list[Finding]:
    """Every exchange, queue and user on the broker and every Kubernetes object of a
    `rabbitmq` plan, claimed once; the broker's and KEDA's own names reserved."""
    prefix, topology = config.prefix, config.topology
    names = NameRegistry()
    # A prefix that is no DNS label is reported once, where it is set; not for every object.
    check = DNS1123_SUBDOMAIN.fullmatch(prefix) is not None
    cluster = f"{prefix}-rabbitmq"
    for role, name in (
        ("the RabbitmqCluster and its Service", cluster),
        ("the broker's PodDisruptionBudget", f"{cluster}-server"),
        ("the broker's StatefulSet", f"{cluster}-server"),
        ("the broker's headless Service", f"{cluster}-nodes"),
        ("the broker's default-user Secret", f"{cluster}-default-user"),
        ("the broker's Erlang cookie Secret", f"{cluster}-erlang-cookie"),
        ("the broker's plugins ConfigMap", f"{cluster}-plugins-conf"),
        ("the broker's configuration ConfigMap", f"{cluster}-server-conf"),
        ("the vhost object", f"{prefix}-vhost"),
        ("KEDA's RabbitMQ user object", f"{prefix}-keda"),
        ("KEDA's credentials Secret", f"{prefix}-keda-rabbitmq"),
        ("the idempotency store", f"{prefix}-idempotency"),
        ("the idempotency store's ACL Secret", f"{prefix}-idempotency-acl"),
        ("the parking alerts rule", f"{prefix}-parking-alerts"),
        ("the namespace's default-deny NetworkPolicy", f"{prefix}-default-deny"),
        ("the broker's NetworkPolicy", f"{cluster}-ingress"),
    ):
        names.reserve("Kubernetes object", name, role)
    names.reserve("RabbitMQ user", rabbitmq_naming.SCALER_USERNAME, "the user KEDA reads with")
    for user in sorted(RABBITMQ_DEFAULT_USERS):
        names.reserve("RabbitMQ user", user, "the broker's default user")

    def exchange(name: str, owner: KeyPath, role: str) -> None:
        names.claim("RabbitMQ exchange", name, owner, role)
        _reserved_prefix(names, name, owner, role)

    def queue(name: str, owner: KeyPath, role: str) -> None:
        names.claim("RabbitMQ queue", name, owner, role)
        _reserved_prefix(names, name, owner, role)

    for event in topology.events:
        owner: KeyPath = ("events", event)
        base = f"{prefix}-{k8s_slug(event)}"
        exchange(rabbitmq_naming.event_exchange(event), owner, f"the exchange of event {event!r}")
        exchange(
            rabbitmq_naming.unroutable_exchange(event),
            owner,
            f"the unroutable-message exchange of event {event!r}",
        )
        queue(rabbitmq_naming.parking_queue(event), owner, f"the parking queue of event {event!r}")
        for role in ("exchange", "unroutable", "parking", "parking-binding", "policy"):
            _k8s_object(
                names, f"{base}-{role}", owner, f"the {role} object of event {event!r}", check=check
            )
    for producer in topology.producers:
        owner = ("producers", producer)
        names.claim("RabbitMQ user", producer, owner, f"the user of producer {producer!r}")
        for name, role in (
            (f"{prefix}-{producer}", "User"),
            (f"{prefix}-{producer}-rabbitmq", "credentials Secret"),
        ):
            _k8s_object(
                names, name, owner, f"the {role} object of producer {producer!r}", check=check
            )
    for consumer_name, consumer in topology.consumers.items():
        owner = ("consumers", consumer_name)
        base = f"{prefix}-{consumer_name}"
        names.claim(
            "RabbitMQ user", consumer_name, owner, f"the user of consumer {consumer_name!r}"
        )
        queue(
            rabbitmq_naming.consumer_queue(consumer_name),
            owner,
            f"the queue of consumer {consumer_name!r}",
        )
        queue(
            rabbitmq_naming.dead_letter_queue(consumer_name),
            owner,
            f"the dead-letter queue of consumer {consumer_name!r}",
        )
        exchange(
            rabbitmq_naming.dead_letter_exchange(consumer_name),
            owner,
            f"the dead-letter exchange of consumer {consumer_name!r}",
        )
        objects = [
            (base, "User and Deployment"),
            (f"{base}-rabbitmq", "credentials Secret"),
            (f"{base}-alerts", "alerts rule"),
            (f"{base}-idempotency", "idempotency Secret"),
        ]
        objects += [
            (f"{base}-{role}", role)
            for role in (
                "queue",
                "dead-letter-queue",
                "dead-letter-exchange",
                "dead-letter-binding",
                "policy",
            )
        ]
        objects += [
            (f"{base}-binding-{k8s_slug(s.event)}", f"{s.event} binding")
            for s in consumer.subscribes
        ]
        for name, role in objects:
            _k8s_object(
                names,
                name,
                owner,
                f"the {role} object of consumer {consumer_name!r}",
                check=check,
            )
        if consumer.runtime == "container":
            _k8s_label(names, base, owner, f"the app label of consumer {consumer_name!r}")
    return names.findings


def _reserved_prefix(names: NameRegistry, name: str, owner: KeyPath, role: str) -> None:
    if name.startswith(RABBITMQ_RESERVED_PREFIX):
        names.findings.append(
            Finding(
                owner,
                f"gives the name {name!r} ({role}), but RabbitMQ reserves names starting "
                f"{RABBITMQ_RESERVED_PREFIX!r} for itself; expected another name.",
            )
        )


# Strimzi names the cluster's own objects after it: Services `<cluster>-kafka-bootstrap` and
# `-kafka-brokers`, Secrets `<cluster>-cluster-ca-cert`, `-clients-ca`, `-entity-*-certs`, the
# entity operator's and exporter's Deployments, pod sets `<cluster>-<pool>`. An application's
# object (a KafkaUser's Secret, above all) must not take one of them.
_STRIMZI_OWNED = "names Strimzi gives the cluster's own objects (its Services, its CA Secrets)"


def kafka_prefix_problems(prefix: str, stack: str) -> list[Finding]:
    """The prefix (or stack name) in Strimzi's longest Service name (as long as its longest pod
    hostname, `<cluster>-controllers-<3-digit id>`), the store's Service and the environment
    label (keys relative to where the prefix is set)."""
    names = NameRegistry()
    cluster = kafka_naming.cluster_name(prefix)
    _service(names, f"{cluster}-kafka-bootstrap", (), "the cluster's bootstrap Service")
    _service(names, f"{prefix}-idempotency", (), "the idempotency store's Service")
    _k8s_label(names, stack, (), "the environment label (the stack name)")
    return names.findings


def kafka_name_problems(config: PlatformConfig) -> list[Finding]:
    """Every Kubernetes object of a `kafka` plan claimed once, Strimzi's names and the
    platform's own reserved (keys relative to the topology)."""
    prefix, topology = config.prefix, config.topology
    names = NameRegistry()
    check = DNS1123_SUBDOMAIN.fullmatch(prefix) is not None
    cluster = kafka_naming.cluster_name(prefix)
    for role, name in (
        ("the Kafka cluster", cluster),
        ("the idempotency store", f"{prefix}-idempotency"),
        ("the idempotency store's ACL Secret", f"{prefix}-idempotency-acl"),
        ("the namespace's default-deny NetworkPolicy", f"{prefix}-default-deny"),
        ("the NetworkPolicy admitting Prometheus", f"{prefix}-monitoring-ingress"),
    ):
        names.reserve("Kubernetes object", name, role)

    def k8s(name: str, owner: KeyPath, role: str) -> None:
        _k8s_object(names, name, owner, role, check=check)
        if name.startswith(f"{cluster}-"):
            names.findings.append(
                Finding(
                    owner,
                    f"gives the Kubernetes object name {name!r} ({role}), but names starting "
                    f"{cluster + '-'!r} are the {_STRIMZI_OWNED}; expected another name.",
                )
            )

    for event in topology.events:
        k8s(
            f"{prefix}-{k8s_slug(event)}",
            ("events", event),
            f"the KafkaTopic object of event {event!r}",
        )
    for producer in topology.producers:
        k8s(
            kafka_naming.user_name(prefix, producer),
            ("producers", producer),
            f"the KafkaUser of producer {producer!r} and its Secret",
        )
    for consumer_name, consumer in topology.consumers.items():
        owner: KeyPath = ("consumers", consumer_name)
        base = kafka_naming.user_name(prefix, consumer_name)
        objects = [
            (base, "KafkaUser and Secret"),
            (f"{base}-dead-letter", "dead-letter KafkaTopic"),
            (f"{base}-alerts", "alerts rule"),
        ]
        if consumer.runtime == "container":
            objects += [
                (f"{base}-schemas", "schemas ConfigMap"),
                (f"{base}-kafka", "KEDA TriggerAuthentication"),
            ]
            if consumer.idempotency.enabled:
                objects.append((f"{base}-idempotency", "idempotency Secret"))
            _k8s_label(names, base, owner, f"the app label of consumer {consumer_name!r}")
        for name, role in objects:
            k8s(name, owner, f"the {role} object of consumer {consumer_name!r}")
    return names.findings
