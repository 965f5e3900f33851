"""Queue visibility 30 s with a Lambda consumer whose timeout is 60 s."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import corpus_kit as kit

key = kit.key("events-key")
dlq = kit.dead_letter_queue("billing-dlq", key, "billing")
# MISCONFIGURATION: visibility 30 s < 6 x 60 s; messages reappear while still being handled.
queue = kit.source_queue("billing", key, dlq, visibility_timeout_seconds=30)
kit.lambda_consumer("billing-handler", queue, timeout=60)
