"""A Kafka consumer with no topic to set a poison event aside on."""

from tests.policies.corpus import k8s_kit as kit

# MISCONFIGURATION: Read on its topic and group, but Write on no dead-letter topic.
kit.kafka_user(
    "mailer",
    kit.kafka_acl("topic", "user.signup", "Read", "Describe"),
    kit.kafka_acl("group", "mailer", "Read"),
)
