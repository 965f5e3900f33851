"""The plugin as the CLI starts it: `python provider/__main__.py <engine>` serves the schema."""

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.support import REPOSITORY

PROVIDER = REPOSITORY / "provider"


def serve(python: str, environment: dict[str, str]) -> Iterator[int]:
    process = subprocess.Popen(
        [python, str(PROVIDER / "__main__.py"), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=PROVIDER,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        assert line.isdigit(), process.stderr.read().decode() if process.stderr else line
        yield int(line)
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def served_schema(port: int) -> object:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = provider_pb2_grpc.ResourceProviderStub(channel)
        response = stub.GetSchema(provider_pb2.GetSchemaRequest(), timeout=30)
    return json.loads(response.schema)


def committed_schema() -> object:
    return json.loads((PROVIDER / "schema.json").read_text(encoding="utf-8"))


@pytest.fixture
def plugin_port() -> Iterator[int]:
    # eventinfra on the path as the plugin venv's editable install of this checkout puts it.
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY / "components")}
    yield from serve(sys.executable, environment)


def test_the_plugin_process_serves_the_committed_schema(plugin_port: int) -> None:
    assert served_schema(plugin_port) == committed_schema()


def test_the_plugin_reads_no_path_of_its_own() -> None:
    source = (PROVIDER / "__main__.py").read_text(encoding="utf-8")
    assert "sys.path" not in source and "__file__" not in source


@pytest.mark.packaging
def test_the_cli_s_pip_command_installs_this_checkout_into_the_plugin_venv(
    tmp_path: Path,
) -> None:
    """`pip install -r requirements.txt` in provider/, as the Pulumi CLI runs it; the pinned
    packages come from the test's own environment, so only eventinfra is installed (its
    isolated build fetches setuptools from the package index)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # A plain path entry: the shared environment's .pth files (its own editable eventinfra)
    # are not processed, so eventinfra can only come from the install below.
    Path(site_packages, "shared.pth").write_text(sysconfig.get_path("purelib") + "\n")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-r", "requirements.txt"],
        check=True,
        cwd=PROVIDER,
        env=environment,
        capture_output=True,
    )
    found = subprocess.run(
        [python, "-c", "import eventinfra; print(eventinfra.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(found) == REPOSITORY / "components" / "eventinfra" / "__init__.py"
    for port in serve(python, environment):
        assert served_schema(port) == committed_schema()
