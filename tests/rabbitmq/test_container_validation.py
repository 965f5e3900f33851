"""Container consumers and broker settings: Kubernetes quantities, OCI image references,
environment names and replica bounds, one test per message, several inputs each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventinfra.contract import Finding
from eventinfra.errors import ConfigError
from eventinfra.rabbitmq import validation
from tests.config.test_hardening import refused
from tests.support.config_fixtures import write_project

REFERENCE = (
    "expected an image reference like `ghcr.io/acme/mailer:1.4.2` or `redis:7.4@sha256:<64 hex>`"
)
SHA256 = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/acme/mailer:1.4.2",
        "redis:7.4.2-alpine",
        f"redis@sha256:{SHA256}",
        f"ghcr.io/acme/mailer:1.4.2@sha256:{SHA256}",
        "localhost:5000/team/app:v1",
        "registry.example.com:443/a__b/c--d.e:1_2",
        "[::1]:5000/app:1",
        f"app:latest@sha256:{SHA256}",
    ],
)
def test_oci_references_pinned_by_tag_or_digest_pass(image: str) -> None:
    assert validation.image_problems(image) == []


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("Acme/mailer:1.0", "the repository path component 'Acme'"),
        ("ghcr.io/Acme/mailer:1.0", "the repository path component 'Acme'"),
        ("ghcr.io/acme/mailer-:1.0", "the repository path component 'mailer-'"),
        ("ghcr.io//mailer:1.0", "the repository path component ''"),
        ("acme/mail er:1.0", "the repository path component 'mail er'"),
    ],
)
def test_a_repository_that_is_not_lowercase_alphanumerics_is_refused(
    image: str, reason: str
) -> None:
    assert validation.image_problems(image) == [
        Finding(
            (),
            f"{REFERENCE}, found {image!r}: {reason} must be lower-case letters and digits, "
            "separated by '.', '_', '__' or '-'.",
        )
    ]


@pytest.mark.parametrize("image", ["app:-1", "app:.1", "app:1+2", "app:" + "a" * 129])
def test_an_invalid_tag_is_refused(image: str) -> None:
    assert validation.image_problems(image) == [
        Finding(
            (),
            f"{REFERENCE}, found {image!r}: a tag is 1 to 128 letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-'.",
        )
    ]


@pytest.mark.parametrize(
    "image", [f"app@sha256:{SHA256[:-1]}", f"app@sha256:{SHA256.upper()}", "app:1@sha256:"]
)
def test_a_malformed_sha256_digest_is_refused(image: str) -> None:
    assert validation.image_problems(image) == [
        Finding((), f"{REFERENCE}, found {image!r}: a sha256 digest is 64 lower-case hex digits.")
    ]


@pytest.mark.parametrize("image", [f"app@md5:{SHA256[:32]}", f"app:1@SHA256:{SHA256}"])
def test_an_unknown_digest_algorithm_is_refused(image: str) -> None:
    assert validation.image_problems(image) == [
        Finding(
            (),
            f"{REFERENCE}, found {image!r}: the digest algorithm must be one of sha256, sha512.",
        )
    ]


@pytest.mark.parametrize("image", ["app", "ghcr.io/acme/app", "localhost:5000/app"])
def test_an_unpinned_image_is_refused(image: str) -> None:
    assert validation.image_problems(image) == [
        Finding((), f"{REFERENCE}, found {image!r}: it has no tag or digest, which means `latest`.")
    ]


@pytest.mark.parametrize("image", ["app:latest", "ghcr.io/acme/app:latest"])
def test_the_latest_tag_without_a_digest_is_refused(image: str) -> None:
    assert validation.image_problems(image) == [
        Finding(
            (),
            f"{REFERENCE}, found {image!r}: the moving `latest` tag is not a pin; use a release "
            "tag or a digest.",
        )
    ]


@pytest.mark.parametrize("image", ["bad_host.io/app:1", "-host.io/app:1"])
def test_an_invalid_registry_is_refused(image: str) -> None:
    host = image.split("/")[0]
    assert validation.image_problems(image) == [
        Finding((), f"{REFERENCE}, found {image!r}: {host!r} is not a registry host[:port].")
    ]


def test_a_name_longer_than_255_is_refused() -> None:
    image = "a" * 256 + ":1"
    assert validation.image_problems(image) == [
        Finding((), f"{REFERENCE}, found {image!r}: the name is longer than 255 characters.")
    ]


@pytest.mark.parametrize("cpu", ["250m", "1", "0.5", "2.5", "64", "1000u", "1e1"])
def test_cpu_quantities_pass(cpu: str) -> None:
    assert validation.cpu_problems(cpu) == []


@pytest.mark.parametrize("cpu", ["250mm", "1 core", "-1", "two", "1Gb", ""])
def test_a_cpu_that_is_no_quantity_is_refused(cpu: str) -> None:
    assert validation.cpu_problems(cpu) == [
        Finding(
            (),
            "expected a Kubernetes CPU quantity, like `250m` (a quarter core) or `2`, "
            f"found {cpu!r}.",
        )
    ]


@pytest.mark.parametrize(("cpu", "cores"), [("250", "250"), ("500", "500"), ("1k", "1000")])
def test_a_cpu_without_its_m_is_refused(cpu: str, cores: str) -> None:
    assert validation.cpu_problems(cpu) == [
        Finding(
            (), f"expected at most 64 cores, found {cpu!r} ({cores} cores); did you mean `{cpu}m`?"
        )
    ]


@pytest.mark.parametrize("cpu", ["0", "0m", "100n", "100u"])
def test_a_cpu_below_a_millicore_is_refused(cpu: str) -> None:
    assert validation.cpu_problems(cpu) == [
        Finding((), f"expected at least 1m (a thousandth of a core), found {cpu!r}.")
    ]


@pytest.mark.parametrize("memory", ["256Mi", "1Gi", "1.5Gi", "512M", "1e9", "7340032"])
def test_memory_quantities_pass(memory: str) -> None:
    assert validation.memory_problems(memory) == []


@pytest.mark.parametrize(("memory", "size"), [("256", "256"), ("512", "512"), ("5e6", "5000000")])
def test_a_memory_without_its_unit_is_refused(memory: str, size: str) -> None:
    assert validation.memory_problems(memory) == [
        Finding(
            (),
            f"expected at least 6Mi, found {memory!r} ({size} bytes); did you forget the unit, "
            f"as in `{memory}Mi`?",
        )
    ]


@pytest.mark.parametrize(("memory", "size"), [("4Ki", "4096"), ("1Mi", "1048576"), ("0Gi", "0")])
def test_a_memory_below_the_minimum_with_a_unit_gets_no_unit_hint(memory: str, size: str) -> None:
    assert validation.memory_problems(memory) == [
        Finding((), f"expected at least 6Mi, found {memory!r} ({size} bytes).")
    ]


@pytest.mark.parametrize(("memory", "size"), [("256m", "0.256"), ("1.5", "1.5")])
def test_a_fractional_number_of_bytes_is_refused(memory: str, size: str) -> None:
    assert validation.memory_problems(memory) == [
        Finding(
            (),
            f"expected a whole number of bytes, found {memory!r} ({size} bytes; `m` means "
            "thousandths, not mega: use `Mi` or `M`).",
        )
    ]


@pytest.mark.parametrize("memory", ["256MB", "1 Gi", "Gi", "0x100"])
def test_a_memory_that_is_no_quantity_is_refused(memory: str) -> None:
    assert validation.memory_problems(memory) == [
        Finding(
            (),
            f"expected a Kubernetes memory quantity, like `256Mi` or `1Gi`, found {memory!r}.",
        )
    ]


@pytest.mark.parametrize(("low", "high"), [(2, 1), (11, 10), (1000, 1)])
def test_min_replicas_above_max_is_refused(low: int, high: int) -> None:
    assert validation.replica_problems(low, high) == [
        Finding(
            (),
            "expected min at most max (KEDA refuses a ScaledObject whose minReplicaCount exceeds "
            f"maxReplicaCount), found min {low} and max {high}.",
        )
    ]


@pytest.mark.parametrize(("low", "high"), [(0, 1), (1, 1), (3, 10)])
def test_min_replicas_up_to_max_passes(low: int, high: int) -> None:
    assert validation.replica_problems(low, high) == []


@pytest.mark.parametrize("name", ["1LOG", "LOG LEVEL", "LOG=LEVEL", "ÄRGER", ""])
def test_an_invalid_environment_name_is_refused(name: str) -> None:
    assert validation.environment_problems({name: "x"}) == [
        Finding(
            (name,),
            "expected an environment variable name of letters, digits, '_', '-' and '.', not "
            f"starting with a digit, found {name!r}.",
        )
    ]


@pytest.mark.parametrize(
    "name",
    [
        "EVENTINFRA_RABBITMQ_QUEUE",
        "EVENTINFRA_REDIS_CREDENTIALS_DIR",
        "EVENTINFRA_KAFKA_BOOTSTRAP",
        "EVENTINFRA_KAFKA_CREDENTIALS_DIR",
        "RABBITMQ_PASSWORD",
        "IDEMPOTENCY_KEY",
    ],
)
def test_an_environment_name_the_platform_injects_is_refused(name: str) -> None:
    (finding,) = validation.environment_problems({name: "x"})
    assert finding.key_path == (name,)
    assert finding.message.startswith(
        f"is set by eventinfra for every container consumer; expected another name, found {name!r} "
        "(reserved: EVENTINFRA_BROKER, EVENTINFRA_EVENTS, "
    )


@pytest.mark.parametrize("name", ["LOG_LEVEL", "my.setting", "_private", "a-b"])
def test_valid_environment_names_pass(name: str) -> None:
    assert validation.environment_problems({name: "x"}) == []


# --- placed in the user's files, through the loader ----------------------------------------


def k8s_project(root: Path, container: dict[str, Any], rabbitmq: dict[str, Any]) -> None:
    topology = {
        "events": {"user.signup": {}},
        "consumers": {
            "mailer": {
                "subscribes": ["user.signup"],
                "runtime": "container",
                "container": {
                    "image": "ghcr.io/acme/mailer:1.4.2",
                    "resources": {"cpu": "250m", "memory": "256Mi"},
                    **container,
                },
            }
        },
    }
    settings = {"broker": "rabbitmq", "topology": "topology.yaml", "rabbitmq": rabbitmq}
    write_project(root, topology=topology, settings=settings)


def test_container_problems_name_the_topology_line_and_key(tmp_path: Path) -> None:
    k8s_project(
        tmp_path,
        {
            "image": "ghcr.io/Acme/mailer:1.4.2",
            "env": {"RABBITMQ_URI": "amqp://guest:guest@x"},
            "resources": {"cpu": "250", "memory": "256"},
            "replicas": {"min": 5, "max": 2},
        },
        {},
    )
    problems = [(file, key) for file, line, key, _ in refused(tmp_path) if line]
    assert problems == [
        ("topology.yaml", "consumers.mailer.container.env.RABBITMQ_URI"),
        ("topology.yaml", "consumers.mailer.container.image"),
        ("topology.yaml", "consumers.mailer.container.replicas"),
        ("topology.yaml", "consumers.mailer.container.resources.cpu"),
        ("topology.yaml", "consumers.mailer.container.resources.memory"),
    ]


def test_broker_settings_problems_name_the_stack_file_and_key(tmp_path: Path) -> None:
    k8s_project(
        tmp_path,
        {},
        {
            "image": "RabbitMQ:4.0.5",
            "redis_image": f"redis@sha256:{SHA256[:10]}",
            "memory": "4",
            "storage": "10",
            "storage_class": "Fast SSD",
            "tls_secret": "TLS",
        },
    )
    problems = [(file, key) for file, line, key, _ in refused(tmp_path) if line]
    settings = "config.eventinfra:settings.rabbitmq"
    assert problems == [
        ("Pulumi.dev.yaml", f"{settings}.image"),
        ("Pulumi.dev.yaml", f"{settings}.redis_image"),
        ("Pulumi.dev.yaml", f"{settings}.memory"),
        ("Pulumi.dev.yaml", f"{settings}.storage"),
        ("Pulumi.dev.yaml", f"{settings}.storage_class"),
        ("Pulumi.dev.yaml", f"{settings}.tls_secret"),
    ]


def test_digest_pinned_platform_images_load(tmp_path: Path) -> None:
    k8s_project(
        tmp_path,
        {"image": f"ghcr.io/acme/mailer:1.4.2@sha256:{SHA256}"},
        {
            "image": f"rabbitmq:4.0.5-management@sha256:{SHA256}",
            "redis_image": f"redis:7.4.2-alpine@sha256:{SHA256}",
        },
    )
    try:
        from tests.config.test_hardening import load

        config = load(tmp_path)
    except ConfigError as error:  # pragma: no cover - the failure message is the point
        pytest.fail(str(error))
    assert config.settings.rabbitmq.image.endswith(SHA256)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("namespace", "lowercase letters, digits and '-', like `welcome-email` (a DNS label)"),
        (
            "keda_namespace",
            "a namespace (a DNS label) like `keda`, where KEDA runs: it may read queue lengths "
            "from the management API",
        ),
        (
            "operators_namespace",
            "a namespace (a DNS label) like `rabbitmq-system`, where the Cluster and Topology "
            "Operators run: they may reach the broker's management API",
        ),
        (
            "monitoring_namespace",
            "a namespace (a DNS label) like `monitoring`, where Prometheus runs: it may scrape "
            "the broker's metrics port",
        ),
    ],
)
def test_a_namespace_that_is_no_dns_label_says_what_is_expected(
    tmp_path: Path, key: str, expected: str
) -> None:
    k8s_project(tmp_path, {}, {key: "KEDA"})
    assert [message for _, line, _, message in refused(tmp_path) if line] == [
        f"expected {expected}, found 'KEDA'."
    ]
