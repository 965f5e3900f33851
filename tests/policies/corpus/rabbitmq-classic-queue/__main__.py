"""A RabbitMQ classic queue: its messages live on one node and go when that node does."""

from tests.policies.corpus import k8s_kit as kit

# MISCONFIGURATION: type classic (dead-lettering, retention and deletion policy are fine).
kit.queue("billing", queue_type="classic")
kit.dead_lettered("billing")
