"""Which policy pack `eventinfra check` runs, and the summary that says so on every run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import eventinfra
from eventinfra.check.cli import EXIT_INVALID, EXIT_MANDATORY_VIOLATION, EXIT_OK, main
from eventinfra.check.policy_source import PACK_ENV, bundled_pack
from tests.support import REPOSITORY

# A queue with no dead-letter queue: `sqs-queue-has-dlq` is mandatory in every pack
# configuration, so a run that really evaluated policies exits 1.
PROGRAM = """\
import pulumi_aws as aws

aws.sqs.Queue("billing", name="billing", sqs_managed_sse_enabled=True)
"""


@pytest.fixture
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project of its own, with no policies/ pack beside it."""
    folder = tmp_path / "project"
    (folder / "stacks").mkdir(parents=True)
    (folder / "Pulumi.yaml").write_text("name: billing\nruntime: python\nstackConfigDir: stacks\n")
    (folder / "stacks" / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (folder / "__main__.py").write_text(PROGRAM)
    monkeypatch.delenv(PACK_ENV, raising=False)
    return folder


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, dict[str, Any], str]:
    code = main(["check", "--format", "json", *arguments])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_without_any_pack_named_the_bundled_pack_runs(
    program: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, err = run(capsys, "--program", str(program))

    assert code == EXIT_MANDATORY_VIOLATION
    summary = document["policies"]
    assert summary["origin"] == "bundled"
    assert summary["path"] == str(bundled_pack())
    assert (summary["pack"], summary["version"]) == ("eventinfra", eventinfra.__version__)
    assert summary["config"] is None
    assert summary["policies"] == sum(summary["enforcement"].values()) > 30
    mandatory = [v for v in document["violations"] if v["enforcementLevel"] == "mandatory"]
    assert [v["policy"] for v in mandatory] == ["sqs-queue-has-dlq"]
    assert summary["mandatoryViolations"] == 1
    assert summary["violations"] == len(document["violations"])
    assert (
        f"Policies: eventinfra@{eventinfra.__version__} (bundled), no config file (the pack's "
        f"own enforcement levels): {summary['policies']} policies ("
    ) in err
    assert err.rstrip().endswith(f"{summary['violations']} violations (1 mandatory).")


def test_a_policies_folder_in_the_project_is_used_with_its_stack_config(
    program: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPOSITORY / "policies", program / "policies")
    config = program / "policies" / "config" / "dev.json"
    config.write_text(json.dumps({"all": "advisory"}))

    code, document, err = run(capsys, "--program", str(program))

    # The project's config turns every policy advisory: the violation is reported, not fatal.
    assert code == EXIT_OK
    summary = document["policies"]
    assert (summary["origin"], summary["path"]) == ("project", str(program / "policies"))
    assert summary["config"] == "policies/config/dev.json"
    assert summary["enforcement"]["advisory"] == summary["policies"]
    assert {v["enforcementLevel"] for v in document["violations"]} == {"advisory"}
    assert "sqs-queue-has-dlq" in {v["policy"] for v in document["violations"]}
    assert "(the project's policies/), config policies/config/dev.json:" in err


def test_the_environment_names_a_pack_before_the_project(
    program: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (program / "policies").mkdir()  # not a pack: no PulumiPolicy.yaml
    monkeypatch.setenv(PACK_ENV, str(REPOSITORY / "policies"))

    code, document, err = run(capsys, "--program", str(program))

    assert code == EXIT_MANDATORY_VIOLATION
    assert document["policies"]["origin"] == "EVENTINFRA_POLICY_PACK"
    assert document["policies"]["path"] == str(REPOSITORY / "policies")
    assert f"(EVENTINFRA_POLICY_PACK {REPOSITORY / 'policies'})" in err


def test_the_option_names_a_pack_before_the_environment(
    program: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PACK_ENV, str(program / "nowhere"))
    pack = REPOSITORY / "policies"

    code, document, err = run(capsys, "--program", str(program), "--policy-pack", str(pack))

    assert code == EXIT_MANDATORY_VIOLATION
    assert (document["policies"]["origin"], document["policies"]["path"]) == (
        "--policy-pack",
        str(pack),
    )
    assert f"(--policy-pack {pack})" in err


def test_no_policies_is_the_only_way_to_run_none_and_says_so(
    program: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, err = run(capsys, "--program", str(program), "--no-policies")

    assert code == EXIT_OK
    assert document["policies"] == {"ran": False, "reason": "--no-policies"}
    assert document["violations"] == []
    assert "Policies: none ran (--no-policies)" in err


def test_the_text_report_ends_with_the_summary(
    program: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--program", str(program)])
    out = capsys.readouterr().out

    assert code == EXIT_MANDATORY_VIOLATION
    assert out.splitlines()[-1].startswith(f"Policies: eventinfra@{eventinfra.__version__} (")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "the policy config file is not valid JSON"),
        ("[1, 2]", "expected a JSON object mapping policy names to settings, found list"),
        (b"\xff\xfe\x00", "the policy config file cannot be read: it is not UTF-8 text"),
    ],
)
def test_a_bad_policy_config_exits_2_naming_the_file(
    program: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, expected: str
) -> None:
    config = program / "config.json"
    if isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content)

    code = main(["check", "--program", str(program), "--policy-config", str(config)])
    err = capsys.readouterr().err

    assert code == EXIT_INVALID
    assert str(config) in err
    assert expected in err
    assert "Traceback" not in err


def test_every_pack_carries_the_package_version() -> None:
    for pack in (REPOSITORY / "policies", bundled_pack()):
        project = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())
        assert str(project["version"]) == eventinfra.__version__, pack
