"""Test-only helpers: fixtures, harnesses and offline validators."""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
"""The repository root: the example project the tests plan."""


def link_runtime(destination: Path) -> None:
    """Let a copy of the example project build welcome_email's package as the repository does:
    its requirements name `../../runtime`, and the repository's package cache is reused (the
    content hash is the same, so nothing is rebuilt)."""
    (destination / "runtime").symlink_to(REPOSITORY / "runtime", target_is_directory=True)
    (REPOSITORY / ".eventinfra").mkdir(exist_ok=True)
    (destination / ".eventinfra").symlink_to(REPOSITORY / ".eventinfra", target_is_directory=True)
