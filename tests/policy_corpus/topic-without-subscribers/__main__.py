"""A topic nobody subscribes to: SNS discards what is published."""

import json
import sys
from pathlib import Path

import pulumi_aws as aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import corpus_kit as kit  # noqa: E402

key = kit.key("events-key")
# MISCONFIGURATION: no subscription (not even a parking queue).
kit.topic("invoice-paid", key)
