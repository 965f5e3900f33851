"""The pack enforces exactly what the eventinfra_policies package exports, launched as the CLI does."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy, Severity

import eventinfra_policies
from eventinfra.check.policy_runner import evaluate_policies
from eventinfra_policies import all_policies
from tests.support import REPOSITORY

PACK = REPOSITORY / "policies"


def _defined_policies() -> list[Policy]:
    """Every Policy object bound at module level anywhere in the package."""
    found: dict[int, Policy] = {}
    for module_info in pkgutil.walk_packages(
        eventinfra_policies.__path__, f"{eventinfra_policies.__name__}."
    ):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, Policy):
                found[id(value)] = value
    return list(found.values())


def test_every_defined_policy_is_exported_exactly_once() -> None:
    exported = all_policies()
    assert sorted(id(p) for p in exported) == sorted(id(p) for p in _defined_policies())
    names = [p.name for p in exported]
    assert len(names) == len(set(names)) == 42


def test_all_policies_returns_a_fresh_list() -> None:
    first = all_policies()
    first.clear()
    assert len(all_policies()) == 42


@pytest.mark.parametrize("config", sorted(PACK.glob("config/*.json")), ids=lambda p: p.name)
def test_pack_configs_name_only_exported_policies(config: Path) -> None:
    keys = set(json.loads(config.read_text(encoding="utf-8"))) - {"all"}
    assert keys <= {p.name for p in all_policies()}


def _stated(setting: EnforcementLevel | Severity | None) -> object:
    # Every exported rule states its level and severity: the pack would otherwise launch it with
    # the SDK's default, which nobody chose.
    assert setting is not None
    return setting.value


def test_launched_pack_lists_exactly_the_exported_policies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The pack must find its rules the way the CLI runs it (`runpy.run_path(".")` in the pack
    # folder), not through a PYTHONPATH entry a developer happens to have set.
    inherited = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in inherited if p and Path(p).resolve() != PACK)
    )
    report = evaluate_policies([], PACK, stack="dev", project="shop")
    launched = {
        p.name: (p.policy_type, p.enforcement_level, p.severity, p.display_name, p.description)
        for p in report.policies
    }
    exported = {
        p.name: (
            "resource" if isinstance(p, ResourceValidationPolicy) else "stack",
            _stated(p.enforcement_level),
            _stated(p.severity),
            p.display_name,
            p.description,
        )
        for p in all_policies()
    }
    assert launched == exported
