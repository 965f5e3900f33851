"""Where and why a YAML parser gave up, in the words every eventinfra error message uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class YamlSyntaxProblem:
    """The line a YAML parser stopped at (None when it gave none) and its reason."""

    line: int | None
    reason: str

    def where(self, path: Path) -> str:
        """`path:line`, or the path alone."""
        return f"{path}:{self.line}" if self.line is not None else str(path)


def describe_yaml_error(error: yaml.YAMLError) -> YamlSyntaxProblem:
    """The 1-based line and the reason of a parser error, without PyYAML's multi-line context."""
    # A MarkedYAMLError points at the problem, or failing that at the construct it was reading;
    # other YAMLErrors (a ReaderError for a control character) carry no line at all.
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return YamlSyntaxProblem(
        line=mark.line + 1 if mark is not None else None,
        reason=getattr(error, "problem", None) or str(error).split("\n", 1)[0],
    )
