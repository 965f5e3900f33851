"""checkov over the k8s and kafka stacks' planned manifests fails only the checks docs/checkov.md
accepts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import REPOSITORY
from tools.checkov.accepted import ACCEPTED, ACCEPTED_BY_STACK, accepted
from tools.checkov.render_manifests import render
from tools.checkov.run_checkov import failed_checks


def _checkov() -> str | None:
    """`$EVENTINFRA_CHECKOV`, else the project's `.venv-checkov` (tools/checkov/run.sh makes it),
    else checkov on the PATH."""
    configured = os.environ.get("EVENTINFRA_CHECKOV")
    if configured:
        return configured
    local = REPOSITORY / ".venv-checkov" / "bin" / "checkov"
    return str(local) if local.exists() else shutil.which("checkov")


CHECKOV = _checkov()


@pytest.mark.parametrize("stack", ["k8s", "kafka"])
def test_checkov_fails_only_the_accepted_checks(tmp_path: Path, stack: str) -> None:
    # Fails, never skips: `make test` installs the pinned checkov first (`make checkov-tools`).
    assert CHECKOV is not None, "checkov is not installed: run `make checkov-tools`"
    render(stack, tmp_path)
    failed = failed_checks(CHECKOV, tmp_path)
    allowed = accepted(stack)
    assert {check: found for check, found in failed.items() if check not in allowed} == {}
    # Once failed, fixed in the manifests: secrets as files, a high UID for Redis.
    assert not {"CKV_K8S_35", "CKV_K8S_40"} & set(failed)
    # A stack's own exception still fails: once it is fixed, it leaves the accepted list.
    assert set(ACCEPTED_BY_STACK.get(stack, {})) <= set(failed)


def test_every_accepted_check_is_explained_in_the_docs() -> None:
    docs = (REPOSITORY / "docs" / "checkov.md").read_text(encoding="utf-8")
    every = [*ACCEPTED, *(check for own in ACCEPTED_BY_STACK.values() for check in own)]
    assert [check for check in every if f"`{check}`" not in docs] == []


@pytest.mark.parametrize(
    ("stack", "kinds"),
    [
        ("k8s", {"deployment", "statefulset", "networkpolicy", "rabbitmqcluster", "secret"}),
        ("kafka", {"deployment", "statefulset", "networkpolicy", "kafka", "kafkauser", "secret"}),
    ],
)
def test_the_manifests_are_every_planned_kubernetes_object(
    tmp_path: Path, stack: str, kinds: set[str]
) -> None:
    written = render(stack, tmp_path)
    assert kinds <= {path.name.split("-", 1)[0] for path in written}
