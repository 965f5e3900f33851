"""Type-checked by test_contract.py, never run: a topic without its key must not pass mypy."""

from eventinfra import EventTopic

EventTopic("t", {})
