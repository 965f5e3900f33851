"""The one exception family eventinfra raises for mistakes a user can fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def problem_list(subject: str, problems: Sequence[object]) -> str:
    """`2 problems in <subject>:` and one indented line per problem, as every such error reads."""
    count = len(problems)
    header = f"{count} problem{'s' if count != 1 else ''} in {subject}:"
    return "\n".join([header, *(f"  - {problem}" for problem in problems)])


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
        super().__init__(problem_list("the eventinfra configuration", self.problems))


class PlanError(EventInfraError):
    """Planning a program offline failed.

    Raised as itself when a resource the program declares would be rejected by its provider or
    by the engine; the subclasses below name the other ways a plan fails.
    """


class MockValuesError(PlanError):
    """The mocks file is malformed, or lacks a value the program needs."""


class UnknownStackError(PlanError):
    """The program has no settings file for the requested stack."""


class ProjectFileError(PlanError):
    """Pulumi.yaml or a stack settings file cannot be used."""


class ProgramError(PlanError):
    """The Pulumi program itself raised an exception."""

    def __init__(
        self, message: str, *, exception_type: str, file: Path | None, line: int | None
    ) -> None:
        super().__init__(message)
        self.exception_type = exception_type
        self.file = file
        self.line = line


class PackageError(EventInfraError):
    """A Lambda function's deployment package cannot be built."""


class PolicyError(EventInfraError):
    """The policy pack could not be run over a plan as configured."""


class PolicyConfigError(PolicyError):
    """The policy config names an unknown policy, or gives a value its config schema rejects."""

    def __init__(self, problems: Sequence[str], file: Path | None = None) -> None:
        self.problems = tuple(problems)
        self.file = file
        subject = f"the policy config {file}" if file is not None else "the policy config"
        super().__init__(problem_list(subject, self.problems))


class PolicyPackError(PolicyError):
    """The policy pack could not be started, or failed while it analyzed resources."""
