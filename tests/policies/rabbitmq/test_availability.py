"""RabbitMQ availability rules: highly available clusters, consumers autoscaled on their queue."""

from __future__ import annotations

from eventinfra_policies.rabbitmq import availability
from tests.policies.factories import UNKNOWN, Res, check_resource, check_stack
from tests.policies.kubernetes.factories import consumer_container, deployment, pod
from tests.policies.rabbitmq.factories import changed, cluster, happy_topology


def autoscaled_messages(stack: dict[str, Res]) -> list[str]:
    outcome = check_stack(availability.rabbitmq_consumer_autoscaled, stack)
    assert outcome.not_applicable is None
    return outcome.messages


# ---------------------------------------------------------------- rabbitmq-cluster-ha


def test_single_node_cluster_fails() -> None:
    resource = cluster()
    del resource.props["spec"]["replicas"]  # the operator's default is one node
    assert check_resource(availability.rabbitmq_cluster_ha, resource).messages == [
        "RabbitmqCluster 'broker-cluster' must run at least 3 replicas (found 1), because quorum "
        "queues need a majority of their replicas and a smaller cluster stops accepting messages "
        "when one node goes. Set spec.replicas: 3."
    ]


def test_even_cluster_fails() -> None:
    assert check_resource(availability.rabbitmq_cluster_ha, cluster(replicas=4)).messages == [
        "RabbitmqCluster 'broker-cluster' must run an odd number of replicas (found 4), because "
        "an even cluster survives no more node failures than the odd one below it and a network "
        "split can leave no majority. Set spec.replicas to 3 or 5."
    ]


def test_minimum_replicas_is_configurable() -> None:
    outcome = check_resource(availability.rabbitmq_cluster_ha, cluster(), {"minimumReplicas": 5})
    assert outcome.messages[0].startswith(
        "RabbitmqCluster 'broker-cluster' must run at least 5 replicas (found 3)"
    )


def test_unknown_replicas_are_not_applicable() -> None:
    outcome = check_resource(availability.rabbitmq_cluster_ha, cluster(replicas=UNKNOWN))
    assert outcome.violations == [] and "spec.replicas can't be known" in (
        outcome.not_applicable or ""
    )


# ---------------------------------------------------------------- rabbitmq-consumer-autoscaled


def test_consumer_without_scaled_object_fails() -> None:
    stack = happy_topology()
    del stack["mailer-scaled-object"]
    outcome = check_stack(availability.rabbitmq_consumer_autoscaled, stack)
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
    outcome = check_stack(availability.rabbitmq_consumer_autoscaled, stack)
    assert outcome.violations == []
    assert outcome.not_applicable == (
        "could not check 'mailer-deployment': string value at "
        ".spec.template.spec.containers.0.env can't be known during preview; checked again "
        "during `pulumi up`"
    )
