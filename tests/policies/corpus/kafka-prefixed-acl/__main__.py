"""A Kafka producer allowed to write every topic whose name starts with 'orders'."""

from tests.policies.corpus import k8s_kit as kit

# MISCONFIGURATION: patternType prefix (a producer needs no group and no dead-letter topic).
kit.kafka_user(
    "checkout-api", kit.kafka_acl("topic", "orders", "Write", "Describe", pattern="prefix")
)
