"""The one exception family eventinfra raises for mistakes a user can fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class EventInfraError(ValueError):
    """Base of every error caused by user input; the CLI prints these without a traceback."""

    is_user_error = True


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file: where, and what was expected and found."""

    file: Path | None
    key_path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = str(self.file) if self.file else "<config>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" {self.key_path}:" if self.key_path else ""
        return f"{where}:{key} {self.message}"


class ConfigError(EventInfraError):
    """Every problem found in the topology and stack settings, raised once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(
            problems, key=lambda p: (str(p.file), p.line or 0, p.key_path, p.message)
        )
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the eventinfra configuration:"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))
