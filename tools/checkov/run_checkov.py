"""Run checkov over a stack's planned Kubernetes manifests; fail on any check not accepted."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from tools.checkov.accepted import accepted
from tools.checkov.render_manifests import render


def failed_checks(checkov: str, manifests: Path) -> dict[str, list[str]]:
    """Failed check id → the resources that fail it."""
    completed = subprocess.run(
        [
            checkov,
            "--directory",
            str(manifests),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit 1 means "some check failed"; anything else, or no JSON, is checkov failing itself.
    if completed.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {completed.returncode}: {completed.stderr.strip()}")
    reports = json.loads(completed.stdout)
    failed: dict[str, list[str]] = defaultdict(list)
    for report in reports if isinstance(reports, list) else [reports]:
        if report["summary"]["parsing_errors"]:
            raise RuntimeError(f"checkov could not parse some manifests: {report['summary']}")
        for check in report["results"]["failed_checks"]:
            failed[check["check_id"]].append(check["resource"])
    return dict(failed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="k8s")
    parser.add_argument("--checkov", default="checkov", help="the checkov executable")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        written = render(args.stack, Path(folder))
        failed = failed_checks(args.checkov, Path(folder))
    allowed = accepted(args.stack)
    unexpected = {check: found for check, found in failed.items() if check not in allowed}
    for check, resources in sorted(failed.items()):
        verdict = "accepted" if check in allowed else "FAILED"
        print(f"{verdict} {check}: {', '.join(sorted(resources))}")
    print(
        f"checkov over {len(written)} manifests of stack {args.stack!r}: "
        f"{len(unexpected)} unexpected failed checks, {len(failed) - len(unexpected)} accepted "
        "(docs/checkov.md).",
        file=sys.stderr,
    )
    return 1 if unexpected else 0


if __name__ == "__main__":
    raise SystemExit(main())
