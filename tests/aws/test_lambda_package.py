"""The Lambda consumer as planned: its package imports alone, its environment is the runtime's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any, Final

import pytest
from eventinfra_runtime import contract

from eventinfra.aws.lambda_package import PackageError, build_package
from eventinfra.check.synth import Synthesis, synthesize
from eventinfra.graph import RecordedResource
from tests.support import REPOSITORY

FUNCTION: Final = "aws:lambda/function:Function"
FUNCTION_NAME: Final = "dev-welcome-email"


@pytest.fixture(scope="module")
def dev() -> Synthesis:
    return synthesize(REPOSITORY, "dev")


@pytest.fixture(scope="module")
def function(dev: Synthesis) -> RecordedResource:
    (recorded,) = [f for f in dev.by_type(FUNCTION) if f.inputs["name"] == FUNCTION_NAME]
    return recorded


def _archive(function: RecordedResource) -> Path:
    return REPOSITORY / str(function.inputs["code"]["__archive"]["path"])


def _python(runtime: str) -> str:
    """An interpreter of the function's runtime version; missing, the test fails."""
    version = runtime.removeprefix("python")
    pyenv = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    for candidate in [shutil.which(f"python{version}"), *map(str, pyenv)]:
        # A pyenv shim is on the PATH even where it cannot run that version.
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    pytest.fail(f"No Python {version} here to import the {runtime} package with.")


def test_the_recorded_package_imports_the_handler_and_its_dependencies_alone(
    function: RecordedResource, tmp_path: Path
) -> None:
    with zipfile.ZipFile(_archive(function)) as archive:
        archive.extractall(tmp_path)
    module = function.inputs["handler"].split(".")[0]
    # -I: no PYTHON* variables, no user site; -S: no site-packages. Only the package is on the
    # path (with the standard library), as in Lambda's /var/task.
    probe = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import {module}; "
        "import aws_lambda_powertools, boto3, jsonschema, eventinfra_runtime; "
        f"print({module}.handler.__name__, eventinfra_runtime.__file__)"
    )
    completed = subprocess.run(
        [_python(function.inputs["runtime"]), "-I", "-S", "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr
    handler_name, runtime_file = completed.stdout.split()
    assert handler_name == "send_welcome_email"
    assert Path(runtime_file).is_relative_to(tmp_path)
    assert json.loads((tmp_path / "eventinfra_schemas" / "user.signup.json").read_text()) == (
        json.loads((REPOSITORY / "schemas" / "user.signup.json").read_text())
    )


def test_the_recorded_environment_is_exactly_the_runtime_contract(
    function: RecordedResource, tmp_path: Path
) -> None:
    variables: dict[str, str] = function.inputs["environment"]["variables"]
    required = set(contract.REQUIRED_VARIABLES["lambda-consumer"])
    optional = set(contract.OPTIONAL_VARIABLES["lambda-consumer"])
    assert required <= set(variables)
    assert set(variables) <= required | optional | {contract.SCHEMAS_DIR}
    # The topology sets the key and the TTL, so both optional variables are injected.
    assert optional <= set(variables)
    # The runtime itself accepts it, with the schemas folder where Lambda unpacks the package.
    with zipfile.ZipFile(_archive(function)) as archive:
        archive.extractall(tmp_path)
    schemas_dir = variables[contract.SCHEMAS_DIR].replace("/var/task", str(tmp_path), 1)
    config = contract.load("lambda-consumer", {**variables, contract.SCHEMAS_DIR: schemas_dir})
    assert config.service == "welcome-email"
    assert list(config.events) == ["user.signup"]
    assert config.idempotency is not None and config.idempotency.key == "userId"
    assert config.idempotency.ttl_seconds == 86_400


def test_the_function_may_send_only_to_its_own_dead_letter_queue(dev: Synthesis) -> None:
    (role_policy,) = [
        p
        for p in dev.by_type("aws:iam/rolePolicy:RolePolicy")
        if p.name.endswith("welcome-email-role-policy")
    ]
    statements = json.loads(role_policy.inputs["policy"])["Statement"]
    sends = [s for s in statements if "sqs:SendMessage" in s["Action"]]
    (dead_letter_queue,) = [
        q for q in dev.by_type("aws:sqs/queue:Queue") if q.inputs["name"] == "dev-welcome-email-dlq"
    ]
    assert sends == [
        {
            "Sid": "DeadLetterPoison",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [dead_letter_queue.outputs["arn"]],
        }
    ]


def test_an_unchanged_function_plans_the_same_archive(function: RecordedResource) -> None:
    again = synthesize(REPOSITORY, "dev")
    (same,) = [f for f in again.by_type(FUNCTION) if f.inputs["name"] == FUNCTION_NAME]
    assert same.inputs["code"] == function.inputs["code"]
    assert Path(function.inputs["code"]["__archive"]["path"]).parent == Path(".eventinfra/build")


def test_a_package_changes_with_its_code_and_is_byte_identical_when_rebuilt(
    tmp_path: Path,
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("def handler(event, context):\n    return None\n")
    schema = tmp_path / "user.signup.json"
    schema.write_text('{"type": "object"}')
    first = build_package(
        code, runtime="python3.12", schemas={"user.signup": schema}, build_dir=tmp_path / "a"
    )
    rebuilt = build_package(
        code, runtime="python3.12", schemas={"user.signup": schema}, build_dir=tmp_path / "b"
    )
    assert first.name == rebuilt.name and first.read_bytes() == rebuilt.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == ["app.py", "eventinfra_schemas/user.signup.json"]
    (code / "app.py").write_text("def handler(event, context):\n    return 1\n")
    changed = build_package(
        code, runtime="python3.12", schemas={"user.signup": schema}, build_dir=tmp_path / "a"
    )
    assert changed.name != first.name


def test_hidden_and_cache_folders_are_neither_packaged_nor_entered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A local project's .venv holds thousands of files, and setuptools' build/ may vanish while
    # it is walked: the hash walk must not even list them.
    code = tmp_path / "code"
    for folder in (".venv/lib", "__pycache__", "helpers.egg-info"):
        (code / folder).mkdir(parents=True)
        (code / folder / "ignored.py").write_text("")
    (code / "app.py").write_text("def handler(event, context):\n    return None\n")
    listed: list[Path] = []
    scandir = os.scandir

    def recording_scandir(path: Any = ".") -> Any:
        if not isinstance(path, int):  # shutil.rmtree lists folders by file descriptor
            listed.append(Path(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", recording_scandir)

    archive = build_package(code, runtime="python3.12", build_dir=tmp_path / "build")

    monkeypatch.undo()
    # Listed once to hash the package and once to stage it, never below.
    assert {p.relative_to(code) for p in listed if p.is_relative_to(code)} == {Path(".")}
    with zipfile.ZipFile(archive) as bundle:
        assert bundle.namelist() == ["app.py"]


def test_an_unpinned_requirement_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "requirements.txt").write_text("boto3\n")
    with pytest.raises(PackageError) as caught:
        build_package(tmp_path, runtime="python3.12", build_dir=tmp_path / "build")
    assert str(caught.value) == (
        f"{tmp_path / 'requirements.txt'}:1: expected a pinned requirement like "
        "'boto3==1.44.8' or a local project like '../../runtime[aws]', found 'boto3': the "
        "deployment package must be reproducible."
    )
