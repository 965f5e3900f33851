"""A topic nobody subscribes to: SNS discards what is published."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import corpus_kit as kit

key = kit.key("events-key")
# MISCONFIGURATION: no subscription (not even a parking queue).
kit.topic("invoice-paid", key)
