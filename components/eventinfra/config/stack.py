"""Loading the running stack's eventinfra settings, as `pulumi up` hands them over."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pulumi

from eventinfra.config.loader import SETTINGS_KEY, PlatformConfig, load_platform_config
from eventinfra.config.yaml_reader import read_yaml
from eventinfra.errors import ConfigError, Problem

TOPOLOGY_OVERRIDE_ENV = "EVENTINFRA_TOPOLOGY"


def load_stack_config(project_dir: Path | None = None) -> PlatformConfig:
    """Validate the current stack's `eventinfra:settings` and its topology."""
    project_dir = (project_dir or Path.cwd()).resolve()
    stack = pulumi.get_stack()
    stack_file = stack_file_path(project_dir, stack)
    raw = pulumi.Config("eventinfra").get("settings")
    if raw is None:
        raise ConfigError(
            [
                Problem(
                    stack_file,
                    f"config.{SETTINGS_KEY}",
                    "is missing; expected the environment's settings (at least "
                    "`topology: <file>`), see the README's config reference.",
                )
            ]
        )
    try:
        settings = json.loads(raw)
    except json.JSONDecodeError:
        settings = raw  # a plain string: validation reports it as the wrong type
    if (override := os.environ.get(TOPOLOGY_OVERRIDE_ENV)) and isinstance(settings, dict):
        settings = {**settings, "topology": override}  # `eventinfra check --topology FILE`
    return load_platform_config(
        settings, stack=stack, project_dir=project_dir, stack_file=stack_file
    )


def stack_file_path(project_dir: Path, stack: str) -> Path:
    """Where Pulumi reads a stack's config: `stackConfigDir` from Pulumi.yaml, else the project
    folder. The file may not exist; it names where a setting belongs."""
    config_dir = project_dir
    project_file = project_dir / "Pulumi.yaml"
    if project_file.is_file():
        project = read_yaml(project_file).data
        if isinstance(project, dict) and isinstance(project.get("stackConfigDir"), str):
            config_dir = project_dir / project["stackConfigDir"]
    return config_dir / f"Pulumi.{stack}.yaml"
