"""An external consumer reads a queue with no idempotency store."""

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
dlq = kit.dead_letter_queue("billing-dlq", key, "billing")
queue = kit.source_queue("billing", key, dlq)
# MISCONFIGURATION: at-least-once delivery, but nothing records handled messages.
kit.consumer_policy("billing-consumer", queue, table=None)
