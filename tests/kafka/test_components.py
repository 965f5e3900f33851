"""The kafka backend declares exactly its Strimzi, KEDA and alerting objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eventinfra import ConfigError, KafkaPlatform, load_platform_config
from eventinfra.check.synth import Synthesis, record
from eventinfra.config.loader import PlatformConfig
from eventinfra.kafka.consumer import kafka_binding
from tests.support import REPOSITORY

STACK_FILE = REPOSITORY / "stacks" / "Pulumi.kafka.yaml"
STRIMZI = "kubernetes:kafka.strimzi.io/v1:"


def settings(**overrides: Any) -> dict[str, Any]:
    data = yaml.safe_load(STACK_FILE.read_text(encoding="utf-8"))["config"]["eventinfra:settings"]
    data.update(overrides)
    return dict(data)


def platform_config(**overrides: Any) -> PlatformConfig:
    return load_platform_config(settings(**overrides), stack="kafka", project_dir=REPOSITORY)


def build(config: PlatformConfig | None = None) -> Synthesis:
    chosen = config or platform_config()
    return record(lambda: KafkaPlatform.from_config("events", chosen))


@pytest.fixture(scope="module")
def graph() -> Synthesis:
    return build()


def children(graph: Synthesis, name: str) -> list[tuple[str, str]]:
    return sorted((r.type, r.name) for r in graph.children(graph.named(name).urn))


def spec(graph: Synthesis, name: str) -> dict[str, Any]:
    value: dict[str, Any] = graph.named(name).inputs["spec"]
    return value


def test_the_platform_has_a_cluster_a_topic_per_event_and_a_user_per_application(
    graph: Synthesis,
) -> None:
    assert children(graph, "events") == sorted(
        [
            ("eventinfra:index:KafkaCluster", "events-cluster"),
            ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "events-default-deny"),
            ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "events-monitoring-ingress"),
            (STRIMZI + "KafkaTopic", "events-topic-user-signup"),
            (STRIMZI + "KafkaTopic", "events-topic-order-placed"),
            (STRIMZI + "KafkaTopic", "events-topic-invoice-paid"),
            ("eventinfra:index:KafkaAccess", "events-producer-accounts-api"),
            ("eventinfra:index:KafkaAccess", "events-producer-checkout-api"),
            ("eventinfra:index:KafkaAccess", "events-producer-billing"),
            ("eventinfra:index:RedisIdempotencyStore", "events-idempotency"),
            ("eventinfra:index:KafkaConsumer", "events-consumer-mailer"),
            ("eventinfra:index:KafkaConsumer", "events-consumer-analytics"),
            ("eventinfra:index:KafkaConsumer", "events-consumer-fulfilment"),
            ("eventinfra:index:KafkaAccess", "events-ops"),
        ]
    )


def test_every_component_uses_the_eventinfra_type_token_and_derives_child_names(
    graph: Synthesis,
) -> None:
    for component in (r for r in graph.resources if not r.custom):
        assert component.type.startswith("eventinfra:index:"), component.type
        for child in graph.children(component.urn):
            assert child.name.startswith(f"{component.name}-"), (component.name, child.name)


def test_the_cluster_is_kraft_with_node_pools_tls_simple_authorization_and_operators(
    graph: Synthesis,
) -> None:
    assert children(graph, "events-cluster") == [
        ("kubernetes:core/v1:Namespace", "events-cluster-namespace"),
        (STRIMZI + "Kafka", "events-cluster-kafka"),
        (STRIMZI + "KafkaNodePool", "events-cluster-brokers"),
        (STRIMZI + "KafkaNodePool", "events-cluster-controllers"),
    ]
    kafka = spec(graph, "events-cluster-kafka")
    assert kafka["kafka"]["listeners"] == [
        {
            "name": "tls",
            "port": 9093,
            "type": "internal",
            "tls": True,
            "authentication": {"type": "tls"},
        }
    ]
    assert kafka["kafka"]["authorization"] == {"type": "simple"}
    assert kafka["kafka"]["config"] == {
        "default.replication.factor": 3,
        "min.insync.replicas": 2,
        "offsets.topic.replication.factor": 3,
        "transaction.state.log.replication.factor": 3,
        "transaction.state.log.min.isr": 2,
        "auto.create.topics.enable": False,
        "unclean.leader.election.enable": False,
        # 14 days, the dead-letter topics' retention: the ops group's offsets outlive them.
        "offsets.retention.minutes": 20_160,
    }
    assert kafka["kafka"]["rack"] == {
        "type": "topology-label",
        "topologyKey": "topology.kubernetes.io/zone",
    }
    assert kafka["entityOperator"] == {"topicOperator": {}, "userOperator": {}}
    assert "kafkaExporter" in kafka
    brokers = graph.named("events-cluster-brokers").inputs
    assert brokers["metadata"]["labels"]["strimzi.io/cluster"] == "kfk-kafka"
    assert brokers["spec"]["replicas"] == 3
    assert brokers["spec"]["roles"] == ["broker"]
    assert brokers["spec"]["storage"]["volumes"][0]["size"] == "50Gi"
    assert brokers["spec"]["storage"]["volumes"][0]["deleteClaim"] is False
    assert spec(graph, "events-cluster-controllers")["roles"] == ["controller"]
    assert spec(graph, "events-cluster-controllers")["replicas"] == 3


def test_topics_take_partitions_and_retention_from_the_settings(graph: Synthesis) -> None:
    week, two_weeks = 168 * 3_600_000, 336 * 3_600_000
    assert spec(graph, "events-topic-user-signup") == {
        "topicName": "user.signup",
        "partitions": 6,
        "replicas": 3,
        "config": {"retention.ms": week, "cleanup.policy": "delete", "min.insync.replicas": 2},
    }
    assert spec(graph, "events-topic-order-placed")["partitions"] == 12
    assert spec(graph, "events-topic-order-placed")["config"]["retention.ms"] == two_weeks


def test_a_producer_may_write_and_describe_its_own_topics_only(graph: Synthesis) -> None:
    user = graph.named("events-producer-accounts-api-user").inputs
    assert user["metadata"]["name"] == "kfk-accounts-api"
    assert user["spec"] == {
        "authentication": {"type": "tls"},
        "authorization": {
            "type": "simple",
            "acls": [
                {
                    "type": "allow",
                    "resource": {"type": "topic", "name": "user.signup", "patternType": "literal"},
                    "operations": ["Write", "Describe"],
                }
            ],
        },
    }


def test_a_consumer_reads_its_topics_and_group_and_writes_its_dead_letter_topic(
    graph: Synthesis,
) -> None:
    acls = spec(graph, "events-consumer-analytics-kafka-user")["authorization"]["acls"]
    assert [(a["resource"]["type"], a["resource"]["name"], a["operations"]) for a in acls] == [
        ("topic", "user.signup", ["Read", "Describe"]),
        ("topic", "order.placed", ["Read", "Describe"]),
        ("topic", "analytics.retry", ["Read", "Describe"]),
        ("group", "analytics", ["Read"]),
        ("topic", "analytics.dead-letter", ["Write", "Describe"]),
    ]
    assert {a["resource"]["patternType"] for a in acls} == {"literal"}
    assert spec(graph, "events-consumer-analytics-dead-letter-topic")["topicName"] == (
        "analytics.dead-letter"
    )


def test_a_consumer_has_a_retry_topic_like_its_dead_letter_topic(graph: Synthesis) -> None:
    retry = graph.named("events-consumer-analytics-retry-topic").inputs
    dead_letters = graph.named("events-consumer-analytics-dead-letter-topic").inputs
    assert retry["metadata"]["name"] == "kfk-analytics-retry"
    assert retry["spec"] == {**dead_letters["spec"], "topicName": "analytics.retry"}
    assert retry["spec"]["partitions"] == 1
    assert retry["spec"]["config"]["retention.ms"] == 14 * 24 * 3_600_000


def test_the_ops_user_reads_dead_letters_and_writes_retry_topics_only(graph: Synthesis) -> None:
    user = graph.named("events-ops-user").inputs
    assert user["metadata"]["name"] == "kfk-eventinfra-ops"
    acls = user["spec"]["authorization"]["acls"]
    assert [(a["resource"]["type"], a["resource"]["name"], a["operations"]) for a in acls] == [
        ("group", "eventinfra-ops", ["Read"]),
        ("topic", "analytics.dead-letter", ["Read", "Describe"]),
        ("topic", "fulfilment.dead-letter", ["Read", "Describe"]),
        ("topic", "mailer.dead-letter", ["Read", "Describe"]),
        ("topic", "analytics.retry", ["Write", "Describe"]),
        ("topic", "fulfilment.retry", ["Write", "Describe"]),
        ("topic", "mailer.retry", ["Write", "Describe"]),
    ]
    assert {a["resource"]["patternType"] for a in acls} == {"literal"}
    outputs = graph.named("events").outputs
    assert outputs["retry_topics"] == {
        "mailer": "mailer.retry",
        "analytics": "analytics.retry",
        "fulfilment": "fulfilment.retry",
    }
    assert (outputs["ops_group"], outputs["ops_secret"]) == ("eventinfra-ops", "kfk-eventinfra-ops")


def test_a_container_consumer_mounts_its_credentials_and_scales_on_group_lag(
    graph: Synthesis,
) -> None:
    assert children(graph, "events-consumer-mailer-workload") == [
        ("kubernetes:apps/v1:Deployment", "events-consumer-mailer-workload-deployment"),
        # The subscribed events' JSON Schemas, mounted at EVENTINFRA_SCHEMAS_DIR.
        ("kubernetes:core/v1:ConfigMap", "events-consumer-mailer-workload-schemas"),
        (
            "kubernetes:keda.sh/v1alpha1:ScaledObject",
            "events-consumer-mailer-workload-scaled-object",
        ),
        (
            "kubernetes:keda.sh/v1alpha1:TriggerAuthentication",
            "events-consumer-mailer-workload-trigger-authentication",
        ),
        ("kubernetes:policy/v1:PodDisruptionBudget", "events-consumer-mailer-workload-pdb"),
    ]
    scaled = spec(graph, "events-consumer-mailer-workload-scaled-object")
    assert scaled["maxReplicaCount"] == 6
    # One trigger per topic, the retry topic's included: KEDA's `topic` left empty would only
    # see topics the group has committed offsets on, and the retry topic is mostly empty.
    assert scaled["triggers"] == [
        {
            "type": "kafka",
            "metadata": {
                "bootstrapServers": "kfk-kafka-kafka-bootstrap.events.svc:9093",
                "consumerGroup": "mailer",
                "topic": topic,
                "lagThreshold": "50",
                "activationLagThreshold": "1",
                "offsetResetPolicy": "earliest",
                "excludePersistentLag": "true",
                "tls": "enable",
            },
            "authenticationRef": {"name": "kfk-mailer-kafka"},
        }
        for topic in ("user.signup", "mailer.retry")
    ]
    assert spec(graph, "events-consumer-mailer-workload-trigger-authentication") == {
        "secretTargetRef": [
            {"parameter": "ca", "name": "kfk-kafka-cluster-ca-cert", "key": "ca.crt"},
            {"parameter": "cert", "name": "kfk-mailer", "key": "user.crt"},
            {"parameter": "key", "name": "kfk-mailer", "key": "user.key"},
        ]
    }
    pod = spec(graph, "events-consumer-mailer-workload-deployment")["template"]["spec"]
    # Only the files the runtime reads (not the keystore), readable by the pod's group only.
    assert [v["secret"] for v in pod["volumes"] if "secret" in v] == [
        {
            "secretName": "kfk-mailer",
            "items": [
                {"key": "user.crt", "path": "user.crt"},
                {"key": "user.key", "path": "user.key"},
            ],
            "defaultMode": 0o440,
        },
        {
            "secretName": "kfk-kafka-cluster-ca-cert",
            "items": [{"key": "ca.crt", "path": "ca.crt"}],
            "defaultMode": 0o440,
        },
    ]
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["EVENTINFRA_KAFKA_GROUP"] == "mailer"
    assert env["EVENTINFRA_KAFKA_TOPICS"] == "user.signup,mailer.retry"
    assert env["EVENTINFRA_KAFKA_DEAD_LETTER_TOPIC"] == "mailer.dead-letter"
    assert env["EVENTINFRA_KAFKA_CREDENTIALS_DIR"] == "/var/run/eventinfra/kafka"
    assert not any(name.startswith("RABBITMQ_") for name in env)
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_the_stacks_max_receive_count_is_each_workloads_attempts() -> None:
    graph = build(platform_config(queues={"max_receive_count": 9}))
    pod = spec(graph, "events-consumer-mailer-workload-deployment")["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["EVENTINFRA_MAX_ATTEMPTS"] == "9"


def test_a_binding_without_max_attempts_leaves_the_runtimes_default() -> None:
    def env_of(**max_attempts: int) -> list[dict[str, Any]]:
        binding = kafka_binding(
            consumer="mailer",
            topics=["user.signup"],
            bootstrap="kfk-kafka-kafka-bootstrap.events.svc:9093",
            tls=True,
            credentials_secret="kfk-mailer",
            cluster_ca_secret="kfk-kafka-cluster-ca-cert",
            lag_threshold=50,
            **max_attempts,
        )
        return list(binding["env"])

    without = {e["name"] for e in env_of()}
    assert "EVENTINFRA_MAX_ATTEMPTS" not in without
    tuned = env_of(max_attempts=4)
    assert {"name": "EVENTINFRA_MAX_ATTEMPTS", "value": "4"} in tuned
    assert {e["name"] for e in tuned} - without == {"EVENTINFRA_MAX_ATTEMPTS"}


def test_alerts_watch_dead_letter_growth_and_lag(graph: Synthesis) -> None:
    rules = spec(graph, "events-consumer-mailer-alerts")["groups"][0]["rules"]
    assert {r["alert"]: r["expr"] for r in rules} == {
        "EventConsumerDeadLetters": (
            'sum(delta(kafka_topic_partition_current_offset{topic="mailer.dead-letter"}[5m])) > 0'
        ),
        "EventConsumerLagGrowing": (
            'deriv(sum(kafka_consumergroup_lag{consumergroup="mailer"})[15m:1m]) > 0 and '
            'sum(kafka_consumergroup_lag{consumergroup="mailer"}) > 0'
        ),
        "EventConsumerNoMembers": (
            'max(kafka_consumergroup_members{consumergroup="mailer"}) == 0 and '
            'sum(kafka_consumergroup_lag{consumergroup="mailer"}) > 0'
        ),
    }


def test_without_tls_the_listener_is_plain_with_scram_and_a_generated_password() -> None:
    kafka = settings()["kafka"]
    graph = build(platform_config(kafka={**kafka, "tls": False, "replicas": 1}))
    listener = spec(graph, "events-cluster-kafka")["kafka"]["listeners"][0]
    assert listener == {
        "name": "plain",
        "port": 9092,
        "type": "internal",
        "tls": False,
        "authentication": {"type": "scram-sha-512"},
    }
    assert spec(graph, "events-cluster-kafka")["kafka"]["config"]["min.insync.replicas"] == 1
    user = spec(graph, "events-consumer-mailer-kafka-user")
    assert user["authentication"] == {
        "type": "scram-sha-512",
        "password": {
            "valueFrom": {"secretKeyRef": {"name": "kfk-mailer-password", "key": "password"}}
        },
    }
    # The generated password makes the Secret's data secret in the state, as on RabbitMQ.
    assert graph.named("events-consumer-mailer-kafka-credentials").secret_inputs == ("stringData",)
    trigger = spec(graph, "events-consumer-mailer-workload-scaled-object")["triggers"][0]
    assert trigger["metadata"]["sasl"] == "scram_sha512"
    assert "tls" not in trigger["metadata"]


def test_operators_are_installed_from_pinned_manifests_when_asked() -> None:
    kafka = settings()["kafka"]
    graph = build(platform_config(kafka={**kafka, "install_operators": True}))
    files = [r for r in graph.resources if r.type == "kubernetes:yaml/v2:ConfigFile"]
    assert sorted(r.inputs["file"] for r in files) == [
        "https://github.com/kedacore/keda/releases/download/v2.18.1/keda-2.18.1.yaml",
        "https://github.com/strimzi/strimzi-kafka-operator/releases/download/1.2.0/"
        "strimzi-cluster-operator-1.2.0.yaml",
    ]


def test_a_consumer_with_more_replicas_than_partitions_is_a_config_error(tmp_path: Path) -> None:
    topology = yaml.safe_load((REPOSITORY / "topology.kafka.yaml").read_text("utf-8"))
    topology["consumers"]["mailer"]["container"]["replicas"]["max"] = 7
    topology["consumers"]["mailer"]["subscribes"] = [{"event": "user.signup", "filter": {"a": "b"}}]
    for event in topology["events"].values():
        event.pop("schema", None)
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology))
    data = settings(topology="topology.yaml")
    topics = {**data["kafka"]["topics"], "order.placd": {"partitions": 3}}
    data["kafka"] = {**data["kafka"], "topics": topics}
    with pytest.raises(ConfigError) as raised:
        load_platform_config(data, stack="kafka", project_dir=tmp_path)
    messages = sorted((p.key_path, p.message.split(";")[0]) for p in raised.value.problems)
    assert messages == [
        ('config.eventinfra:settings.kafka.topics."order.placd"', "names no declared event"),
        (
            "consumers.mailer.container.replicas.max",
            "expected at most 6, the partitions of topic 'user.signup', as a consumer group "
            "gives each partition to one member and the others sit idle",
        ),
        (
            "consumers.mailer.subscribes[0].filter",
            "is not supported on the 'kafka' broker, where a consumer group reads every event "
            "of its topics",
        ),
    ]
