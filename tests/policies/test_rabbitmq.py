"""RabbitMQ policies: cluster HA and persistence, quorum queues, dead-lettering, autoscaling."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from eventinfra_policies import rabbitmq

from tests.policies.factories import UNKNOWN, Res, check_resource, check_stack
from tests.policies.test_kubernetes import consumer_container, deployment, pod, scaled_object

GROUP = "kubernetes:rabbitmq.com/v1beta1"
CLUSTER_REFERENCE = {"name": "k8s-rabbitmq", "namespace": "events"}
QUEUE_URN = f"urn:pulumi:dev::shop::{GROUP}:Queue::mailer-queue"


def cluster(**spec: Any) -> Res:
    return Res(
        f"{GROUP}:RabbitmqCluster",
        "broker-cluster",
        {
            "metadata": {"name": "k8s-rabbitmq", "namespace": "events"},
            "spec": {
                "replicas": 3,
                "persistence": {"storage": "20Gi"},
                "resources": {"requests": {"cpu": "2", "memory": "4Gi"}},
                **spec,
            },
        },
    )


def _topology(kind: str, logical_name: str, /, **spec: Any) -> Res:
    return Res(
        f"{GROUP}:{kind}",
        logical_name,
        {
            "metadata": {"name": f"k8s-{logical_name}", "namespace": "events"},
            "spec": {"vhost": "k8s", "rabbitmqClusterReference": dict(CLUSTER_REFERENCE), **spec},
        },
    )


def queue(name: str, rabbitmq_name: str, **spec: Any) -> Res:
    return _topology(
        "Queue",
        name,
        name=rabbitmq_name,
        type="quorum",
        durable=True,
        deletionPolicy="retain",
        **spec,
    )


def exchange(name: str, rabbitmq_name: str, kind: str = "fanout") -> Res:
    return _topology("Exchange", name, name=rabbitmq_name, type=kind, durable=True)


def binding(name: str, source: str, destination: str, kind: str = "queue") -> Res:
    return _topology("Binding", name, source=source, destination=destination, destinationType=kind)


def policy(name: str, pattern: str, definition: dict[str, Any], **spec: Any) -> Res:
    spec = {"applyTo": "queues", "priority": 10, **spec}
    return _topology("Policy", name, name=name, pattern=pattern, definition=definition, **spec)


SAFE_DEAD_LETTERING = {
    "dead-letter-exchange": "mailer.dead-letter",
    "delivery-limit": 5,
    "dead-letter-strategy": "at-least-once",
    "overflow": "reject-publish",
}


def happy_topology() -> dict[str, Res]:
    """The mailer consumer's queue, DLX and DLQ, plus an event's unroutable parking queue."""
    resources = [
        cluster(),
        queue("mailer-queue", "mailer"),
        queue("mailer-dead-letter-queue", "mailer.dead-letter"),
        exchange("mailer-dead-letter-exchange", "mailer.dead-letter"),
        binding("mailer-dead-letter-binding", "mailer.dead-letter", "mailer.dead-letter"),
        policy("mailer-policy", "^mailer$", dict(SAFE_DEAD_LETTERING)),
        exchange("signup-exchange", "user.signup", "topic"),
        exchange("signup-unroutable", "user.signup.unroutable"),
        queue("signup-parking", "user.signup.parking"),
        binding("signup-parking-binding", "user.signup.unroutable", "user.signup.parking"),
        _topology(
            "Policy",
            "signup-policy",
            name="user.signup.unroutable",
            pattern="^user\\.signup$",
            applyTo="exchanges",
            definition={"alternate-exchange": "user.signup.unroutable"},
        ),
        binding("mailer-binding", "user.signup", "mailer"),
        deployment(),
        scaled_object(),
    ]
    return {r.name: r for r in resources}


def changed(stack: dict[str, Res], name: str, /, **spec: Any) -> dict[str, Res]:
    """A copy of `stack` with `spec` keys of resource `name` replaced (None removes a key)."""
    copied = copy.deepcopy(stack)
    target = copied[name].props["spec"]
    for key, value in spec.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return copied


def dead_letter_messages(stack: dict[str, Res]) -> list[str]:
    """The violations reported for the mailer's queue."""
    outcome = check_stack(rabbitmq.rabbitmq_queue_has_dead_letter, stack)
    assert outcome.not_applicable is None
    return [message for message, urn in outcome.violations if urn == QUEUE_URN]


def autoscaled_messages(stack: dict[str, Res]) -> list[str]:
    outcome = check_stack(rabbitmq.rabbitmq_consumer_autoscaled, stack)
    assert outcome.not_applicable is None
    return outcome.messages


def test_policy_names() -> None:
    assert [p.name for p in rabbitmq.POLICIES] == [
        "rabbitmq-cluster-ha",
        "rabbitmq-cluster-persistence",
        "rabbitmq-queue-is-quorum",
        "rabbitmq-queue-has-dead-letter",
        "rabbitmq-consumer-autoscaled",
        "rabbitmq-queue-retained-on-delete",
    ]


@pytest.mark.parametrize("policy", rabbitmq.POLICIES, ids=lambda p: p.name)
def test_happy_topology_passes(policy: Any) -> None:
    if policy.name in ("rabbitmq-queue-has-dead-letter", "rabbitmq-consumer-autoscaled"):
        outcome = check_stack(policy, happy_topology())
        assert (outcome.violations, outcome.not_applicable) == ([], None)
        return
    for resource in happy_topology().values():
        outcome = check_resource(policy, resource)
        assert (outcome.violations, outcome.not_applicable) == ([], None), resource.name


# ---------------------------------------------------------------- rabbitmq-cluster-ha


def test_single_node_cluster_fails() -> None:
    resource = cluster()
    del resource.props["spec"]["replicas"]  # the operator's default is one node
    assert check_resource(rabbitmq.rabbitmq_cluster_ha, resource).messages == [
        "RabbitmqCluster 'broker-cluster' must run at least 3 replicas (found 1), because quorum "
        "queues need a majority of their replicas and a smaller cluster stops accepting messages "
        "when one node goes. Set spec.replicas: 3."
    ]


def test_even_cluster_fails() -> None:
    assert check_resource(rabbitmq.rabbitmq_cluster_ha, cluster(replicas=4)).messages == [
        "RabbitmqCluster 'broker-cluster' must run an odd number of replicas (found 4), because "
        "an even cluster survives no more node failures than the odd one below it and a network "
        "split can leave no majority. Set spec.replicas to 3 or 5."
    ]


def test_minimum_replicas_is_configurable() -> None:
    outcome = check_resource(rabbitmq.rabbitmq_cluster_ha, cluster(), {"minimumReplicas": 5})
    assert outcome.messages[0].startswith(
        "RabbitmqCluster 'broker-cluster' must run at least 5 replicas (found 3)"
    )


def test_unknown_replicas_are_not_applicable() -> None:
    outcome = check_resource(rabbitmq.rabbitmq_cluster_ha, cluster(replicas=UNKNOWN))
    assert outcome.violations == [] and "spec.replicas can't be known" in outcome.not_applicable


# ---------------------------------------------------------------- rabbitmq-cluster-persistence


def test_cluster_without_declared_storage_fails() -> None:
    resource = cluster(persistence={})
    assert check_resource(rabbitmq.rabbitmq_cluster_persistence, resource).messages == [
        "RabbitmqCluster 'broker-cluster' must declare spec.persistence.storage, because the "
        "operator otherwise gives each node a 10Gi volume that a backlog fills, and a full disk "
        "blocks every publisher. Set spec.persistence.storage (for example 20Gi) sized for the "
        "longest backlog you must absorb."
    ]


def test_cluster_with_zero_storage_fails() -> None:
    resource = cluster(persistence={"storage": "0Gi"})
    assert check_resource(rabbitmq.rabbitmq_cluster_persistence, resource).messages == [
        "RabbitmqCluster 'broker-cluster' must keep messages on a persistent volume (found "
        "storage '0Gi'), because without one a pod restart loses every message and the quorum "
        "queue replicas on it. Set spec.persistence.storage to a non-zero size."
    ]


def test_storage_class_is_required_only_when_configured() -> None:
    config = {"requireStorageClass": True}
    assert check_resource(rabbitmq.rabbitmq_cluster_persistence, cluster(), config).messages == [
        "RabbitmqCluster 'broker-cluster' must name spec.persistence.storageClassName, because "
        "the policy config requires an explicit StorageClass (reclaim policy and disk type under "
        "your control). Set storageClassName to a class with reclaimPolicy Retain."
    ]
    classed = cluster(persistence={"storage": "20Gi", "storageClassName": "ssd-retain"})
    assert check_resource(rabbitmq.rabbitmq_cluster_persistence, classed, config).messages == []


def test_unknown_storage_is_not_applicable() -> None:
    resource = cluster(persistence={"storage": UNKNOWN})
    outcome = check_resource(rabbitmq.rabbitmq_cluster_persistence, resource)
    assert outcome.violations == [] and "storage can't be known" in outcome.not_applicable


# ---------------------------------------------------------------- rabbitmq-queue-is-quorum


@pytest.mark.parametrize(("queue_type", "found"), [("classic", "'classic'"), (None, "'classic'")])
def test_classic_queue_fails(queue_type: str | None, found: str) -> None:
    resource = changed(happy_topology(), "mailer-queue", type=queue_type)["mailer-queue"]
    assert check_resource(rabbitmq.rabbitmq_queue_is_quorum, resource).messages == [
        f"RabbitMQ queue 'mailer-queue' must be a quorum queue (found type {found}), because a "
        "classic queue lives on one node and its messages are unavailable or lost when that node "
        "fails. Set spec.type: quorum (the type is immutable: create a new queue and move the "
        "consumers)."
    ]


def test_dead_letter_and_parking_queues_must_be_quorum_too() -> None:
    for name in ("mailer-dead-letter-queue", "signup-parking"):
        resource = changed(happy_topology(), name, type="classic")[name]
        assert len(check_resource(rabbitmq.rabbitmq_queue_is_quorum, resource).messages) == 1


def test_unknown_queue_type_is_not_applicable() -> None:
    resource = changed(happy_topology(), "mailer-queue", type=UNKNOWN)["mailer-queue"]
    outcome = check_resource(rabbitmq.rabbitmq_queue_is_quorum, resource)
    assert outcome.violations == [] and "spec.type can't be known" in outcome.not_applicable


# ---------------------------------------------------------------- rabbitmq-queue-retained-on-delete


@pytest.mark.parametrize(("policy", "found"), [("delete", "'delete'"), (None, "'delete'")])
def test_queue_deleted_with_its_resource_fails(policy: str | None, found: str) -> None:
    resource = changed(happy_topology(), "mailer-queue", deletionPolicy=policy)["mailer-queue"]
    assert check_resource(rabbitmq.rabbitmq_queue_retained_on_delete, resource).messages == [
        f"RabbitMQ queue 'mailer-queue' must set spec.deletionPolicy: retain (found {found}), "
        "because the topology operator otherwise deletes the queue and every message in it when "
        "the resource is removed or renamed. Set spec.deletionPolicy: retain and delete drained "
        "queues by hand."
    ]


def test_unknown_deletion_policy_is_not_applicable() -> None:
    resource = changed(happy_topology(), "mailer-queue", deletionPolicy=UNKNOWN)["mailer-queue"]
    outcome = check_resource(rabbitmq.rabbitmq_queue_retained_on_delete, resource)
    assert outcome.violations == [] and "deletionPolicy can't be known" in outcome.not_applicable


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
    outcome = check_stack(rabbitmq.rabbitmq_queue_has_dead_letter, stack)
    assert {urn.rsplit("::", 1)[-1] for _, urn in outcome.violations} == {
        "mailer-dead-letter-queue",
        "mailer-queue",
    }


def test_parking_queues_are_recognised_by_the_alternate_exchange() -> None:
    stack = changed(happy_topology(), "signup-policy", definition={})
    outcome = check_stack(rabbitmq.rabbitmq_queue_has_dead_letter, stack)
    assert [urn.rsplit("::", 1)[-1] for _, urn in outcome.violations] == ["signup-parking"]


def test_unknown_queue_name_is_not_applicable() -> None:
    stack = changed(happy_topology(), "mailer-queue", name=UNKNOWN)
    outcome = check_stack(rabbitmq.rabbitmq_queue_has_dead_letter, stack)
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "could not check 'mailer-queue': string value at .spec.name can't be known during "
        "preview; checked again during `pulumi up`"
    )


# ---------------------------------------------------------------- rabbitmq-consumer-autoscaled


def test_consumer_without_scaled_object_fails() -> None:
    stack = happy_topology()
    del stack["mailer-scaled-object"]
    outcome = check_stack(rabbitmq.rabbitmq_consumer_autoscaled, stack)
    assert outcome.violations == [
        (
            "Deployment 'mailer-deployment' must be the scaleTargetRef of a KEDA ScaledObject "
            "with a rabbitmq trigger, because a fixed replica count cannot catch up with a "
            "backlog and the queue grows until messages expire. Add a keda.sh/v1alpha1 "
            "ScaledObject targeting 'k8s-mailer' with trigger type rabbitmq, mode QueueLength.",
            "urn:pulumi:dev::shop::kubernetes:apps/v1:Deployment::mailer-deployment",
        )
    ]


def test_scaled_object_targeting_another_deployment_does_not_count() -> None:
    stack = changed(happy_topology(), "mailer-scaled-object", scaleTargetRef={"name": "k8s-other"})
    assert len(autoscaled_messages(stack)) == 1


def test_consumer_scaled_on_cpu_fails() -> None:
    cpu = [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}]
    stack = changed(happy_topology(), "mailer-scaled-object", triggers=cpu)
    assert autoscaled_messages(stack) == [
        "Deployment 'mailer-deployment' must be scaled on its queue by a rabbitmq trigger, "
        "because ScaledObject 'mailer-scaled-object' scales it on something else and the backlog "
        "goes unseen. Add a trigger of type rabbitmq with mode QueueLength."
    ]


def test_consumer_scaled_on_message_rate_fails() -> None:
    stack = happy_topology()
    trigger = stack["mailer-scaled-object"].props["spec"]["triggers"][0]
    trigger["metadata"]["mode"] = "MessageRate"
    assert autoscaled_messages(stack) == [
        "Deployment 'mailer-deployment' must be scaled on queue length, because ScaledObject "
        "'mailer-scaled-object' uses mode 'MessageRate' and a consumer that falls behind keeps a "
        "low message rate while the backlog grows. Set the rabbitmq trigger's metadata.mode: "
        "QueueLength."
    ]


def test_consumer_scaled_on_another_queue_fails() -> None:
    stack = happy_topology()
    trigger = stack["mailer-scaled-object"].props["spec"]["triggers"][0]
    trigger["metadata"]["queueName"] = "billing"
    assert autoscaled_messages(stack) == [
        "Deployment 'mailer-deployment' must be scaled on the queue it consumes ('mailer'), "
        "because ScaledObject 'mailer-scaled-object' watches 'billing' and never sees this "
        "backlog. Set the rabbitmq trigger's metadata.queueName: mailer."
    ]


def test_deployment_that_consumes_no_queue_is_not_a_consumer() -> None:
    web = consumer_container(env=[{"name": "PORT", "value": "8080"}])
    stack = {"web": deployment("web", spec=pod(web))}
    assert autoscaled_messages(stack) == []


def test_unknown_consumer_env_is_not_applicable() -> None:
    stack = happy_topology()
    stack["mailer-deployment"] = deployment(spec=pod(consumer_container(env=UNKNOWN)))
    outcome = check_stack(rabbitmq.rabbitmq_consumer_autoscaled, stack)
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "could not check 'mailer-deployment': string value at "
        ".spec.template.spec.containers.0.env can't be known during preview; checked again "
        "during `pulumi up`"
    )
