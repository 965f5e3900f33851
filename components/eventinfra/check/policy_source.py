"""Which policy pack and which policy config `eventinfra check` runs, and where each came from."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from eventinfra.errors import EventInfraError

PACK_ENV: Final = "EVENTINFRA_POLICY_PACK"
BUNDLED_PACK_PACKAGE: Final = "eventinfra_policies"
BUNDLED_PACK_FOLDER: Final = "bundled_pack"

PackOrigin = Literal["--policy-pack", "EVENTINFRA_POLICY_PACK", "project", "bundled"]


@dataclass(frozen=True)
class PolicySource:
    """The pack to run and the policy config to run it with, each with its origin."""

    pack: Path
    origin: PackOrigin
    config_file: Path | None
    """None: no config file applies, the pack's own enforcement levels and defaults do."""
    config: dict[str, Any] | None


def choose_policy_source(
    program: Path, stack: str, pack_option: Path | None, config_option: Path | None
) -> PolicySource:
    """The pack: `--policy-pack`, then `$EVENTINFRA_POLICY_PACK`, then `<program>/policies`
    when it holds a pack, then the pack installed with eventinfra. Never none: a gate that
    runs nothing must not pass."""
    pack, origin = _choose_pack(program, pack_option)
    config_file = config_option
    if config_file is None:
        candidate = program / "policies" / "config" / f"{stack}.json"
        config_file = candidate if candidate.is_file() else None
    config = _read_config(config_file) if config_file is not None else None
    return PolicySource(pack, origin, config_file, config)


def _choose_pack(program: Path, pack_option: Path | None) -> tuple[Path, PackOrigin]:
    if pack_option is not None:
        return pack_option.resolve(), "--policy-pack"
    if from_environment := os.environ.get(PACK_ENV):
        return Path(from_environment).resolve(), "EVENTINFRA_POLICY_PACK"
    project_pack = program / "policies"
    if (project_pack / "PulumiPolicy.yaml").is_file():
        return project_pack.resolve(), "project"
    return bundled_pack(), "bundled"


def bundled_pack() -> Path:
    """The pack folder shipped inside the eventinfra wheel."""
    try:
        folder = resources.files(BUNDLED_PACK_PACKAGE).joinpath(BUNDLED_PACK_FOLDER)
    except ModuleNotFoundError:
        raise EventInfraError(
            f"No policy pack to run: neither --policy-pack, ${PACK_ENV} nor a policies/ pack in "
            f"the program names one, and the pack bundled with eventinfra (package "
            f"{BUNDLED_PACK_PACKAGE!r}) is not installed; reinstall eventinfra, or pass "
            "--no-policies to plan without policies."
        ) from None
    return Path(str(folder))


def _read_config(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise EventInfraError(
            f"The policy config file {path} is a folder; expected a JSON file of policy settings."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EventInfraError(f"The policy config file {path} does not exist.") from None
    except UnicodeDecodeError:
        raise EventInfraError(
            f"{path}: the policy config file cannot be read: it is not UTF-8 text."
        ) from None
    except OSError as error:
        raise EventInfraError(
            f"{path}: the policy config file cannot be read: {error.strerror or error}."
        ) from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise EventInfraError(
            f"{path}:{error.lineno}: the policy config file is not valid JSON: "
            f"{error.msg} (column {error.colno})."
        ) from None
    if not isinstance(config, dict):
        raise EventInfraError(
            f"{path}: expected a JSON object mapping policy names to settings, "
            f"found {type(config).__name__} {config!r:.60}."
        )
    return config
