"""User-written values that reach the rabbitmq backend's documents: PrometheusRule expressions,
labels and summaries, policy patterns and KEDA metadata. Names are refused where Prometheus
would expand them as templates; values inside PromQL strings are escaped."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from eventinfra import RabbitMQConsumer
from eventinfra.kubernetes.alerts import promql_series
from eventinfra.rabbitmq.consumer import RabbitMQConsumerArgs, alert_group
from eventinfra.rabbitmq.naming import anchored
from tests.aws.test_contract import problems, refused
from tests.config.test_loader import problems_for, st, t
from tests.rabbitmq.test_components import build_platform, platform_config

# Each would change a PromQL expression, a Go template or the text around it if carried as is.
HOSTILE_NAMES = [
    '{{ query "up" }}',
    "{{ $labels.instance }}",
    'mailer"} or vector(1) or m{x="',
    "mailer\nsummary: injected",
    "mailer\\",
    "*",
    "Mailer",
    "",
]
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')


def consumer_args(**overrides: Any) -> RabbitMQConsumerArgs:
    args: RabbitMQConsumerArgs = {
        "consumer": "mailer",
        "object_name": "k8s-mailer",
        "events": ["user.signup"],
        "max_receive_count": 5,
        "namespace": "events",
        "cluster_name": "k8s-rabbitmq",
        "vhost": "k8s",
        "host": "k8s-rabbitmq.events.svc",
        "amqp_port": 5671,
        "tls": True,
        "queue_age_alert_seconds": 900,
        "scale_to_zero": True,
        "labels": {},
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


@pytest.mark.parametrize("consumer", HOSTILE_NAMES)
def test_a_consumer_name_prometheus_would_expand_is_refused(consumer: str) -> None:
    error, graph = refused(lambda: RabbitMQConsumer("mailer", consumer_args(consumer=consumer)))
    assert problems(error) == [
        (
            "RabbitMQConsumer 'mailer' args.consumer",
            f"gives the consumer name {consumer!r}; expected at most 63 lowercase letters, "
            "digits and '-' (a DNS label, like 'welcome-email'), because it names the "
            "consumer's alert rules, whose labels and summaries Prometheus expands as templates.",
        )
    ]
    assert graph.resources == []


@pytest.mark.parametrize("event", [n for n in HOSTILE_NAMES if n != "Mailer"])
def test_an_event_name_that_is_no_routing_key_is_refused(event: str) -> None:
    args = consumer_args(events=["user.signup", event])
    error, graph = refused(lambda: RabbitMQConsumer("mailer", args))
    assert problems(error) == [
        (
            "RabbitMQConsumer 'mailer' args.events[1]",
            f"gives the event name {event!r}; expected at most 200 letters, digits, '.', '_' "
            "and '-' (like 'user.signup'), because it is a routing key and names the "
            "consumer's bindings and alert rules.",
        )
    ]
    assert graph.resources == []


def test_a_consumer_name_with_a_template_is_refused_by_the_loader(tmp_path: Path) -> None:
    topology = t(
        lambda x: x["consumers"].update(
            {"{{ $value }}": {"subscribes": ["user.signup"], "runtime": "external"}}
        )
    )
    settings = st(
        lambda x: (
            x.pop("alarms"),
            x.pop("tags"),
            x.update({"broker": "rabbitmq", "name_prefix": "k8s"}),
        )
    )
    assert problems_for(tmp_path, topology, settings) == [
        (
            "topology.yaml",
            24,
            'consumers."{{ $value }}"',
            "is not a valid name; expected a name of lowercase letters, digits and '-' (a DNS "
            "label, at most 63 characters, like 'welcome-email'), found '{{ $value }}'.",
        )
    ]


@pytest.mark.parametrize("vhost", [*HOSTILE_NAMES, "k8s-😀"])
def test_a_vhost_in_an_alert_expression_is_one_string_literal(vhost: str) -> None:
    """Every expression has the structure it has with a plain vhost, and each of its string
    literals decodes (Go's escapes, which JSON's are) to the vhost or the queue name."""
    plain = alert_group("mailer", "k8s", consumer_args())
    hostile = alert_group("mailer", vhost, consumer_args(vhost=vhost))
    for ours, theirs in zip(plain["rules"], hostile["rules"], strict=True):
        assert STRING_LITERAL.sub('""', theirs["expr"]) == STRING_LITERAL.sub('""', ours["expr"])
        literals = {json.loads(m) for m in STRING_LITERAL.findall(theirs["expr"])}
        assert vhost in literals and literals <= {vhost, "mailer", "mailer.dead-letter"}
        # Go rejects escaped surrogate halves: characters outside the BMP stay as UTF-8.
        assert "\\ud" not in theirs["expr"]
        assert theirs["labels"] == ours["labels"] and theirs["annotations"] == ours["annotations"]


def test_a_label_value_cannot_add_a_matcher() -> None:
    series = promql_series("m", vhost='k8s",queue=~".*', queue="mailer")
    assert STRING_LITERAL.sub('""', series) == 'm{vhost="",queue=""}'


@pytest.mark.parametrize("name", ["user.signup", "a.b|c", "(x)", "a*", "^mailer$"])
def test_a_policy_pattern_matches_exactly_its_names(name: str) -> None:
    pattern = re.compile(anchored(name, "other"))
    assert pattern.fullmatch(name) and pattern.fullmatch("other")
    assert not pattern.search(name + "x") and not pattern.search("x" + name)
    assert not pattern.search("userXsignup")


def test_env_values_and_group_keys_are_carried_literally_into_the_deployment() -> None:
    """Free text reaches the Deployment as data: env values as they are, group keys inside
    EVENTINFRA_EVENTS (JSON), and KEDA's metadata names only the queue and the vhost."""
    config = platform_config()
    topology = config.topology
    hostile_value = '"}\n${HOME} {{ $value }} </script>'
    mailer = topology.consumers["mailer"]
    assert mailer.container is not None
    container = mailer.container.model_copy(update={"env": {"LOG_LEVEL": hostile_value}})
    signup = topology.events["user.signup"].model_copy(update={"group_key": hostile_value})
    changed = topology.model_copy(
        update={
            "consumers": {
                **topology.consumers,
                "mailer": mailer.model_copy(update={"container": container}),
            },
            "events": {**topology.events, "user.signup": signup},
        }
    )
    graph = build_platform(dataclasses.replace(config, topology=changed))
    deployment = graph.named("events-consumer-mailer-workload-deployment").inputs
    (app,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {variable["name"]: variable.get("value") for variable in app["env"]}
    assert env["LOG_LEVEL"] == hostile_value
    events = json.loads(env["EVENTINFRA_EVENTS"])
    assert events["user.signup"]["group_key"] == hostile_value
    scaled = graph.named("events-consumer-mailer-workload-scaled-object").inputs["spec"]
    (trigger,) = scaled["triggers"]
    assert trigger["metadata"] == {
        "protocol": "http",
        "mode": "QueueLength",
        "value": "20",
        "queueName": "mailer",
        "vhostName": "k8s",
    }
