"""A topic nobody subscribes to: SNS discards what is published."""

from tests.policies.corpus import corpus_kit as kit

key = kit.key("events-key")
# MISCONFIGURATION: no subscription (not even a parking queue).
kit.topic("invoice-paid", key)
