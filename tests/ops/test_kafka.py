"""The Kafka backend's connection settings and its refusals, without a broker."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from eventinfra.errors import EventInfraError
from eventinfra.ops.cli import add_ops_parsers, run_ops
from eventinfra.ops.kafka import REPLAY_REFUSAL, client_config, connection
from eventinfra.ops.outputs import parse_outputs
from tests.ops.test_outputs import KAFKA

OUTPUTS = parse_outputs(KAFKA, "out.json")


def test_a_tls_secret_folder_gives_the_runtimes_client_settings(tmp_path: Path) -> None:
    (tmp_path / "user.crt").write_text("cert")
    (tmp_path / "user.key").write_text("key")
    ca = tmp_path / "ca.crt"

    chosen = connection(
        OUTPUTS, bootstrap="localhost:9093", credentials_dir=tmp_path, ca_file=ca, environ={}
    )

    assert chosen.security == "tls"  # told by user.crt in the folder
    assert client_config(chosen) == {
        "bootstrap.servers": "localhost:9093",
        "security.protocol": "SSL",
        "ssl.ca.location": str(ca),
        "ssl.certificate.location": str(tmp_path / "user.crt"),
        "ssl.key.location": str(tmp_path / "user.key"),
    }


def test_a_scram_secret_folder_and_the_runtimes_variables(tmp_path: Path) -> None:
    (tmp_path / "username").write_text("kfk-eventinfra-ops\n")
    (tmp_path / "password").write_text("s3cret\n")
    environ = {
        "EVENTINFRA_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
        "EVENTINFRA_KAFKA_CREDENTIALS_DIR": str(tmp_path),
    }

    config = client_config(connection(OUTPUTS, environ=environ))

    assert config == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "kfk-eventinfra-ops",
        "sasl.password": "s3cret",
    }


def test_without_a_bootstrap_flag_the_stacks_bootstrap_is_used() -> None:
    chosen = connection(OUTPUTS, security="plaintext", environ={})

    assert client_config(chosen) == {
        "bootstrap.servers": "kfk-kafka-kafka-bootstrap.events.svc:9093"
    }


def test_missing_credentials_name_the_ops_users_secret() -> None:
    with pytest.raises(EventInfraError) as raised:
        connection(OUTPUTS, environ={})

    assert "the ops user's Secret `kfk-eventinfra-ops` in namespace 'events'" in str(raised.value)


def test_tls_without_the_cluster_ca_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(EventInfraError) as raised:
        connection(OUTPUTS, security="tls", credentials_dir=tmp_path, environ={})

    assert str(raised.value) == (
        "--kafka-security tls needs --kafka-ca FILE (the cluster CA, `ca.crt`)."
    )


def test_replay_on_kafka_says_why_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "out.json"
    outputs.write_text(__import__("json").dumps(KAFKA))
    parser = argparse.ArgumentParser()
    add_ops_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["replay", "user.signup", "--to", "mailer", "--outputs", str(outputs)])

    assert run_ops(args) == 2
    assert " ".join(capsys.readouterr().err.split()) == "error: " + REPLAY_REFUSAL
