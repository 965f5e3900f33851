"""RabbitMQ availability: highly available clusters and consumers that autoscale on their queue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from ..common import (
    ReportResourceViolation,
    Res,
    Stack,
    get,
    number,
    plain,
    resource_validator,
    stack_validator,
)
from ..kubernetes.workloads import DEPLOYMENT, namespace_of, scaled_objects_by_target
from .topology import (
    CLUSTER,
    DEFAULT_CLUSTER_REPLICAS,
    DEFAULT_MIN_CLUSTER_REPLICAS,
    KEDA_QUEUE_LENGTH,
    KEDA_RABBITMQ,
    OPERATOR_PRODUCTION_EXAMPLE,
    RABBITMQ_CHECKLIST,
    consumer_queue,
)

# ---------------------------------------------------------------- rabbitmq-cluster-ha


@resource_validator([CLUSTER])
def _check_cluster_ha(
    args: ResourceValidationArgs, report_violation: ReportResourceViolation
) -> None:
    minimum = number(args.get_config().get("minimumReplicas"), DEFAULT_MIN_CLUSTER_REPLICAS)
    replicas = number(get(args.props, "spec", "replicas"), DEFAULT_CLUSTER_REPLICAS)
    if replicas < minimum:
        report_violation(
            f"RabbitmqCluster '{args.name}' must run at least {minimum:g} replicas (found "
            f"{replicas:g}), because quorum queues need a majority of their replicas and a "
            "smaller cluster stops accepting messages when one node goes. Set spec.replicas: 3."
        )
    elif replicas % 2 == 0:
        report_violation(
            f"RabbitmqCluster '{args.name}' must run an odd number of replicas (found "
            f"{replicas:g}), because an even cluster survives no more node failures than the "
            "odd one below it and a network split can leave no majority. Set spec.replicas to "
            f"{replicas - 1:g} or {replicas + 1:g}."
        )


rabbitmq_cluster_ha = ResourceValidationPolicy(
    name="rabbitmq-cluster-ha",
    description="A RabbitmqCluster runs an odd number of replicas, at least minimumReplicas "
    "(default 3).",
    validate=_check_cluster_ha,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="RabbitMQ clusters are highly available",
    config_schema=PolicyConfigSchema(
        properties={
            "minimumReplicas": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MIN_CLUSTER_REPLICAS,
            }
        }
    ),
    remediation_steps="Set the RabbitmqCluster's spec.replicas to 3 (or 5).",
    url=OPERATOR_PRODUCTION_EXAMPLE,
    framework=RABBITMQ_CHECKLIST,
    tags=["rabbitmq", "kubernetes", "availability", "cluster-operator:production-ready"],
)


# ---------------------------------------------------------------- rabbitmq-consumer-autoscaled


def _rabbitmq_triggers(scaled: Res) -> list[Mapping[str, Any]]:
    triggers = plain(scaled.get("spec", "triggers") or [])
    return [t for t in triggers if isinstance(t, Mapping) and t.get("type") == "rabbitmq"]


@stack_validator([DEPLOYMENT])
def _check_consumer_autoscaled(
    stack: Stack, deployment: Res, report_violation: ReportViolation
) -> None:
    scalers = stack.joined(scaled_objects_by_target)
    is_consumer, queue = consumer_queue(deployment)
    if not is_consumer:
        return
    target = (namespace_of(deployment.props), str(deployment.get("metadata", "name")))
    scaled = scalers.get(target)
    if scaled is None:
        report_violation(
            f"Deployment '{deployment.name}' must be the scaleTargetRef of a KEDA "
            "ScaledObject with a rabbitmq trigger, because a fixed replica count cannot "
            "catch up with a backlog and the queue grows until messages expire. Add a "
            f"keda.sh/v1alpha1 ScaledObject targeting '{target[1]}' with trigger type "
            "rabbitmq, mode QueueLength.",
            deployment.urn,
        )
        return
    triggers = _rabbitmq_triggers(scaled)
    if not triggers:
        report_violation(
            f"Deployment '{deployment.name}' must be scaled on its queue by a rabbitmq "
            f"trigger, because ScaledObject '{scaled.name}' scales it on something else "
            "and the backlog goes unseen. Add a trigger of type rabbitmq with mode "
            "QueueLength.",
            deployment.urn,
        )
        return
    metadata = [t.get("metadata") or {} for t in triggers]
    if not any(m.get("mode") == KEDA_QUEUE_LENGTH for m in metadata):
        report_violation(
            f"Deployment '{deployment.name}' must be scaled on queue length, because "
            f"ScaledObject '{scaled.name}' uses mode "
            f"{metadata[0].get('mode') or 'none'!r} and a consumer that falls behind "
            "keeps a low message rate while the backlog grows. Set the rabbitmq "
            "trigger's metadata.mode: QueueLength.",
            deployment.urn,
        )
    elif queue and not any(m.get("queueName") == queue for m in metadata):
        report_violation(
            f"Deployment '{deployment.name}' must be scaled on the queue it consumes "
            f"({queue!r}), because ScaledObject '{scaled.name}' watches "
            f"{metadata[0].get('queueName')!r} and never sees this backlog. Set the "
            f"rabbitmq trigger's metadata.queueName: {queue}.",
            deployment.urn,
        )


rabbitmq_consumer_autoscaled = StackValidationPolicy(
    name="rabbitmq-consumer-autoscaled",
    description="Every RabbitMQ consumer Deployment (env EVENTINFRA_RABBITMQ_QUEUE) is the "
    "scaleTargetRef of a KEDA ScaledObject with a rabbitmq trigger on its queue in mode "
    "QueueLength.",
    validate=_check_consumer_autoscaled,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    display_name="RabbitMQ consumers autoscale on queue length",
    remediation_steps="Add a KEDA ScaledObject targeting the Deployment with a rabbitmq trigger "
    "(mode QueueLength, queueName = the consumer's queue).",
    url=KEDA_RABBITMQ,
    tags=["rabbitmq", "kubernetes", "keda", "scaling"],
)


POLICIES: Final = [
    rabbitmq_cluster_ha,
    rabbitmq_consumer_autoscaled,
]
