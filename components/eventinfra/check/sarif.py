"""Policy reports as SARIF 2.1.0 logs, for code-scanning dashboards and CI annotations."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from eventinfra.check.locations import SourceLocation
from eventinfra.check.policy_runner import PolicyInfo, PolicyReport, Violation

__all__ = ["SARIF_SCHEMA_URI", "SARIF_VERSION", "to_sarif"]

SARIF_VERSION: Final = "2.1.0"
SARIF_SCHEMA_URI: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
# A mandatory violation fails `pulumi preview`; an advisory one only warns; a disabled policy
# does not run ("none" is SARIF's level for "not a problem").
_SARIF_LEVELS: Final = {
    "mandatory": "error",
    "remediate": "error",
    "advisory": "warning",
    "disabled": "none",
}
_FINGERPRINT_KEY: Final = "eventinfraPolicyViolation/v1"


def to_sarif(
    report: PolicyReport,
    *,
    tool_name: str = "eventinfra",
    artifact_uri: str | None = None,
    locations: Mapping[str, SourceLocation] | None = None,
    root: Path | None = None,
) -> dict[str, Any]:
    """One SARIF run: a rule per policy, a result per violation, the URN as logical location.

    GitHub code scanning rejects results that have only logical locations: `locations` (URN →
    file and line, from `check.locations.source_locations`, key `""` for stack-wide violations)
    gives each result the file and line that caused it, its URI relative to `root` (default: the
    working directory, the repository root in CI); `artifact_uri` (for example
    `"topology.yaml"`) is the file of a result without one.
    """
    root = (root or Path.cwd()).resolve()
    rules = [_rule(policy) for policy in report.policies]
    rule_index = {policy.name: index for index, policy in enumerate(report.policies)}
    for violation in report.violations:
        if violation.policy_name not in rule_index:
            rule_index[violation.policy_name] = len(rules)
            rules.append(
                {"id": violation.policy_name, "shortDescription": _text(violation.description)}
            )
    results = [
        _result(
            violation,
            rule_index[violation.policy_name],
            _physical_location(violation, locations or {}, root, artifact_uri),
        )
        for violation in report.violations
    ]
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool_name,
                        "fullName": (
                            f"{tool_name} policy check with pack "
                            f"{report.pack_name} {report.pack_version}"
                        ),
                        **_tool_version(),
                        "rules": rules,
                    }
                },
                "invocations": [{"executionSuccessful": True}],
                "results": results,
                "properties": {
                    "policyPack": report.pack_name,
                    "policyPackVersion": report.pack_version,
                    "resourcesAnalyzed": report.resources_analyzed,
                },
            }
        ],
    }


def _tool_version() -> dict[str, str]:
    try:
        return {"version": metadata.version("eventinfra")}
    except metadata.PackageNotFoundError:  # running from a source tree without installing
        return {}


def _text(text: str) -> dict[str, str]:
    # SARIF messages must not be empty.
    return {"text": text or "(no description)"}


def _rule(policy: PolicyInfo) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": policy.name,
        "shortDescription": _text(policy.description),
        "fullDescription": _text(policy.description),
        "help": _text(policy.remediation_steps or policy.description),
        "defaultConfiguration": {
            "level": _SARIF_LEVELS[policy.enforcement_level],
            "enabled": policy.enforcement_level != "disabled",
        },
        "properties": {
            "enforcementLevel": policy.enforcement_level,
            "policyType": policy.policy_type,
            **({"severity": policy.severity} if policy.severity else {}),
            **({"tags": list(policy.tags)} if policy.tags else {}),
        },
    }
    if policy.display_name:
        rule["name"] = policy.display_name
    if _is_absolute_uri(policy.url):
        rule["helpUri"] = policy.url
    elif policy.url:
        # helpUri must be an absolute URI; keep a malformed one readable instead of invalidating
        # the whole log.
        rule["properties"]["url"] = policy.url
    return rule


def _is_absolute_uri(text: str) -> bool:
    parts = urlsplit(text)
    return bool(parts.scheme and parts.netloc) and not any(c.isspace() for c in text)


def _physical_location(
    violation: Violation,
    locations: Mapping[str, SourceLocation],
    root: Path,
    artifact_uri: str | None,
) -> dict[str, Any] | None:
    location = locations.get(violation.urn or "") or locations.get("")
    if location is None:
        return {"artifactLocation": {"uri": artifact_uri}} if artifact_uri else None
    path = location.path.resolve()
    artifact = (
        {"uri": path.relative_to(root).as_posix(), "uriBaseId": "%SRCROOT%"}
        if path.is_relative_to(root)
        else {"uri": path.as_uri()}
    )
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if location.line is not None:
        physical["region"] = {"startLine": location.line}
    return physical


def _result(
    violation: Violation, rule_index: int, physical: dict[str, Any] | None
) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if violation.urn:
        location["logicalLocations"] = [
            {
                "name": violation.urn.rsplit("::", 1)[-1],
                "fullyQualifiedName": violation.urn,
                "kind": "resource",
            }
        ]
    if physical is not None:
        location["physicalLocation"] = physical
    # The policy and resource identify a finding across runs even when its wording changes.
    identity = f"{violation.policy_pack}\n{violation.policy_name}\n{violation.urn or ''}"
    result: dict[str, Any] = {
        "ruleId": violation.policy_name,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVELS[violation.enforcement_level],
        "message": _text(violation.message),
        "partialFingerprints": {
            _FINGERPRINT_KEY: hashlib.sha256(identity.encode()).hexdigest(),
        },
        "properties": {
            "enforcementLevel": violation.enforcement_level,
            "policyPack": violation.policy_pack,
            **({"severity": violation.severity} if violation.severity else {}),
        },
    }
    if location:
        result["locations"] = [location]
    return result
