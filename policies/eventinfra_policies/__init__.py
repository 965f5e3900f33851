"""eventinfra's CrossGuard rules as a library; `all_policies()` is what the pack enforces.

Layout: one folder per platform the rules read (`aws/`, `kubernetes/`, `rabbitmq/`, `kafka/`),
and inside it one module per concern, named from one vocabulary shared by every platform:

- `delivery`: a message reaches a consumer or a dead-letter queue and never vanishes;
- `durability`: an accepted message survives node failures, restarts and resource deletion;
- `availability`: consumers and brokers keep running through failures, drains and load;
- `idempotency`: a consumer handles each message once although it is delivered at least once;
- `monitoring`: someone is told when messages pile up or consumers fail;
- `security`: encryption, least privilege, TLS and pod security.

A platform has a module only for the concerns it has rules for. Helpers shared by every platform
live in `common.py`; a platform's own readers live beside its rules (`kubernetes/workloads.py`,
`rabbitmq/topology.py`). Each module lists its policies in `POLICIES`, each platform package
joins its modules' lists, and `all_policies()` joins the platforms.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import aws, kafka, kubernetes, rabbitmq


def all_policies() -> list[Policy]:
    """Every policy of the pack, AWS first; a new list on each call, so callers may extend it."""
    return [*aws.POLICIES, *kubernetes.POLICIES, *rabbitmq.POLICIES, *kafka.POLICIES]


__all__ = ["all_policies", "aws", "kafka", "kubernetes", "rabbitmq"]
