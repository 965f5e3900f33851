"""The kafka backend's rules, called the way the loader calls them: plain values in."""

from __future__ import annotations

from eventinfra.contract import Finding
from eventinfra.kafka.validation import (
    filter_problems,
    max_replicas_problems,
    reserved_name_problems,
    topic_problems,
    topic_settings_problems,
)


def test_a_filter_is_refused_where_it_stands() -> None:
    assert filter_problems({"plan": ["pro"]}) == [
        Finding(
            (),
            "is not supported on the 'kafka' broker, where a consumer group reads every event "
            "of its topics; expected no filter (filter in the consumer, or publish a separate "
            "event), found {'plan': ['pro']}.",
        )
    ]
    assert filter_problems(None) == []


def test_topics_differing_only_in_dot_and_underscore_collide() -> None:
    assert topic_problems(["order.placed", "order_placed"], []) == [
        Finding(
            ("events", "order_placed"),
            "gives the Kafka topic name 'order_placed' (the topic of event 'order_placed'), "
            "which Kafka refuses beside the topic of event 'order.placed' (from "
            "events.order.placed): names that differ only in '.' and '_' collide in its "
            "metrics; expected another name.",
        )
    ]


def test_an_event_named_like_a_dead_letter_topic_is_refused() -> None:
    assert topic_problems(["worker.dead-letter"], ["worker"]) == [
        Finding(
            ("consumers", "worker"),
            "gives the Kafka topic name 'worker.dead-letter' (the dead-letter topic of consumer "
            "'worker'), which is already the topic of event 'worker.dead-letter'; expected "
            "another name.",
        )
    ]


def test_an_event_named_like_a_retry_topic_is_refused() -> None:
    assert topic_problems(["worker.retry"], ["worker"]) == [
        Finding(
            ("consumers", "worker"),
            "gives the Kafka topic name 'worker.retry' (the retry topic of consumer 'worker'), "
            "which is already the topic of event 'worker.retry'; expected another name.",
        )
    ]


def test_a_retry_topic_colliding_in_metric_names_is_refused() -> None:
    (finding,) = topic_problems(["worker_retry"], ["worker"])
    assert finding.key_path == ("consumers", "worker")
    assert "'worker.retry' (the retry topic of consumer 'worker'), which Kafka refuses" in (
        finding.message
    )


def test_an_application_named_like_the_ops_user_is_refused() -> None:
    applications = {"producers": ["billing"], "consumers": ["eventinfra-ops", "mailer"]}
    assert reserved_name_problems(applications) == [
        Finding(
            ("consumers", "eventinfra-ops"),
            "is named 'eventinfra-ops', which eventinfra uses for the ops commands' KafkaUser "
            "and consumer group (`eventinfra dlq`); expected another name.",
        )
    ]


def test_a_topic_name_longer_than_kafka_allows_is_refused() -> None:
    consumer = "c" * 240
    assert topic_problems([], [consumer]) == [
        Finding(
            ("consumers", consumer),
            f"gives the Kafka topic name '{consumer}.dead-letter' (the dead-letter topic of "
            f"consumer '{consumer}', 252 characters); expected at most 249.",
        )
    ]


def test_topic_settings_must_name_declared_events() -> None:
    assert topic_settings_problems(["order.placd"], ["order.placed"]) == [
        Finding(
            ("order.placd",),
            "names no declared event; expected one of 'order.placed', found 'order.placd'.",
        )
    ]


def test_more_replicas_than_partitions_is_refused() -> None:
    assert max_replicas_problems(8, {"a": 12, "b": 6}) == [
        Finding(
            ("replicas", "max"),
            "expected at most 6, the partitions of topic 'b', as a consumer group gives each "
            "partition to one member and the others sit idle; found 8 (lower it, or raise the "
            "topic's partitions in `kafka.topics`).",
        )
    ]
    assert max_replicas_problems(6, {"a": 12, "b": 6}) == []
