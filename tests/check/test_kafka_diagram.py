"""The kafka backend's event flow, drawn from the recorded Strimzi and Kubernetes objects only."""

from __future__ import annotations

from pathlib import Path

from eventinfra.check.kafka_diagram import is_kafka_stack
from eventinfra.check.rabbitmq_diagram import is_rabbitmq_stack
from tests.check.test_rabbitmq_diagram import edges


def test_check_draws_producers_topics_consumer_groups_and_dead_letter_topics(
    tmp_path: Path,
) -> None:
    from eventinfra.check.cli import main

    diagram = tmp_path / "flow.md"
    assert main(["check", "--stack", "kafka", "--no-policies", "--diagram", str(diagram)]) == 0
    chart = diagram.read_text()
    assert chart.startswith('```mermaid\n---\ntitle: "eventinfra / kafka: event flow"\n')
    mailer = '("group mailer (deployment kfk-mailer)"):::consumer'
    analytics = '("group analytics (external)"):::consumer'
    fulfilment = '("group fulfilment (deployment kfk-fulfilment)"):::consumer'
    assert edges(chart) == {
        '["kfk-accounts-api"]:::producer -->|"publishes"| (["user.signup"]):::topic',
        '["kfk-checkout-api"]:::producer -->|"publishes"| (["order.placed"]):::topic',
        '["kfk-billing"]:::producer -->|"publishes"| (["invoice.paid"]):::topic',
        f'(["user.signup"]):::topic --> {mailer}',
        f'(["user.signup"]):::topic --> {analytics}',
        f'(["order.placed"]):::topic --> {analytics}',
        f'(["order.placed"]):::topic --> {fulfilment}',
        f'{mailer} -.->|"dead letters"| [("mailer.dead-letter")]:::deadletter',
        f'{analytics} -.->|"dead letters"| [("analytics.dead-letter")]:::deadletter',
        f'{fulfilment} -.->|"dead letters"| [("fulfilment.dead-letter")]:::deadletter',
        # Each consumer's retry topic: filled by `eventinfra dlq redrive`, read by it alone.
        *(
            edge
            for consumer, group in (("mailer", mailer), ("analytics", analytics))
            for edge in (
                f'[("{consumer}.dead-letter")]:::deadletter -.->|"eventinfra dlq redrive"| '
                f'(["{consumer}.retry"]):::topic',
                f'(["{consumer}.retry"]):::topic -->|"redriven"| {group}',
            )
        ),
        '[("fulfilment.dead-letter")]:::deadletter -.->|"eventinfra dlq redrive"| '
        '(["fulfilment.retry"]):::topic',
        f'(["fulfilment.retry"]):::topic -->|"redriven"| {fulfilment}',
    }


def test_a_kafka_stack_is_neither_rabbitmq_nor_aws() -> None:
    from eventinfra.check.synth import synthesize
    from tests.support import REPOSITORY

    assert is_kafka_stack(synthesize(REPOSITORY, "kafka").resources)
    assert not is_rabbitmq_stack(synthesize(REPOSITORY, "kafka").resources)
    assert not is_kafka_stack(synthesize(REPOSITORY, "k8s").resources)
