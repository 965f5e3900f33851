"""What the kafka backend's components inject, read from the environment and mounted files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eventinfra_runtime.errors import ConfigurationError

__all__ = ["KafkaSettings"]

SECURITY_CHOICES: Final = ("tls", "scram-sha-512", "plaintext")


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str
    security: str
    """`tls` (client certificate), `scram-sha-512`, or `plaintext` (local development only)."""
    credentials_dir: Path | None = None
    """The mounted KafkaUser Secret: `user.crt`/`user.key` (tls) or `username`/`password`."""
    ca_file: Path | None = None
    """The cluster CA certificate (Strimzi's `<cluster>-cluster-ca-cert`, key `ca.crt`)."""
    group: str | None = None
    topics: tuple[str, ...] = ()
    dead_letter_topic: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSettings:
        """Every missing or malformed variable is reported at once."""
        env = os.environ if environ is None else environ
        problems = []
        bootstrap = env.get("EVENTINFRA_KAFKA_BOOTSTRAP", "")
        if not bootstrap:
            problems.append("EVENTINFRA_KAFKA_BOOTSTRAP is not set; expected host:port.")
        security = env.get("EVENTINFRA_KAFKA_SECURITY", "tls")
        if security not in SECURITY_CHOICES:
            problems.append(
                f"EVENTINFRA_KAFKA_SECURITY is {security!r}; expected one of "
                f"{', '.join(SECURITY_CHOICES)}."
            )
        credentials = env.get("EVENTINFRA_KAFKA_CREDENTIALS_DIR")
        if security != "plaintext" and not credentials:
            problems.append("EVENTINFRA_KAFKA_CREDENTIALS_DIR is not set; expected a folder.")
        ca_file = env.get("EVENTINFRA_KAFKA_CA_FILE")
        if security == "tls" and not ca_file:
            problems.append("EVENTINFRA_KAFKA_CA_FILE is not set; expected the cluster CA file.")
        if problems:
            raise ConfigurationError(problems)
        topics = tuple(t for t in env.get("EVENTINFRA_KAFKA_TOPICS", "").split(",") if t)
        return cls(
            bootstrap=bootstrap,
            security=security,
            credentials_dir=Path(credentials) if credentials else None,
            ca_file=Path(ca_file) if ca_file else None,
            group=env.get("EVENTINFRA_KAFKA_GROUP") or None,
            topics=topics,
            dead_letter_topic=env.get("EVENTINFRA_KAFKA_DEAD_LETTER_TOPIC") or None,
        )

    def client_config(self) -> dict[str, Any]:
        """librdkafka settings; credentials are read from their files at every (re)start."""
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap}
        folder = self.credentials_dir
        if self.security == "tls":
            assert folder is not None
            config |= {
                "security.protocol": "SSL",
                "ssl.ca.location": str(self.ca_file),
                "ssl.certificate.location": str(folder / "user.crt"),
                "ssl.key.location": str(folder / "user.key"),
            }
        elif self.security == "scram-sha-512":
            assert folder is not None
            config |= {
                "security.protocol": "SASL_SSL" if self.ca_file else "SASL_PLAINTEXT",
                "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": (folder / "username").read_text().strip(),
                "sasl.password": (folder / "password").read_text().strip(),
            }
            if self.ca_file:
                config["ssl.ca.location"] = str(self.ca_file)
        return config
