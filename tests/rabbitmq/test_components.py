"""The rabbitmq backend declares exactly its Kubernetes objects, valid for their schemas."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from eventinfra import (
    ConfigError,
    RabbitMQBroker,
    RabbitMQPlatform,
    load_platform_config,
)
from eventinfra.check.synth import Synthesis, record, synthesize
from eventinfra.config.loader import PlatformConfig
from eventinfra.graph import RecordedResource
from tests.support import REPOSITORY

STACK_FILE = REPOSITORY / "stacks" / "Pulumi.k8s.yaml"
QUEUE = "kubernetes:rabbitmq.com/v1beta1:Queue"
EXCHANGE = "kubernetes:rabbitmq.com/v1beta1:Exchange"
BINDING = "kubernetes:rabbitmq.com/v1beta1:Binding"
POLICY = "kubernetes:rabbitmq.com/v1beta1:Policy"
USER = "kubernetes:rabbitmq.com/v1beta1:User"
PERMISSION = "kubernetes:rabbitmq.com/v1beta1:Permission"
SECRET = "kubernetes:core/v1:Secret"
CLUSTER_REFERENCE = {"name": "k8s-rabbitmq", "namespace": "events"}


def settings(**overrides: Any) -> dict[str, Any]:
    data = yaml.safe_load(STACK_FILE.read_text(encoding="utf-8"))["config"]["eventinfra:settings"]
    data.update(overrides)
    return dict(data)


def platform_config(**overrides: Any) -> PlatformConfig:
    return load_platform_config(settings(**overrides), stack="k8s", project_dir=REPOSITORY)


def build_platform(config: PlatformConfig | None = None) -> Synthesis:
    chosen = config or platform_config()
    return record(lambda: RabbitMQPlatform.from_config("events", chosen))


@pytest.fixture(scope="module")
def graph() -> Synthesis:
    return build_platform()


def by_name(graph: Synthesis, name: str) -> RecordedResource:
    return graph.named(name)


def children(graph: Synthesis, name: str) -> list[tuple[str, str]]:
    parent = by_name(graph, name)
    return sorted((r.type, r.name) for r in graph.children(parent.urn))


def spec(graph: Synthesis, name: str) -> dict[str, Any]:
    value: dict[str, Any] = by_name(graph, name).inputs["spec"]
    return value


# --- the component tree ------------------------------------------------------------------------


def test_the_platform_has_one_broker_vhost_event_producer_and_consumer_component_each(
    graph: Synthesis,
) -> None:
    assert children(graph, "events") == sorted(
        [
            ("eventinfra:index:RabbitMQBroker", "events-broker"),
            ("kubernetes:rabbitmq.com/v1beta1:Vhost", "events-vhost"),
            ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "events-default-deny"),
            ("eventinfra:index:RabbitMQUser", "events-scaler"),
            ("eventinfra:index:RabbitMQEvent", "events-event-user-signup"),
            ("eventinfra:index:RabbitMQEvent", "events-event-order-placed"),
            ("eventinfra:index:RabbitMQEvent", "events-event-invoice-paid"),
            ("eventinfra:index:RabbitMQUser", "events-producer-accounts-api"),
            ("eventinfra:index:RabbitMQUser", "events-producer-checkout-api"),
            ("eventinfra:index:RabbitMQUser", "events-producer-billing"),
            ("eventinfra:index:RedisIdempotencyStore", "events-idempotency"),
            ("eventinfra:index:RabbitMQConsumer", "events-consumer-mailer"),
            ("eventinfra:index:RabbitMQConsumer", "events-consumer-analytics"),
            ("eventinfra:index:RabbitMQConsumer", "events-consumer-fulfilment"),
            ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "events-parking-alerts"),
        ]
    )
    assert spec(graph, "events-vhost") == {
        "name": "k8s",
        "rabbitmqClusterReference": CLUSTER_REFERENCE,
    }


def test_every_component_uses_the_eventinfra_type_token_and_derives_child_names(
    graph: Synthesis,
) -> None:
    components = [r for r in graph.resources if not r.custom]
    assert components
    for component in components:
        assert component.type.startswith("eventinfra:index:"), component.type
        for child in graph.children(component.urn):
            assert child.name.startswith(f"{component.name}-"), (component.name, child.name)


# --- broker ------------------------------------------------------------------------------------


def test_the_broker_is_an_ha_cluster_with_guaranteed_resources_tls_and_a_pdb(
    graph: Synthesis,
) -> None:
    assert children(graph, "events-broker") == [
        ("kubernetes:core/v1:Namespace", "events-broker-namespace"),
        ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "events-broker-service-monitor"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "events-broker-network-policy"),
        ("kubernetes:policy/v1:PodDisruptionBudget", "events-broker-pdb"),
        ("kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster", "events-broker-cluster"),
    ]
    cluster = spec(graph, "events-broker-cluster")
    assert cluster["replicas"] == 3
    assert cluster["resources"] == {
        "requests": {"cpu": "2", "memory": "4Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }
    assert cluster["persistence"] == {"storage": "20Gi"}
    assert cluster["tls"] == {"secretName": "events-rabbitmq-tls", "disableNonTLSListeners": True}
    assert cluster["rabbitmq"]["additionalPlugins"] == ["rabbitmq_prometheus"]
    assert (
        "cluster_partition_handling = pause_minority"
        in cluster["rabbitmq"]["additionalConfig"].splitlines()
    )
    assert spec(graph, "events-broker-pdb") == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "k8s-rabbitmq"}},
    }
    monitor = spec(graph, "events-broker-service-monitor")
    assert [e["port"] for e in monitor["endpoints"]] == ["prometheus-tls", "prometheus-tls"]
    assert monitor["endpoints"][1]["path"] == "/metrics/detailed"
    assert monitor["endpoints"][1]["params"]["vhost"] == ["k8s"]


def test_the_namespace_denies_ingress_except_what_a_network_policy_allows(
    graph: Synthesis,
) -> None:
    assert spec(graph, "events-default-deny") == {"podSelector": {}, "policyTypes": ["Ingress"]}
    broker = by_name(graph, "events-broker-network-policy").inputs
    assert broker["metadata"]["name"] == "k8s-rabbitmq-ingress"

    def namespace(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

    assert broker["spec"] == {
        # The Cluster Operator labels the broker's pods with the cluster's name.
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "k8s-rabbitmq"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {},
                        "podSelector": {"matchLabels": {"eventinfra/rabbitmq-client": "true"}},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": 5671}],
            },
            {
                "from": [
                    {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "k8s-rabbitmq"}}}
                ]
            },
            {
                "from": [namespace("rabbitmq-system"), namespace("keda")],
                "ports": [{"protocol": "TCP", "port": 15671}],
            },
            {"from": [namespace("monitoring")], "ports": [{"protocol": "TCP", "port": 15691}]},
        ],
    }
    consumer = spec(graph, "events-consumer-mailer-workload-deployment")
    assert consumer["template"]["metadata"]["labels"]["eventinfra/rabbitmq-client"] == "true"
    redis = spec(graph, "events-idempotency-network-policy")
    assert redis["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"eventinfra/idempotency-client": "true"}}}
    ]


def test_without_a_tls_secret_the_broker_keeps_its_plain_listeners() -> None:
    graph = record(
        lambda: RabbitMQBroker(
            "mq",
            {
                "namespace": "events",
                "cluster_name": "mq",
                "replicas": 1,
                "cpu": "1",
                "memory": "2Gi",
                "storage": "5Gi",
                "storage_class": "ssd",
                "tls_secret": None,
                "vhost": "dev",
            },
        )
    )
    cluster = graph.named("mq-cluster").inputs["spec"]
    assert "tls" not in cluster
    assert cluster["persistence"] == {"storage": "5Gi", "storageClassName": "ssd"}
    endpoints = graph.named("mq-service-monitor").inputs["spec"]["endpoints"]
    assert [(e["port"], e["scheme"]) for e in endpoints] == [("prometheus", "http")] * 2


# --- events ------------------------------------------------------------------------------------


def test_an_event_is_a_durable_topic_exchange_whose_unroutable_messages_are_parked(
    graph: Synthesis,
) -> None:
    base = "events-event-user-signup"
    assert children(graph, base) == sorted(
        [
            (EXCHANGE, f"{base}-exchange"),
            (EXCHANGE, f"{base}-unroutable"),
            (QUEUE, f"{base}-parking"),
            (BINDING, f"{base}-parking-binding"),
            (POLICY, f"{base}-policy"),
        ]
    )
    assert spec(graph, f"{base}-exchange") == {
        "name": "user.signup",
        "vhost": "k8s",
        "type": "topic",
        "durable": True,
        "autoDelete": False,
        "rabbitmqClusterReference": CLUSTER_REFERENCE,
    }
    assert spec(graph, f"{base}-unroutable")["type"] == "fanout"
    assert spec(graph, f"{base}-parking")["arguments"] == {"x-queue-type": "quorum"}
    assert spec(graph, f"{base}-parking-binding") == {
        "vhost": "k8s",
        "source": "user.signup.unroutable",
        "destination": "user.signup.parking",
        "destinationType": "queue",
        "routingKey": "",
        "rabbitmqClusterReference": CLUSTER_REFERENCE,
    }
    assert spec(graph, f"{base}-policy") == {
        "name": "user.signup.unroutable",
        "vhost": "k8s",
        "pattern": r"^user\.signup$",
        "applyTo": "exchanges",
        "priority": 10,
        "definition": {"alternate-exchange": "user.signup.unroutable"},
        "rabbitmqClusterReference": CLUSTER_REFERENCE,
    }


# --- consumers ---------------------------------------------------------------------------------


def test_a_consumer_queue_is_quorum_with_its_dead_letter_settings_in_a_policy(
    graph: Synthesis,
) -> None:
    base = "events-consumer-analytics"
    assert children(graph, base) == sorted(
        [
            (QUEUE, f"{base}-queue"),
            (QUEUE, f"{base}-dead-letter-queue"),
            (EXCHANGE, f"{base}-dead-letter-exchange"),
            (BINDING, f"{base}-dead-letter-binding"),
            (BINDING, f"{base}-binding-user-signup"),
            (BINDING, f"{base}-binding-order-placed"),
            (POLICY, f"{base}-policy"),
            ("eventinfra:index:RabbitMQUser", f"{base}-rabbitmq"),
            ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", f"{base}-alerts"),
        ]
    )
    queue = spec(graph, f"{base}-queue")
    assert queue == {
        "name": "analytics",
        "vhost": "k8s",
        "type": "quorum",
        "durable": True,
        "autoDelete": False,
        "arguments": {"x-queue-type": "quorum"},
        "deletionPolicy": "retain",
        "rabbitmqClusterReference": CLUSTER_REFERENCE,
    }
    assert spec(graph, f"{base}-dead-letter-queue")["name"] == "analytics.dead-letter"
    assert spec(graph, f"{base}-dead-letter-queue")["deletionPolicy"] == "retain"
    assert spec(graph, f"{base}-dead-letter-queue")["arguments"] == {"x-queue-type": "quorum"}
    assert spec(graph, f"{base}-dead-letter-exchange")["type"] == "fanout"
    routes = {
        spec(graph, f"{base}-binding-{slug}")["source"]: spec(graph, f"{base}-binding-{slug}")
        for slug in ("user-signup", "order-placed")
    }
    assert {source: b["routingKey"] for source, b in routes.items()} == {
        "user.signup": "user.signup",
        "order.placed": "order.placed",
    }
    assert all(b["destination"] == "analytics" for b in routes.values())
    assert spec(graph, f"{base}-policy") == {
        "name": "analytics",
        "vhost": "k8s",
        "pattern": "^analytics$",
        "applyTo": "queues",
        "priority": 10,
        "definition": {
            "dead-letter-exchange": "analytics.dead-letter",
            "delivery-limit": 5,
            "dead-letter-strategy": "at-least-once",
            "overflow": "reject-publish",
        },
        "rabbitmqClusterReference": CLUSTER_REFERENCE,
    }


def test_the_delivery_limit_is_the_consumers_max_receive_count(graph: Synthesis) -> None:
    definition = spec(graph, "events-consumer-fulfilment-policy")["definition"]
    assert definition["delivery-limit"] == 8


def test_queues_are_retained_when_removed_from_the_program() -> None:
    retained: dict[str, bool] = {}

    def note(args: pulumi.ResourceTransformationArgs) -> None:
        retained[args.name] = bool(args.opts.retain_on_delete)

    def build() -> None:
        pulumi.runtime.register_stack_transformation(note)
        RabbitMQPlatform.from_config("events", platform_config())

    graph = record(build)
    queues = {r.name for r in graph.by_type(QUEUE)}
    assert len(queues) == 9
    # The operator keeps each queue when its resource is deleted...
    assert {r.inputs["spec"]["deletionPolicy"] for r in graph.by_type(QUEUE)} == {"retain"}
    # ...and Pulumi keeps the resource, for operators that predate deletionPolicy.
    assert {name: retained[name] for name in queues} == dict.fromkeys(queues, True)
    others = {r.name for r in graph.resources if r.custom and r.type != QUEUE}
    assert not any(retained.get(name) for name in others)


def test_consumer_alerts_cover_dead_letters_no_consumers_growth_and_age(graph: Synthesis) -> None:
    rules = spec(graph, "events-consumer-mailer-alerts")["groups"][0]["rules"]
    assert {r["alert"]: (r["expr"], r["for"]) for r in rules} == {
        "EventConsumerDeadLetters": (
            'rabbitmq_detailed_queue_messages{vhost="k8s",queue="mailer.dead-letter"} > 0',
            "1m",
        ),
        "EventConsumerNoConsumers": (
            'rabbitmq_detailed_queue_consumers{vhost="k8s",queue="mailer"} == 0',
            "10m",
        ),
        "EventConsumerBacklogGrowing": (
            'deriv(rabbitmq_detailed_queue_messages_ready{vhost="k8s",queue="mailer"}[15m]) > 0'
            ' and rabbitmq_detailed_queue_messages_ready{vhost="k8s",queue="mailer"} > 0',
            "15m",
        ),
        "EventConsumerMessagesTooOld": (
            'min_over_time(rabbitmq_detailed_queue_messages_ready{vhost="k8s",queue="mailer"}'
            "[900s]) > 0",
            "1m",
        ),
    }
    parking = spec(graph, "events-parking-alerts")["groups"][0]["rules"]
    assert [r["expr"] for r in parking] == [
        f'rabbitmq_detailed_queue_messages{{vhost="k8s",queue="{event}.parking"}} > 0'
        for event in ("user.signup", "order.placed", "invoice.paid")
    ]


# --- credentials -------------------------------------------------------------------------------


def permissions(graph: Synthesis) -> dict[str, dict[str, str]]:
    found = {}
    for permission in graph.by_type(PERMISSION):
        body = permission.inputs["spec"]
        found[body["userReference"]["name"]] = body["permissions"]
    return found


def test_each_application_has_its_own_user_with_anchored_least_privilege(graph: Synthesis) -> None:
    assert permissions(graph) == {
        "k8s-keda": {"configure": "^$", "write": "^$", "read": "^$"},
        "k8s-accounts-api": {"configure": "^$", "write": r"^user\.signup$", "read": "^$"},
        "k8s-checkout-api": {"configure": "^$", "write": r"^order\.placed$", "read": "^$"},
        "k8s-billing": {"configure": "^$", "write": r"^invoice\.paid$", "read": "^$"},
        "k8s-mailer": {"configure": "^$", "write": "^$", "read": "^mailer$"},
        "k8s-analytics": {"configure": "^$", "write": "^$", "read": "^analytics$"},
        "k8s-fulfilment": {"configure": "^$", "write": "^$", "read": "^fulfilment$"},
    }
    for permission in graph.by_type(PERMISSION):
        assert permission.inputs["spec"]["vhost"] == "k8s"
        for regex in permission.inputs["spec"]["permissions"].values():
            assert regex.startswith("^") and regex.endswith("$")


def test_users_import_their_credentials_from_their_secret_and_none_is_guest(
    graph: Synthesis,
) -> None:
    secrets = {s.inputs["metadata"]["name"]: s for s in graph.by_type(SECRET)}
    users = graph.by_type(USER)
    assert len(users) == 7
    for user in users:
        body = user.inputs["spec"]
        secret = secrets[body["importCredentialsSecret"]["name"]]
        assert secret.inputs["stringData"]["username"] != "guest"
        assert re.fullmatch(r"[A-Za-z0-9]{32}", secret.inputs["stringData"]["password"])
    scaler = by_name(graph, "events-scaler-user").inputs["spec"]
    assert scaler["tags"] == ["management"]
    assert all(u.inputs["spec"]["tags"] == [] for u in users if u.name != "events-scaler-user")


def test_every_password_and_uri_is_a_secret_output(graph: Synthesis) -> None:
    secrets = graph.by_type(SECRET)
    assert len(secrets) == 9
    for secret in secrets:
        assert {"password", "uri", "host", "url", "users.acl"} & set(secret.inputs["stringData"])
        assert secret.secret_inputs == ("stringData",), secret.name
    mailer = by_name(graph, "events-consumer-mailer-rabbitmq-credentials").inputs["stringData"]
    password = mailer["password"]
    assert mailer["uri"] == f"amqps://mailer:{password}@k8s-rabbitmq.events.svc:5671/k8s"
    keda = by_name(graph, "events-scaler-credentials").inputs["stringData"]
    assert keda["host"] == (
        f"https://eventinfra-keda:{keda['password']}@k8s-rabbitmq.events.svc:15671/k8s"
    )


def test_component_password_attributes_are_secret() -> None:
    flags: list[Any] = []

    def build() -> None:
        platform = RabbitMQPlatform.from_config("events", platform_config())
        outputs = [p.password for p in platform.producers.values()]
        outputs += [c.credentials.password for c in platform.consumers.values()]
        flags.extend(output.is_secret() for output in outputs)
        # Resolve inside the run: is_secret() is awaitable only while the program runs.
        pulumi.Output.all(*outputs).apply(lambda _: None)

    record(build)
    results = [asyncio.run(_ready(flag)) for flag in flags]
    assert results and all(results)


async def _ready(flag: Any) -> bool:
    return bool(await flag)


# --- container consumers -----------------------------------------------------------------------


def test_a_container_consumer_is_a_hardened_deployment_scaled_by_keda(graph: Synthesis) -> None:
    base = "events-consumer-mailer-workload"
    assert children(graph, base) == [
        ("kubernetes:apps/v1:Deployment", f"{base}-deployment"),
        ("kubernetes:core/v1:ConfigMap", f"{base}-schemas"),
        ("kubernetes:keda.sh/v1alpha1:ScaledObject", f"{base}-scaled-object"),
        ("kubernetes:keda.sh/v1alpha1:TriggerAuthentication", f"{base}-trigger-authentication"),
        ("kubernetes:policy/v1:PodDisruptionBudget", f"{base}-pdb"),
    ]
    pod = spec(graph, f"{base}-deployment")["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/acme/mailer:1.4.2"
    assert container["command"] == ["python", "-m", "mailer"]
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "250m", "memory": "256Mi"},
    }
    assert container["ports"] == [{"name": "health", "containerPort": 8080}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["LOG_LEVEL"] == "info"
    assert env["EVENTINFRA_RABBITMQ_QUEUE"] == "mailer"
    assert env["EVENTINFRA_RABBITMQ_CREDENTIALS_DIR"] == "/var/run/secrets/eventinfra/rabbitmq"
    assert env["EVENTINFRA_REDIS_CREDENTIALS_DIR"] == "/var/run/secrets/eventinfra/idempotency"
    assert (env["EVENTINFRA_IDEMPOTENCY_KEY"], env["EVENTINFRA_IDEMPOTENCY_TTL_SECONDS"]) == (
        "userId",
        "86400",
    )
    assert spec(graph, f"{base}-pdb")["maxUnavailable"] == 1

    scaled = spec(graph, f"{base}-scaled-object")
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (1, 10)
    assert scaled["scaleTargetRef"] == {"name": "k8s-mailer"}
    (trigger,) = scaled["triggers"]
    assert trigger == {
        "type": "rabbitmq",
        "metadata": {
            "protocol": "http",
            "mode": "QueueLength",
            "value": "20",
            "queueName": "mailer",
            "vhostName": "k8s",
        },
        "authenticationRef": {"name": "k8s-mailer-rabbitmq"},
    }
    assert spec(graph, f"{base}-trigger-authentication") == {
        "secretTargetRef": [
            {"parameter": "host", "name": "k8s-keda-rabbitmq", "key": "host"},
            {"parameter": "ca", "name": "events-rabbitmq-tls", "key": "ca.crt"},
        ]
    }


def test_external_consumers_get_a_queue_and_credentials_but_no_workload(
    graph: Synthesis,
) -> None:
    for consumer in ("analytics", "fulfilment"):
        kinds = {t for t, _ in children(graph, f"events-consumer-{consumer}")}
        assert "eventinfra:index:ContainerConsumer" not in kinds
    assert len(graph.by_type("kubernetes:apps/v1:Deployment")) == 1


def test_a_single_replica_consumer_gets_no_pdb(tmp_path: Path) -> None:
    topology = yaml.safe_load((REPOSITORY / "topology.k8s.yaml").read_text(encoding="utf-8"))
    topology["consumers"]["mailer"]["container"]["replicas"] = {"min": 0, "max": 1}
    for event in topology["events"].values():
        event.pop("schema", None)
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology))
    config = load_platform_config(
        settings(topology="topology.yaml"), stack="k8s", project_dir=tmp_path
    )
    graph = build_platform(config)
    assert graph.by_type("kubernetes:policy/v1:PodDisruptionBudget") == [
        graph.named("events-broker-pdb")
    ]
    no_consumer = next(
        r
        for r in spec(graph, "events-consumer-mailer-alerts")["groups"][0]["rules"]
        if r["alert"] == "EventConsumerNoConsumers"
    )
    assert no_consumer["expr"].endswith(
        ' and rabbitmq_detailed_queue_messages_ready{vhost="k8s",queue="mailer"} > 0'
    )


def test_the_idempotency_store_gives_each_consumer_a_user_confined_to_its_prefix(
    graph: Synthesis,
) -> None:
    acl = by_name(graph, "events-idempotency-acl").inputs["stringData"]["users.acl"]
    lines = acl.splitlines()
    assert lines[0] == "user default off"
    assert len(lines) == 2
    assert re.fullmatch(
        r"user mailer on >[A-Za-z0-9]{32} ~mailer:\* resetchannels -@all \+@read \+@write "
        r"\+@connection -@dangerous \+@transaction \+evalsha \+script\|load",
        lines[1],
    )
    client = by_name(graph, "events-idempotency-mailer-client").inputs["stringData"]
    assert re.fullmatch(
        r"redis://mailer:[A-Za-z0-9]{32}@k8s-idempotency\.events\.svc:6379/0", client["url"]
    )
    redis = spec(graph, "events-idempotency-statefulset")
    assert redis["volumeClaimTemplates"][0]["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    assert spec(graph, "events-idempotency-network-policy") == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "k8s-idempotency"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {"podSelector": {"matchLabels": {"eventinfra/idempotency-client": "true"}}}
                ],
                "ports": [{"protocol": "TCP", "port": 6379}],
            }
        ],
    }
    mailer = spec(graph, "events-consumer-mailer-workload-deployment")["template"]["metadata"]
    assert mailer["labels"]["eventinfra/idempotency-client"] == "true"
    args = redis["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert args[args.index("--appendonly") + 1] == "yes"


# --- the program ------------------------------------------------------------------------------


def test_the_program_dispatches_on_the_broker_setting() -> None:
    graph = synthesize(REPOSITORY, "k8s")
    (platform,) = [r for r in graph.resources if r.parent == graph.stack_urn]
    assert (platform.type, platform.name) == ("eventinfra:index:RabbitMQPlatform", "events")
    assert graph.outputs["queues"] == {
        "mailer": "mailer",
        "analytics": "analytics",
        "fulfilment": "fulfilment",
    }
    assert not [r for r in graph.resources if r.type.startswith("aws:")]


# --- validation --------------------------------------------------------------------------------


def test_a_subscription_filter_is_refused_on_rabbitmq(tmp_path: Path) -> None:
    topology = yaml.safe_load((REPOSITORY / "topology.k8s.yaml").read_text(encoding="utf-8"))
    topology["consumers"]["analytics"]["subscribes"] = [
        {"event": "user.signup", "filter": {"plan": ["pro"]}}
    ]
    for event in topology["events"].values():
        event.pop("schema", None)
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology, sort_keys=False))
    with pytest.raises(ConfigError) as raised:
        load_platform_config(settings(topology="topology.yaml"), stack="k8s", project_dir=tmp_path)
    (problem,) = raised.value.problems
    assert problem.key_path == "consumers.analytics.subscribes[0].filter"
    assert problem.message == (
        "is not supported on the 'rabbitmq' broker, whose topic exchanges route on the event "
        "name only; expected no filter (filter in the consumer, or publish a separate event), "
        "found {'plan': ['pro']}."
    )


def test_names_that_clash_with_generated_exchanges_or_users_are_refused(tmp_path: Path) -> None:
    topology = {
        "events": {"a": {}, "a.unroutable": {}, "worker.dead-letter": {}},
        "producers": {"eventinfra-keda": {"publishes": ["a"]}},
        "consumers": {"worker": {"subscribes": ["a"], "runtime": "external"}},
    }
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology, sort_keys=False))
    with pytest.raises(ConfigError) as raised:
        load_platform_config(settings(topology="topology.yaml"), stack="k8s", project_dir=tmp_path)
    assert sorted((p.key_path, p.message) for p in raised.value.problems) == [
        (
            "consumers.worker",
            "gives the Kubernetes object name 'k8s-worker-dead-letter-exchange' (the "
            "dead-letter-exchange object of consumer 'worker'), which is already the exchange "
            "object of event 'worker.dead-letter' (from events.\"worker.dead-letter\"); expected "
            "names that give distinct physical names.",
        ),
        (
            "consumers.worker",
            "gives the RabbitMQ exchange name 'worker.dead-letter' (the dead-letter exchange of "
            "consumer 'worker'), which is already the exchange of event 'worker.dead-letter' "
            '(from events."worker.dead-letter"); expected names that give distinct physical '
            "names.",
        ),
        (
            'events."a.unroutable"',
            "gives the RabbitMQ exchange name 'a.unroutable' (the exchange of event "
            "'a.unroutable'), which is already the unroutable-message exchange of event 'a' "
            "(from events.a); expected names that give distinct physical names.",
        ),
        (
            "producers.eventinfra-keda",
            "gives the RabbitMQ user name 'eventinfra-keda' (the user of producer "
            "'eventinfra-keda'), which is already the user KEDA reads with (from eventinfra "
            "itself); expected names that give distinct physical names.",
        ),
    ]


# --- operators ---------------------------------------------------------------------------------

OPERATOR_FILES = {
    "events-cluster-operator": "https://github.com/rabbitmq/cluster-operator/releases/download/"
    "v2.21.1/cluster-operator.yml",
    "events-topology-operator": "https://github.com/rabbitmq/messaging-topology-operator/"
    "releases/download/v1.14.2/messaging-topology-operator-with-certmanager.yaml",
    "events-keda": "https://github.com/kedacore/keda/releases/download/v2.18.1/keda-2.18.1.yaml",
}


def test_operators_are_expected_installed_by_default(graph: Synthesis) -> None:
    assert graph.by_type("kubernetes:yaml/v2:ConfigFile") == []


def test_installed_operators_come_from_pinned_manifests_before_any_custom_resource() -> None:
    overrides = settings()
    overrides["rabbitmq"] = {**overrides["rabbitmq"], "install_operators": True}
    graph = build_platform(platform_config(**overrides))
    manifests = graph.by_type("kubernetes:yaml/v2:ConfigFile")
    assert {m.name: m.inputs["file"] for m in manifests} == OPERATOR_FILES
    operator_urns = {m.urn for m in manifests}
    operator_groups = ("rabbitmq.com/", "keda.sh/", "monitoring.coreos.com/")
    custom = [
        r for r in graph.resources if r.custom and r.type.split(":")[1].startswith(operator_groups)
    ]
    assert len(custom) == 57
    for resource in custom:
        assert operator_urns <= set(resource.dependencies), resource.name


def test_a_container_consumer_reads_its_credentials_from_files_not_the_environment(
    graph: Synthesis,
) -> None:
    pod = spec(graph, "events-consumer-mailer-workload-deployment")["template"]["spec"]
    (container,) = pod["containers"]
    assert all("valueFrom" not in variable for variable in container["env"])
    assert {
        "name": "credentials",
        "mountPath": "/var/run/secrets/eventinfra",
        "readOnly": True,
    } in (container["volumeMounts"])
    volume = next(v for v in pod["volumes"] if v["name"] == "credentials")
    assert volume["projected"]["defaultMode"] == 0o440
    assert volume["projected"]["sources"] == [
        {
            "secret": {
                "name": "k8s-mailer-rabbitmq",
                "items": [
                    {"key": key, "path": f"rabbitmq/{key}"} for key in ("username", "password")
                ],
            }
        },
        {
            "secret": {
                "name": "k8s-mailer-idempotency",
                "items": [
                    {"key": key, "path": f"idempotency/{key}"} for key in ("username", "password")
                ],
            }
        },
    ]
    assert pod["securityContext"]["fsGroup"] == 10_001
    assert pod["enableServiceLinks"] is False
