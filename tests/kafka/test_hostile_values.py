"""User-written values that reach the kafka backend's documents: KafkaUser ACLs, PrometheusRule
expressions and summaries, KEDA metadata. A name that would widen an ACL or run as a template
is refused; values inside PromQL strings are escaped."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from eventinfra import KafkaAccess, KafkaConsumer
from eventinfra.check.synth import record
from eventinfra.kafka.consumer import KafkaConsumerArgs, alert_group
from eventinfra.kafka.user import KafkaAccessArgs, consumer_acls
from tests.aws.test_contract import problems, refused

HOSTILE_NAMES = [
    "*",
    '{{ query "up" }}',
    'mailer"} or vector(1) or m{x="',
    "mailer\n",
    "mailer\\",
    "",
]
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')


def access_args(acls: Any) -> KafkaAccessArgs:
    return {
        "namespace": "events",
        "cluster_name": "kafka-kafka",
        "user_name": "kafka-mailer",
        "tls": True,
        "acls": acls,
    }


def consumer_args(**overrides: Any) -> KafkaConsumerArgs:
    args: KafkaConsumerArgs = {
        "consumer": "mailer",
        "object_name": "kafka-mailer",
        "topics": ["user.signup"],
        "namespace": "events",
        "cluster_name": "kafka-kafka",
        "bootstrap": "kafka-kafka-kafka-bootstrap.events.svc:9093",
        "tls": True,
        "cluster_ca_secret": "kafka-kafka-cluster-ca-cert",
        "replicas": 3,
        "min_insync_replicas": 2,
        "labels": {},
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("resource_type", ["topic", "group"])
def test_an_acl_on_a_name_kafka_would_widen_or_refuse_is_refused(
    name: str, resource_type: str
) -> None:
    acls = [
        {"resource_type": "topic", "name": "user.signup", "operations": ["Read"]},
        {"resource_type": resource_type, "name": name, "operations": ["Read"]},
    ]
    error, graph = refused(lambda: KafkaAccess("mailer", access_args(acls)))
    assert problems(error) == [
        (
            "KafkaAccess 'mailer' args.acls[1].name",
            f"gives the {resource_type} name {name!r}; expected at most 249 letters, digits, "
            "'.', '_' and '-' (the Kafka topic name rule), because a literal ACL on '*' grants "
            "every topic or group.",
        )
    ]
    assert graph.resources == []


def test_acls_name_each_topic_and_group_literally() -> None:
    acls = consumer_acls(["user.signup"], "mailer", "mailer.dead-letter")

    def program() -> None:
        KafkaAccess("mailer", access_args(acls))

    graph = record(program)
    granted = graph.named("mailer-user").inputs["spec"]["authorization"]["acls"]
    assert [(a["resource"]["type"], a["resource"]["name"]) for a in granted] == [
        ("topic", "user.signup"),
        ("group", "mailer"),
        ("topic", "mailer.dead-letter"),
    ]
    assert {a["resource"]["patternType"] for a in granted} == {"literal"}


@pytest.mark.parametrize("consumer", [*HOSTILE_NAMES, "Mailer"])
def test_a_consumer_name_prometheus_would_expand_is_refused(consumer: str) -> None:
    error, graph = refused(lambda: KafkaConsumer("mailer", consumer_args(consumer=consumer)))
    assert problems(error) == [
        (
            "KafkaConsumer 'mailer' args.consumer",
            f"gives the consumer name {consumer!r}; expected at most 63 lowercase letters, "
            "digits and '-' (a DNS label, like 'welcome-email'), because it names the "
            "consumer's alert rules, whose labels and summaries Prometheus expands as templates.",
        )
    ]
    assert graph.resources == []


@pytest.mark.parametrize("topic", HOSTILE_NAMES)
def test_a_topic_name_that_is_no_event_name_is_refused(topic: str) -> None:
    error, graph = refused(lambda: KafkaConsumer("mailer", consumer_args(topics=[topic])))
    assert problems(error) == [
        (
            "KafkaConsumer 'mailer' args.topics[0]",
            f"gives the event name {topic!r}; expected at most 200 letters, digits, '.', '_' "
            "and '-' (like 'user.signup'), because it is a routing key and names the "
            "consumer's bindings and alert rules.",
        )
    ]
    assert graph.resources == []


@pytest.mark.parametrize("count", [0, 1001, 2.5, True, "3"])
def test_a_max_receive_count_out_of_range_is_refused(count: object) -> None:
    error, graph = refused(lambda: KafkaConsumer("mailer", consumer_args(max_receive_count=count)))
    assert problems(error) == [
        (
            "KafkaConsumer 'mailer' args.max_receive_count",
            "expected an integer from 1 to 1000 (the topology's max_receive_count range), "
            f"found {count!r}.",
        )
    ]
    assert graph.resources == []


@pytest.mark.parametrize("consumer", HOSTILE_NAMES)
def test_a_group_in_an_alert_expression_is_one_string_literal(consumer: str) -> None:
    """The expressions keep the structure they have for a plain name, and each string literal
    decodes (Go's escapes, which JSON's are) to the group or its dead-letter topic."""
    plain, hostile = alert_group("mailer"), alert_group(consumer)
    for ours, theirs in zip(plain["rules"], hostile["rules"], strict=True):
        assert STRING_LITERAL.sub('""', theirs["expr"]) == STRING_LITERAL.sub('""', ours["expr"])
        literals = {json.loads(m) for m in STRING_LITERAL.findall(theirs["expr"])}
        assert literals <= {consumer, consumer + ".dead-letter"} and literals


def test_the_alert_expressions_of_a_plain_consumer_are_unchanged() -> None:
    exprs = [rule["expr"] for rule in alert_group("mailer")["rules"]]
    assert exprs == [
        'sum(delta(kafka_topic_partition_current_offset{topic="mailer.dead-letter"}[5m])) > 0',
        'deriv(sum(kafka_consumergroup_lag{consumergroup="mailer"})[15m:1m]) > 0 and '
        'sum(kafka_consumergroup_lag{consumergroup="mailer"}) > 0',
        'max(kafka_consumergroup_members{consumergroup="mailer"}) == 0 and '
        'sum(kafka_consumergroup_lag{consumergroup="mailer"}) > 0',
    ]
