"""What the Kubernetes backends (RabbitMQ, Kafka) declare alike."""
