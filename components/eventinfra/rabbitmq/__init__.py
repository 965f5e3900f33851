"""The RabbitMQ-on-Kubernetes backend: operator resources, container consumers, Redis."""
