"""The built wheel, installed into a fresh virtualenv, gates a Pulumi project outside this repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import eventinfra
from tests.support import REPOSITORY

pytestmark = pytest.mark.packaging

PROJECT_FILE = """\
name: payments
runtime:
  name: python
stackConfigDir: stacks
"""
STACK_FILE = """\
config:
  aws:region: eu-west-1
  eventinfra:settings:
    topology: events.yaml
    alarms:
      email: payments-oncall@example.com
"""
TOPOLOGY = """\
events:
  payment.captured:
    description: A card payment was captured.
producers:
  payments-api:
    publishes: [payment.captured]
consumers:
  ledger:
    subscribes: [payment.captured]
    runtime: external
"""
PROGRAM = """\
import pulumi_aws as aws

from eventinfra import SnsSqsPlatform, load_stack_config

platform = SnsSqsPlatform.from_config("payments", load_stack_config())
{extra}
"""
# Planted by hand beside the platform: a queue that retries a poison message until it expires.
QUEUE_WITHOUT_DLQ = (
    'aws.sqs.Queue("scratch", name="payments-scratch", sqs_managed_sse_enabled=True)'
)


# What the sdist cannot hold anyway, and what other tests write into the working tree while
# this one builds (setuptools walks the whole tree for the sdist: a file that vanishes
# mid-walk, like a Lambda package's `.partial`, failed the build).
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", ".eventinfra", "build", "dist", "*.egg-info", "node_modules", "__pycache__"
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "eventinfra"
    shutil.copytree(REPOSITORY, source, ignore=_NOT_SOURCE, symlinks=True)
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        env=_clean_environment(),
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv outside the repository with nothing but the wheel and its dependencies."""
    environment = tmp_path_factory.mktemp("consumer-venv")
    venv.create(environment, with_pip=True)
    (wheel,) = dist.glob("eventinfra-*.whl")
    subprocess.run(
        [str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        env=_clean_environment(),
    )
    return environment


def _clean_environment() -> dict[str, str]:
    # Nothing of this checkout may leak into the consumer's interpreter.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def test_the_wheel_and_sdist_hold_the_package_rules_schemas_and_pack_and_nothing_test_only(
    dist: Path,
) -> None:
    (wheel,) = dist.glob("eventinfra-*.whl")
    assert wheel.name == f"eventinfra-{eventinfra.__version__}-py3-none-any.whl"
    assert len(list(dist.glob(f"eventinfra-{eventinfra.__version__}.tar.gz"))) == 1
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "eventinfra/check/cli.py",
        "eventinfra/config/schemas/topology.schema.json",
        "eventinfra/config/schemas/stack-settings.schema.json",
        "eventinfra_policies/serve.py",
        "eventinfra_policies/bundled_pack/__main__.py",
        "eventinfra_policies/bundled_pack/PulumiPolicy.yaml",
    ):
        assert expected in names, expected
    assert not [n for n in names if n.startswith("tests/") or "k8s_schemas" in n]


def test_without_the_k8s_extra_the_aws_backend_imports_and_rabbitmq_says_what_to_install(
    installed: Path,
) -> None:
    probe = (
        "import importlib.util, eventinfra\n"
        "from eventinfra import SnsSqsPlatform\n"
        "print(importlib.util.find_spec('pulumi_kubernetes') is None)\n"
        "try:\n"
        "    from eventinfra import RabbitMQPlatform\n"
        "except ModuleNotFoundError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-c", probe],
        env=_clean_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "True",
        "eventinfra.RabbitMQPlatform needs pulumi_kubernetes, which comes with the Kubernetes "
        "extra: pip install 'eventinfra[k8s]'.",
    ]


def test_the_installed_cli_plans_a_foreign_project_and_gates_it_with_the_bundled_pack(
    installed: Path, tmp_path: Path
) -> None:
    project = tmp_path / "payments"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text(PROJECT_FILE)
    (project / "stacks" / "Pulumi.dev.yaml").write_text(STACK_FILE)
    (project / "events.yaml").write_text(TOPOLOGY)
    main = project / "__main__.py"

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(installed / "bin" / "eventinfra"), "check", "--stack", "dev"],
            cwd=project,
            env={**_clean_environment(), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=300,
        )

    main.write_text(PROGRAM.format(extra=QUEUE_WITHOUT_DLQ))
    planted = check()
    assert planted.returncode == 1, planted.stdout + planted.stderr
    assert "[mandatory] sqs-queue-has-dlq" in planted.stdout
    assert "aws:sqs/queue:Queue::scratch" in planted.stdout
    summary = planted.stdout.splitlines()[-1]
    assert summary.startswith(f"Policies: eventinfra@{eventinfra.__version__} (bundled), ")

    main.write_text(PROGRAM.format(extra=""))
    fixed = check()
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "eventinfra:index:EventPlatform payments" in fixed.stdout
    assert fixed.stdout.splitlines()[-1].endswith("(0 mandatory).")
