"""Small valid topologies and settings that tests mutate, one mistake at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

HANDLER = "def handler(event, context):\n    return {'batchItemFailures': []}\n"


def base_topology() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "events": {
                "user.signup": {"description": "A user signed up.", "schema": "user.json"},
                "order.placed": {"description": "An order was placed."},
                "invoice.paid": {"description": "Nobody listens yet."},
            },
            "producers": {
                "accounts-api": {"publishes": ["user.signup"]},
                "checkout-api": {"publishes": ["order.placed"]},
            },
            "consumers": {
                "welcome-email": {
                    "subscribes": [{"event": "user.signup", "filter": {"plan": ["pro", "team"]}}],
                    "runtime": "lambda",
                    "lambda": {
                        "code": "functions/welcome",
                        "handler": "app.handler",
                        "timeout_seconds": 30,
                        "batch_size": 10,
                        "max_concurrency": 5,
                    },
                    "idempotency": {"key": "userId", "ttl_seconds": 86400},
                },
                "analytics": {
                    "subscribes": ["user.signup", "order.placed"],
                    "runtime": "external",
                },
            },
        }
    )


def base_settings() -> dict[str, Any]:
    return {
        "broker": "sns-sqs",
        "topology": "topology.yaml",
        "name_prefix": "dev",
        "alarms": {"email": "oncall@example.com"},
        "tags": {"team": "platform"},
    }


def write_project(
    root: Path,
    topology: dict[str, Any] | str | None = None,
    settings: dict[str, Any] | None = None,
    stack: str = "dev",
) -> Path:
    """A project folder with topology.yaml, its code and schema, and stacks/Pulumi.<stack>.yaml."""
    (root / "functions" / "welcome").mkdir(parents=True, exist_ok=True)
    (root / "functions" / "welcome" / "app.py").write_text(HANDLER)
    (root / "user.json").write_text('{"type": "object"}')
    text = topology if isinstance(topology, str) else yaml.safe_dump(topology or base_topology())
    (root / "topology.yaml").write_text(text)
    (root / "stacks").mkdir(exist_ok=True)
    stack_file = root / "stacks" / f"Pulumi.{stack}.yaml"
    stack_file.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "aws:region": "eu-west-1",
                    "eventinfra:settings": settings if settings is not None else base_settings(),
                }
            },
            sort_keys=False,
        )
    )
    return stack_file
