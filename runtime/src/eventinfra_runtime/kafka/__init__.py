"""The Kafka path: an idempotent `acks=all` publisher and a manually committing consumer."""
