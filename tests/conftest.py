"""Fixtures shared by the whole suite: the real RabbitMQ broker, started once per session."""

pytest_plugins = ["tests.support.broker_fixtures"]
