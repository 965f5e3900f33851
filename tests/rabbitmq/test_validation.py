"""The rabbitmq backend's rules, called the way the loader calls them: plain values in."""

from __future__ import annotations

from eventinfra.contract import Finding
from eventinfra.rabbitmq.validation import filter_problems, reserved_name_problems


def test_a_filter_is_refused_where_it_stands() -> None:
    assert filter_problems({"plan": ["pro"]}) == [
        Finding(
            (),
            "is not supported on the 'rabbitmq' broker, whose topic exchanges route on the event "
            "name only; expected no filter (filter in the consumer, or publish a separate "
            "event), found {'plan': ['pro']}.",
        )
    ]


def test_no_filter_is_fine() -> None:
    assert filter_problems(None) == []


def test_an_event_named_like_another_events_unroutable_exchange_is_refused() -> None:
    assert reserved_name_problems(["a", "a.unroutable"], [], []) == [
        Finding(
            ("events", "a.unroutable"),
            "has the name of event 'a''s unroutable-message exchange on the 'rabbitmq' broker; "
            "expected another event name, found 'a.unroutable'.",
        )
    ]


def test_an_event_named_like_a_consumers_dead_letter_exchange_is_refused() -> None:
    assert reserved_name_problems(["worker.dead-letter"], [], ["worker"]) == [
        Finding(
            ("events", "worker.dead-letter"),
            "has the name of consumer 'worker''s dead-letter exchange on the 'rabbitmq' broker; "
            "expected another event name, found 'worker.dead-letter'.",
        )
    ]


def test_the_scaler_username_is_reserved_for_producers_and_consumers() -> None:
    findings = reserved_name_problems(["a"], ["eventinfra-keda"], ["eventinfra-keda"])
    assert [f.key_path for f in findings] == [
        ("producers", "eventinfra-keda"),
        ("consumers", "eventinfra-keda"),
    ]
    assert findings[0].message == (
        "is the RabbitMQ user eventinfra creates for KEDA on the 'rabbitmq' broker; "
        "expected another name, found 'eventinfra-keda'."
    )


def test_distinct_names_pass() -> None:
    assert reserved_name_problems(["user.signup", "order.placed"], ["api"], ["mailer"]) == []


def test_a_promql_label_value_cannot_end_its_string_literal() -> None:
    from eventinfra.kubernetes.alerts import promql_series

    assert promql_series("m", vhost="k8s", queue="mailer") == 'm{vhost="k8s",queue="mailer"}'
    assert promql_series("m", queue='a"} or vector(1) or m{x="\\') == (
        'm{queue="a\\"} or vector(1) or m{x=\\"\\\\"}'
    )
    assert promql_series("m", queue="a\nb") == 'm{queue="a\\nb"}'
