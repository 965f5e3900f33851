"""The Kafka-on-Kubernetes backend: Strimzi resources, container consumers, Redis idempotency."""
