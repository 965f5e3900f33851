"""A Kafka consumer Deployment with a fixed replica count."""

from tests.policies.corpus import k8s_kit as kit

# MISCONFIGURATION: it reads as group 'mailer' (the runtime's env contract), but no KEDA
# ScaledObject scales it on that group's lag.
kit.worker("mailer", image="ghcr.io/acme/mailer:1.4.2", env={"EVENTINFRA_KAFKA_GROUP": "mailer"})
