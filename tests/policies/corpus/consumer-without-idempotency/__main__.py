"""An external consumer reads a queue with no idempotency store."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import corpus_kit as kit

key = kit.key("events-key")
dlq = kit.dead_letter_queue("billing-dlq", key, "billing")
queue = kit.source_queue("billing", key, dlq)
# MISCONFIGURATION: at-least-once delivery, but nothing records handled messages.
kit.consumer_policy("billing-consumer", queue, table=None)
