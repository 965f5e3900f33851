"""Queue visibility 30 s with a Lambda consumer whose timeout is 60 s."""

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
dlq = kit.dead_letter_queue("billing-dlq", key, "billing")
# MISCONFIGURATION: visibility 30 s < 6 x 60 s; messages reappear while still being handled.
queue = kit.source_queue("billing", key, dlq, visibility_timeout_seconds=30)
kit.lambda_consumer("billing-handler", queue, timeout=60)
