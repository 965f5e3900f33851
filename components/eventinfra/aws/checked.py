"""Values from outside the program (a StackReference output, mock values, another stack's
resource) checked once they resolve, before they reach a policy document or a resource."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from eventinfra.contract import Finding, raise_for
from eventinfra.keypaths import KeyPath

Rule = Callable[[object, KeyPath], list[Finding]]


def checked(
    value: pulumi.Input[str], rule: Rule, component: str, name: str, key: KeyPath
) -> pulumi.Input[str]:
    """`value`, refused (ConfigError) once resolved if `rule` finds a problem with it.

    Plain strings were checked with the other Args; an Output is checked inside `.apply`, so
    what reaches the policy document or the resource is always what the rule allows.
    """
    if not isinstance(value, pulumi.Output):
        return value

    def check(resolved: str) -> str:
        raise_for(
            component,
            name,
            [
                Finding(
                    finding.key_path,
                    finding.message.replace("gives", "resolved to", 1)
                    + " Check the value it comes from (a StackReference output, or the "
                    "stack's mock values for `eventinfra check`).",
                )
                for finding in rule(resolved, key)
            ],
        )
        return resolved

    return value.apply(check)
