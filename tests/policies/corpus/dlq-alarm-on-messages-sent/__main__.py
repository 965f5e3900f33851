"""The DLQ alarm watches NumberOfMessagesSent, which misses dead letters."""

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
dlq = kit.dead_letter_queue("billing-dlq", key, "billing", alarmed=False)
queue = kit.source_queue("billing", key, dlq)
# MISCONFIGURATION: messages moved to a DLQ by SQS are not "sent": this alarm never fires.
kit.alarm("billing-dlq-depth", "AWS/SQS", "NumberOfMessagesSent", {"QueueName": dlq.name}, 0)
kit.consumer_policy("billing-consumer", queue, kit.idempotency_table("billing-idempotency"))
