"""Kafka rules: replication, dead-letter topics, literal ACLs, autoscaling on lag."""

from __future__ import annotations

from eventinfra_policies.kafka import availability, delivery, durability, security
from tests.policies.factories import UNKNOWN, check_resource, check_stack
from tests.policies.kafka.factories import acl, changed, happy_platform, kafka_trigger, user

USER_URN = "urn:pulumi:dev::shop::kubernetes:kafka.strimzi.io/v1:KafkaUser::mailer-user"


def test_happy_platform_passes_every_kafka_rule() -> None:
    stack = happy_platform()
    for policy in (
        durability.kafka_topic_replicated,
        delivery.kafka_consumer_has_dead_letter,
        availability.kafka_consumer_autoscaled,
        availability.kafka_replicas_within_partitions,
    ):
        outcome = check_stack(policy, stack)
        assert outcome.violations == [] and outcome.not_applicable is None, policy.name
    for resource in stack.values():
        assert check_resource(security.kafka_acl_literal, resource).violations == []


# ---------------------------------------------------------------- kafka-topic-replicated


def test_topic_with_two_replicas_fails() -> None:
    stack = changed(happy_platform(), "user-signup-topic", ("spec", "replicas"), 2)
    assert check_stack(durability.kafka_topic_replicated, stack).messages == [
        "KafkaTopic 'user-signup-topic' must keep at least 3 replicas (found 2 from "
        "spec.replicas), because a topic with fewer copies loses accepted events with a disk, "
        "or stops taking writes while a broker restarts. Set spec.replicas: 3."
    ]


def test_topic_without_replicas_reads_the_broker_default() -> None:
    stack = changed(happy_platform(), "user-signup-topic", ("spec", "replicas"), None)
    assert check_stack(durability.kafka_topic_replicated, stack).violations == []
    stack = changed(stack, "events-kafka", ("spec", "kafka", "config"), {})
    (message,) = check_stack(durability.kafka_topic_replicated, stack).messages
    assert "(found 1 from the broker's default.replication.factor)" in message


def test_topic_with_one_insync_replica_fails() -> None:
    path = ("spec", "config", "min.insync.replicas")
    stack = changed(happy_platform(), "user-signup-topic", path, 1)
    assert check_stack(durability.kafka_topic_replicated, stack).messages == [
        "KafkaTopic 'user-signup-topic' must set min.insync.replicas to at least 2 (found 1 from "
        "spec.config), because with acks=all a write is then acknowledged by a single broker and "
        "lost when that broker's disk goes. Set spec.config min.insync.replicas: 2."
    ]


def test_replication_minimums_are_configurable() -> None:
    config = {"minimumReplicas": 5, "minimumInSyncReplicas": 3}
    outcome = check_stack(durability.kafka_topic_replicated, happy_platform(), config)
    assert len(outcome.violations) == 3  # user.signup, mailer.dead-letter, mailer.retry
    assert all("at least 5 replicas (found 3" in m for m in outcome.messages)


def test_unknown_replicas_are_not_applicable() -> None:
    stack = changed(happy_platform(), "user-signup-topic", ("spec", "replicas"), UNKNOWN)
    outcome = check_stack(durability.kafka_topic_replicated, stack)
    assert outcome.violations == [] and "user-signup-topic" in (outcome.not_applicable or "")


# ---------------------------------------------------------------- kafka-consumer-has-dead-letter


def test_consumer_without_dead_letter_write_fails() -> None:
    stack = happy_platform()
    stack["mailer-user"].props["spec"]["authorization"]["acls"].pop()
    assert check_stack(delivery.kafka_consumer_has_dead_letter, stack).violations == [
        (
            "KafkaUser 'mailer-user' must be allowed to Write a dead-letter topic, because it "
            "reads as consumer group 'mailer' and it may write no topic besides those it reads: "
            "an event it cannot process then blocks its partition or is skipped and lost. "
            "Declare a KafkaTopic for its dead letters and grant the user Write and Describe on "
            "it (literal).",
            USER_URN,
        )
    ]


def test_consumer_writing_an_undeclared_topic_fails() -> None:
    stack = happy_platform()
    del stack["mailer-dead-letter-topic"]
    (message,) = check_stack(delivery.kafka_consumer_has_dead_letter, stack).messages
    assert "it may write 'mailer.dead-letter', none of them a KafkaTopic" in message


def test_producer_needs_no_dead_letter_topic() -> None:
    stack = {"accounts-user": happy_platform()["accounts-user"]}
    assert check_stack(delivery.kafka_consumer_has_dead_letter, stack).violations == []


def test_unknown_acls_are_not_applicable() -> None:
    stack = changed(happy_platform(), "mailer-user", ("spec", "authorization", "acls"), UNKNOWN)
    outcome = check_stack(delivery.kafka_consumer_has_dead_letter, stack)
    assert outcome.violations == [] and "mailer-user" in (outcome.not_applicable or "")


# ---------------------------------------------------------------- kafka-acl-literal


def test_wildcard_acl_fails() -> None:
    resource = user("mailer-user", acl("topic", "*", "Read"))
    assert check_resource(security.kafka_acl_literal, resource).messages == [
        "KafkaUser 'mailer-user' must name each topic it may use (found an ACL on '*' allowing "
        "Read), because a wildcard grants every current and future one, so one leaked "
        "credential reads or writes every event. List each topic and group literally."
    ]


def test_prefixed_acl_fails() -> None:
    resource = user("mailer-user", acl("group", "mail", "Read", pattern="prefix"))
    assert check_resource(security.kafka_acl_literal, resource).messages == [
        "KafkaUser 'mailer-user' must use literal ACLs (found patternType 'prefix' on group "
        "'mail'), because a prefix also grants every topic or group created later under that "
        "name. Set patternType: literal and list each name."
    ]


def test_acl_without_pattern_type_is_literal() -> None:
    entry = acl("topic", "user.signup", "Read")
    del entry["resource"]["patternType"]
    assert check_resource(security.kafka_acl_literal, user("u", entry)).violations == []


def test_unknown_acl_is_not_applicable() -> None:
    outcome = check_resource(security.kafka_acl_literal, user("u", acl("topic", UNKNOWN, "Read")))
    assert outcome.violations == [] and outcome.not_applicable


# ---------------------------------------------------------------- kafka-consumer-autoscaled


def test_consumer_without_scaled_object_fails() -> None:
    stack = happy_platform()
    del stack["mailer-scaled-object"]
    (message,) = check_stack(availability.kafka_consumer_autoscaled, stack).messages
    assert message.startswith(
        "Deployment 'mailer-deployment' must be the scaleTargetRef of a KEDA ScaledObject with "
        "a kafka trigger, because"
    )


def test_consumer_scaled_on_something_else_fails() -> None:
    stack = changed(
        happy_platform(),
        "mailer-scaled-object",
        ("spec", "triggers"),
        [{"type": "cpu", "metadata": {"value": "60"}}],
    )
    (message,) = check_stack(availability.kafka_consumer_autoscaled, stack).messages
    assert "must be scaled on its consumer group's lag by a kafka trigger" in message


def test_consumer_scaled_on_another_group_fails() -> None:
    triggers = [kafka_trigger(consumerGroup="billing")]
    stack = changed(happy_platform(), "mailer-scaled-object", ("spec", "triggers"), triggers)
    (message,) = check_stack(availability.kafka_consumer_autoscaled, stack).messages
    assert "own consumer group ('mailer')" in message and "watches 'billing'" in message


def test_unknown_group_is_not_applicable() -> None:
    path = ("spec", "template", "spec", "containers", 0, "env", 2, "value")
    stack = changed(happy_platform(), "mailer-deployment", path, UNKNOWN)
    outcome = check_stack(availability.kafka_consumer_autoscaled, stack)
    assert outcome.violations == [] and "mailer-deployment" in (outcome.not_applicable or "")


# ---------------------------------------------------------------- kafka-replicas-within-partitions


def test_more_replicas_than_partitions_fails() -> None:
    stack = changed(happy_platform(), "mailer-scaled-object", ("spec", "maxReplicaCount"), 8)
    assert check_stack(availability.kafka_replicas_within_partitions, stack).messages == [
        "ScaledObject 'mailer-scaled-object' must scale to at most 6 replicas, the partitions "
        "of topic 'user.signup' (found maxReplicaCount 8), because Kafka gives each partition "
        "to one member of a consumer group and the extra replicas sit idle while costing a "
        "rebalance each. Set spec.maxReplicaCount: 6 or add partitions."
    ]


def test_keda_default_max_replicas_exceeds_partitions() -> None:
    stack = changed(happy_platform(), "mailer-scaled-object", ("spec", "maxReplicaCount"), None)
    (message,) = check_stack(availability.kafka_replicas_within_partitions, stack).messages
    assert "(found maxReplicaCount 100)" in message


def test_a_retry_topic_with_one_partition_does_not_bound_the_group() -> None:
    # The happy platform scales to 6 with a trigger on the 1-partition mailer.retry, which only
    # the ops user writes; without that user it is one more topic the group reads, and bounds it.
    stack = happy_platform()
    del stack["ops-user"]
    (message,) = check_stack(availability.kafka_replicas_within_partitions, stack).messages
    assert "at most 1 replicas, the partitions of topic 'mailer.retry'" in message


def test_topic_outside_the_stack_is_not_checked() -> None:
    stack = happy_platform()
    del stack["user-signup-topic"]
    stack = changed(stack, "mailer-scaled-object", ("spec", "maxReplicaCount"), 50)
    assert check_stack(availability.kafka_replicas_within_partitions, stack).violations == []


def test_unknown_partitions_are_not_applicable() -> None:
    stack = changed(happy_platform(), "user-signup-topic", ("spec", "partitions"), UNKNOWN)
    outcome = check_stack(availability.kafka_replicas_within_partitions, stack)
    assert outcome.violations == [] and "mailer-scaled-object" in (outcome.not_applicable or "")
