"""A Kafka consumer allowed to scale past its topic's partitions."""

from tests.policies.corpus import k8s_kit as kit

GROUP = "mailer"
kit.kafka_topic("user-signup", "user.signup", partitions=6)
kit.worker("mailer", image="ghcr.io/acme/mailer:1.4.2", env={"EVENTINFRA_KAFKA_GROUP": GROUP})
kit.disruption_budget("mailer")
# MISCONFIGURATION: 12 replicas for 6 partitions; six of them would sit idle.
kit.kafka_scaler("mailer-scaler", "mailer", GROUP, "user.signup", max_replicas=12)
