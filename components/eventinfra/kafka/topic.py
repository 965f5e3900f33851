"""A KafkaTopic object: the one way eventinfra creates a topic (auto-creation is off)."""

import pulumi
import pulumi_kubernetes as k8s

from eventinfra.kafka import defaults

MS_PER_HOUR = 3_600_000


def kafka_topic(
    name: str,
    *,
    opts: pulumi.ResourceOptions,
    object_name: str,
    topic: str,
    namespace: pulumi.Input[str],
    cluster_name: str,
    partitions: int,
    replicas: int,
    min_insync_replicas: int,
    retention_hours: int,
    cleanup_policy: str,
    labels: dict[str, str],
) -> k8s.apiextensions.CustomResource:
    """A retained KafkaTopic: removing it from the program leaves the topic and its events.

    The Topic Operator deletes the Kafka topic with its KafkaTopic object; Pulumi keeps the
    object (retain_on_delete), like the RabbitMQ backend keeps removed queues. `opts` give
    its parent and what it waits for.
    """
    return k8s.apiextensions.CustomResource(
        name,
        api_version=defaults.API_VERSION,
        kind="KafkaTopic",
        metadata={
            "name": object_name,
            "namespace": namespace,
            "labels": {**labels, "strimzi.io/cluster": cluster_name},
        },
        spec={
            "topicName": topic,
            "partitions": partitions,
            "replicas": replicas,
            "config": {
                "retention.ms": retention_hours * MS_PER_HOUR,
                "cleanup.policy": cleanup_policy,
                "min.insync.replicas": min_insync_replicas,
            },
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )
