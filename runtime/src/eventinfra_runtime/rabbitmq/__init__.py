"""The RabbitMQ producer transport, the container consumer and its Redis idempotency store."""
