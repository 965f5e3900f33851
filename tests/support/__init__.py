"""Test-only helpers: fixtures, harnesses and offline validators."""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
"""The repository root: the example project the tests plan."""
