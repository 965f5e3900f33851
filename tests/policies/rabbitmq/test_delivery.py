"""RabbitMQ delivery rules: every queue dead-letters safely."""

from __future__ import annotations

from typing import Any

import pytest

from eventinfra_policies.rabbitmq import delivery
from tests.policies.factories import UNKNOWN, Res, check_stack
from tests.policies.rabbitmq.factories import (
    QUEUE_URN,
    SAFE_DEAD_LETTERING,
    binding,
    changed,
    exchange,
    happy_topology,
    policy,
)


def dead_letter_messages(stack: dict[str, Res]) -> list[str]:
    """The violations reported for the mailer's queue."""
    outcome = check_stack(delivery.rabbitmq_queue_has_dead_letter, stack)
    assert outcome.not_applicable is None
    return [message for message, urn in outcome.violations if urn == QUEUE_URN]


# ---------------------------------------------------------------- rabbitmq-queue-has-dead-letter

NO_DEAD_LETTER = (
    "RabbitMQ queue 'mailer-queue' must dead-letter to an exchange ({found}), because a message "
    "its consumer keeps rejecting is otherwise requeued forever or dropped. Add a "
    "rabbitmq.com/v1beta1 Policy (applyTo queues, same vhost, pattern matching the queue) with "
    "definition {{dead-letter-exchange: <dlx>, delivery-limit: 5, dead-letter-strategy: "
    "at-least-once, overflow: reject-publish}}."
)
NO_POLICY = NO_DEAD_LETTER.format(found="no policy applies to it")
LIMITS_WIN = NO_DEAD_LETTER.format(
    found="policy 'mailer-limits', the one that applies to it, sets none"
)


@pytest.mark.parametrize(
    "change",
    [
        {"pattern": "^billing$"},  # matches another queue
        {"pattern": "^mail$"},  # a prefix is not the queue
        {"vhost": "other"},
        {"applyTo": "exchanges"},
        {"applyTo": "classic_queues"},
        {"rabbitmqClusterReference": {"name": "other-rabbitmq", "namespace": "events"}},
    ],
)
def test_queue_without_a_matching_policy_fails(change: dict[str, Any]) -> None:
    stack = changed(happy_topology(), "mailer-policy", **change)
    assert dead_letter_messages(stack) == [NO_POLICY]


def test_quorum_queue_policies_and_all_policies_apply() -> None:
    for apply_to in ("quorum_queues", "all", None):
        stack = changed(happy_topology(), "mailer-policy", applyTo=apply_to)
        assert dead_letter_messages(stack) == []


def test_higher_priority_policy_without_dead_lettering_wins() -> None:
    stack = happy_topology()
    stack["mailer-limits"] = policy("mailer-limits", "^mail", {"max-length": 1000}, priority=20)
    assert dead_letter_messages(stack) == [LIMITS_WIN]


def test_queue_arguments_can_set_dead_lettering() -> None:
    stack = changed(happy_topology(), "mailer-policy", pattern="^nothing$")
    arguments = {"x-" + key: value for key, value in SAFE_DEAD_LETTERING.items()}
    stack = changed(stack, "mailer-queue", arguments=arguments)
    assert dead_letter_messages(stack) == []


def test_queue_arguments_are_checked_like_a_policy() -> None:
    stack = changed(happy_topology(), "mailer-policy", pattern="^nothing$")
    arguments = {"x-dead-letter-exchange": "mailer.dead-letter", "x-delivery-limit": 5}
    stack = changed(stack, "mailer-queue", arguments=arguments)
    assert dead_letter_messages(stack) == [
        "RabbitMQ queue 'mailer-queue' must set dead-letter-strategy: at-least-once (found none "
        "in its queue arguments), because the default at-most-once strategy drops a dead letter "
        "the target queue does not confirm. Set dead-letter-strategy: at-least-once with "
        "overflow: reject-publish."
    ]


def test_missing_delivery_limit_fails() -> None:
    definition = {k: v for k, v in SAFE_DEAD_LETTERING.items() if k != "delivery-limit"}
    stack = changed(happy_topology(), "mailer-policy", definition=definition)
    assert dead_letter_messages(stack) == [
        "RabbitMQ queue 'mailer-queue' must set a positive delivery-limit (found none in policy "
        "'mailer-policy'), because a poison message is otherwise redelivered without end and "
        "never reaches the dead-letter exchange. Set delivery-limit (for example 5) in policy "
        "'mailer-policy'."
    ]


def test_unlimited_delivery_limit_fails() -> None:
    definition = {**SAFE_DEAD_LETTERING, "delivery-limit": -1}
    stack = changed(happy_topology(), "mailer-policy", definition=definition)
    assert dead_letter_messages(stack) == [
        "RabbitMQ queue 'mailer-queue' must set a positive delivery-limit (found -1 in policy "
        "'mailer-policy'), because a poison message is otherwise redelivered without end and "
        "never reaches the dead-letter exchange. Set delivery-limit (for example 5) in policy "
        "'mailer-policy'."
    ]


def test_policies_of_equal_priority_must_each_dead_letter() -> None:
    stack = happy_topology()
    stack["mailer-limits"] = policy("mailer-limits", "^mail", {"max-length": 1000})
    assert dead_letter_messages(stack) == [LIMITS_WIN]


def test_at_most_once_dead_lettering_fails() -> None:
    definition = {**SAFE_DEAD_LETTERING, "dead-letter-strategy": "at-most-once"}
    stack = changed(happy_topology(), "mailer-policy", definition=definition)
    assert dead_letter_messages(stack) == [
        "RabbitMQ queue 'mailer-queue' must set dead-letter-strategy: at-least-once (found "
        "'at-most-once' in policy 'mailer-policy'), because the default at-most-once strategy "
        "drops a dead letter the target queue does not confirm. Set dead-letter-strategy: "
        "at-least-once with overflow: reject-publish."
    ]


def test_at_least_once_without_reject_publish_fails() -> None:
    definition = {k: v for k, v in SAFE_DEAD_LETTERING.items() if k != "overflow"}
    stack = changed(happy_topology(), "mailer-policy", definition=definition)
    assert dead_letter_messages(stack) == [
        "RabbitMQ queue 'mailer-queue' must set overflow: reject-publish (found none in policy "
        "'mailer-policy'), because at-least-once dead-lettering is silently switched back to "
        "at-most-once under any other overflow behaviour. Set overflow: reject-publish."
    ]


def test_dead_letter_exchange_routing_nowhere_fails() -> None:
    stack = happy_topology()
    del stack["mailer-dead-letter-binding"]
    del stack["mailer-dead-letter-queue"]
    assert dead_letter_messages(stack) == [
        "RabbitMQ queue 'mailer-queue' must dead-letter to an exchange bound to a queue, because "
        "its dead-letter exchange 'mailer.dead-letter' routes nowhere and dead letters are "
        "dropped. Bind a dead-letter queue to that exchange."
    ]


def test_dead_letter_queues_are_recognised_by_their_binding_not_their_name() -> None:
    stack = happy_topology()
    del stack["mailer-dead-letter-binding"]
    stack["mailer-dead-letter-binding"] = binding(
        "mailer-dead-letter-binding", "mailer.dead-letter", "mailer.dead-letter.archive", "exchange"
    )
    stack["mailer-archive"] = exchange("mailer-archive", "mailer.dead-letter.archive")
    stack["mailer-archive-binding"] = binding(
        "mailer-archive-binding", "mailer.dead-letter.archive", "mailer.dead-letter"
    )
    assert dead_letter_messages(stack) == []  # reached through an exchange-to-exchange binding
    del stack["mailer-archive-binding"]
    outcome = check_stack(delivery.rabbitmq_queue_has_dead_letter, stack)
    assert {urn.rsplit("::", 1)[-1] for urn in outcome.urns} == {
        "mailer-dead-letter-queue",
        "mailer-queue",
    }


def test_parking_queues_are_recognised_by_the_alternate_exchange() -> None:
    stack = changed(happy_topology(), "signup-policy", definition={})
    outcome = check_stack(delivery.rabbitmq_queue_has_dead_letter, stack)
    assert [urn.rsplit("::", 1)[-1] for urn in outcome.urns] == ["signup-parking"]


def test_unknown_queue_name_is_not_applicable() -> None:
    stack = changed(happy_topology(), "mailer-queue", name=UNKNOWN)
    outcome = check_stack(delivery.rabbitmq_queue_has_dead_letter, stack)
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "could not check 'mailer-queue': string value at .spec.name can't be known during "
        "preview; checked again during `pulumi up`"
    )
