"""A Kafka topic kept on a single broker."""

from tests.policies.corpus import k8s_kit as kit

# MISCONFIGURATION: one replica (a topic of its own: no user or consumer needed to show it).
kit.kafka_topic("order-placed", "order.placed", replicas=1, min_insync=1)
