"""The plugin as the CLI starts it: `python provider/__main__.py <engine>` serves the schema."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.support import REPOSITORY


@pytest.fixture
def plugin_port() -> Iterator[int]:
    # No PYTHONPATH: __main__.py must find eventinfra by itself, as in the plugin's venv.
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(
        [sys.executable, str(REPOSITORY / "provider" / "__main__.py"), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=REPOSITORY / "provider",
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


def test_the_plugin_process_serves_the_committed_schema(plugin_port: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{plugin_port}") as channel:
        stub = provider_pb2_grpc.ResourceProviderStub(channel)
        response = stub.GetSchema(provider_pb2.GetSchemaRequest(), timeout=30)
    schema = json.loads(response.schema)
    committed = json.loads((REPOSITORY / "provider" / "schema.json").read_text(encoding="utf-8"))
    assert schema == committed
