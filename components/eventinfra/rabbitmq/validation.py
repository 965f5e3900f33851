"""Every rule of the rabbitmq backend, as functions over plain values."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from eventinfra.contract import Finding, range_problems, under
from eventinfra.keypaths import KeyPath
from eventinfra.physical_names import DNS1123_SUBDOMAIN
from eventinfra.rabbitmq import defaults, naming


def filter_problems(filter_policy: Mapping[str, Any] | None) -> list[Finding]:
    """Topic exchanges route on the routing key (the event name) only."""
    if filter_policy is None:
        return []
    return [
        Finding(
            (),
            "is not supported on the 'rabbitmq' broker, whose topic exchanges route on the event "
            "name only; expected no filter (filter in the consumer, or publish a separate "
            f"event), found {dict(filter_policy)!r}.",
        )
    ]


def reserved_name_problems(
    events: Collection[str], producers: Collection[str], consumers: Collection[str]
) -> list[Finding]:
    """Names that clash with the exchanges and the user eventinfra creates itself
    (keys relative to the topology: `events.<name>`, `producers.<name>`, `consumers.<name>`)."""
    findings = []
    for consumer in consumers:
        dead_letter = naming.dead_letter_exchange(consumer)
        if dead_letter in events:
            findings.append(
                Finding(
                    ("events", dead_letter),
                    f"has the name of consumer {consumer!r}'s dead-letter exchange on the "
                    f"'rabbitmq' broker; expected another event name, found {dead_letter!r}.",
                )
            )
    for event in events:
        unroutable = naming.unroutable_exchange(event)
        if unroutable in events:
            findings.append(
                Finding(
                    ("events", unroutable),
                    f"has the name of event {event!r}'s unroutable-message exchange on the "
                    f"'rabbitmq' broker; expected another event name, found {unroutable!r}.",
                )
            )
    for kind, names in (("producers", producers), ("consumers", consumers)):
        if naming.SCALER_USERNAME in names:
            findings.append(
                Finding(
                    (kind, naming.SCALER_USERNAME),
                    "is the RabbitMQ user eventinfra creates for KEDA on the 'rabbitmq' broker; "
                    f"expected another name, found {naming.SCALER_USERNAME!r}.",
                )
            )
    return findings


# --- Names that reach alert rules ---

# The loader's name rules (config/models.py ComponentName and EventName), for components built
# directly: Prometheus expands alert labels and annotations as Go templates, so a `{{` in a name
# would run there, and a quote or a newline would end the text it is part of.
COMPONENT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
EVENT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


def consumer_name_problems(consumer: object, key: KeyPath = ("consumer",)) -> list[Finding]:
    """A consumer's name: a DNS label, as in the topology."""
    if isinstance(consumer, str) and len(consumer) <= 63 and COMPONENT_NAME.fullmatch(consumer):
        return []
    return [
        Finding(
            key,
            f"gives the consumer name {consumer!r}; expected at most 63 lowercase letters, digits "
            "and '-' (a DNS label, like 'welcome-email'), because it names the consumer's alert "
            "rules, whose labels and summaries Prometheus expands as templates.",
        )
    ]


def event_name_problems(events: object, key: KeyPath = ("events",)) -> list[Finding]:
    """The subscribed events' names, as in the topology."""
    names = events if isinstance(events, list | tuple) else [events]
    return [
        Finding(
            (*key, index),
            f"gives the event name {event!r}; expected at most 200 letters, digits, '.', '_' and "
            "'-' (like 'user.signup'), because it is a routing key and names the consumer's "
            "bindings and alert rules.",
        )
        for index, event in enumerate(names)
        if not (isinstance(event, str) and len(event) <= 200 and EVENT_NAME.fullmatch(event))
    ]


# --- Containers: Kubernetes quantities, OCI image references, environment names ---

# A Kubernetes resource quantity (apimachinery `resource.Quantity`): a decimal number, then a
# binary suffix, a decimal SI suffix or a decimal exponent.
_QUANTITY = re.compile(
    r"(?P<number>\+?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?"
)
_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{
        suffix: Decimal(1024) ** power
        for power, suffix in enumerate(["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"], 1)
    },
}
MEBIBYTE = 1024**2


def quantity(text: str) -> Decimal | None:
    """The value of a Kubernetes quantity (`250m` → 0.25, `1Gi` → 1073741824); None if invalid."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return None
    suffix = match["suffix"] or ""
    scale = Decimal(10) ** int(suffix[1:]) if suffix[:1] in ("e", "E") else _SUFFIXES[suffix]
    return Decimal(match["number"]) * scale


def cpu_problems(cpu: str) -> list[Finding]:
    """A CPU quantity from 1m to the defaults' maximum; `250` (250 cores) is a forgotten `m`."""
    cores = quantity(cpu)
    if cores is None:
        return [
            Finding(
                (),
                "expected a Kubernetes CPU quantity, like `250m` (a quarter core) or `2`, "
                f"found {cpu!r}.",
            )
        ]
    if cores < Decimal("0.001"):
        return [Finding((), f"expected at least 1m (a thousandth of a core), found {cpu!r}.")]
    if cores > defaults.MAX_CPU_CORES:
        return [
            Finding(
                (),
                f"expected at most {defaults.MAX_CPU_CORES} cores, found {cpu!r} "
                f"({cores.normalize():f} cores); did you mean `{cpu}m`?",
            )
        ]
    return []


def memory_problems(
    memory: str, *, minimum: int = defaults.MIN_MEMORY_BYTES, what: str = "memory"
) -> list[Finding]:
    """A whole number of bytes, at least `minimum`: `256` (bytes) is a forgotten `Mi`."""
    size = quantity(memory)
    if size is None:
        return [
            Finding(
                (),
                f"expected a Kubernetes {what} quantity, like `256Mi` or `1Gi`, found {memory!r}.",
            )
        ]
    bytes_ = f"{size.normalize():f}"
    if size != size.to_integral_value():
        return [
            Finding(
                (),
                f"expected a whole number of bytes, found {memory!r} ({bytes_} bytes; `m` means "
                "thousandths, not mega: use `Mi` or `M`).",
            )
        ]
    if size < minimum:
        # Only a plain number can be a forgotten unit: `4Ki` has one (`4KiMi` is no hint).
        match = _QUANTITY.fullmatch(memory)
        plain = match is not None and (match["suffix"] or "")[:1] in ("", "e", "E")
        hint = f"; did you forget the unit, as in `{memory}Mi`?" if plain else "."
        return [
            Finding(
                (),
                f"expected at least {minimum // MEBIBYTE}Mi, found {memory!r} ({bytes_} bytes)"
                + hint,
            )
        ]
    return []


def idempotency_ttl_problems(ttl: object, key: KeyPath = ("ttl_seconds",)) -> list[Finding]:
    """How long a processed message's record lives: the runtime stores it with Redis
    `SET ... EX <ttl>`, which takes a positive whole number of seconds."""
    return range_problems(
        ttl,
        1,
        defaults.IDEMPOTENCY_MAX_TTL_SECONDS,
        "whole seconds, at most one year; Redis SET EX takes a positive integer",
        key,
    )


def workload_range_problems(
    *, min_replicas: object, max_replicas: object, target_queue_length: object, port: object
) -> list[Finding]:
    """The numbers of a container consumer's Deployment and ScaledObject, as the topology's
    `container:` block bounds them (components may get any number from other languages)."""
    return [
        *range_problems(min_replicas, 0, 1000, "replica counts", ("min_replicas",)),
        *range_problems(max_replicas, 1, 1000, "replica counts", ("max_replicas",)),
        *range_problems(
            target_queue_length, 1, 100_000, "messages per replica", ("target_queue_length",)
        ),
        *range_problems(port, 1, 65_535, "a TCP port", ("port",)),
    ]


def replica_problems(min_replicas: int, max_replicas: int) -> list[Finding]:
    if min_replicas > max_replicas:
        return [
            Finding(
                (),
                f"expected min at most max (KEDA refuses a ScaledObject whose minReplicaCount "
                f"exceeds maxReplicaCount), found min {min_replicas} and max {max_replicas}.",
            )
        ]
    return []


# The OCI distribution reference grammar (distribution/reference, `reference.go`).
_ALPHA_NUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|[-]+)"
_PATH_COMPONENT = re.compile(rf"{_ALPHA_NUMERIC}(?:{_SEPARATOR}{_ALPHA_NUMERIC})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}")
# The OCI image spec's registered digest algorithms and their encoded lengths.
_DIGESTS = {"sha256": re.compile(r"[a-f0-9]{64}"), "sha512": re.compile(r"[a-f0-9]{128}")}
MAX_IMAGE_NAME = 255


def image_problems(image: str) -> list[Finding]:
    """An OCI reference `[registry[:port]/]repository[:tag][@digest]`, pinned by tag or digest."""

    def problem(what: str) -> list[Finding]:
        return [
            Finding(
                (),
                f"expected an image reference like `ghcr.io/acme/mailer:1.4.2` or "
                f"`redis:7.4@sha256:<64 hex>`, found {image!r}: {what}.",
            )
        ]

    name, _, digest = image.partition("@")
    if digest:
        algorithm, _, encoded = digest.partition(":")
        if algorithm not in _DIGESTS:
            return problem(f"the digest algorithm must be one of {', '.join(_DIGESTS)}")
        if not _DIGESTS[algorithm].fullmatch(encoded):
            length = 64 if algorithm == "sha256" else 128
            return problem(f"a {algorithm} digest is {length} lower-case hex digits")
    tag = None
    last_slash = name.rfind("/")
    if name.rfind(":") > last_slash:
        name, tag = name[: name.rfind(":")], name[name.rfind(":") + 1 :]
        if not _TAG.fullmatch(tag):
            return problem(
                "a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            )
        if tag == "latest" and not digest:
            return problem("the moving `latest` tag is not a pin; use a release tag or a digest")
    if tag is None and not digest:
        return problem("it has no tag or digest, which means `latest`")
    if len(name) > MAX_IMAGE_NAME:
        return problem(f"the name is longer than {MAX_IMAGE_NAME} characters")
    components = name.split("/")
    # As in the reference library: the first component is a registry when it has a '.' or a
    # ':' or is `localhost`, and there is more than one component.
    if len(components) > 1 and (
        "." in components[0] or ":" in components[0] or components[0] == "localhost"
    ):
        if not _DOMAIN.fullmatch(components[0]):
            return problem(f"{components[0]!r} is not a registry host[:port]")
        components = components[1:]
    for component in components:
        if not _PATH_COMPONENT.fullmatch(component):
            return problem(
                f"the repository path component {component!r} must be lower-case letters and "
                "digits, separated by '.', '_', '__' or '-'"
            )
    return []


# Kubernetes' environment variable names (`IsEnvVarName`, before 1.34 relaxed it).
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")


def environment_problems(env: Mapping[str, str]) -> list[Finding]:
    """Valid names that never shadow what the platform injects into a container consumer."""
    findings = []
    for variable in env:
        if not _ENV_NAME.fullmatch(variable):
            findings.append(
                Finding(
                    (variable,),
                    "expected an environment variable name of letters, digits, '_', '-' and "
                    f"'.', not starting with a digit, found {variable!r}.",
                )
            )
        elif variable in naming.INJECTED_ENV:
            findings.append(
                Finding(
                    (variable,),
                    "is set by eventinfra for every container consumer; expected another name, "
                    f"found {variable!r} (reserved: {', '.join(sorted(naming.INJECTED_ENV))}).",
                )
            )
    return findings


def container_problems(
    *,
    image: str,
    env: Mapping[str, str],
    cpu: str,
    memory: str,
    min_replicas: int,
    max_replicas: int,
) -> list[Finding]:
    """A container consumer's workload, keyed as in the topology's `container:` block."""
    return [
        *under(("image",), image_problems(image)),
        *under(("env",), environment_problems(env)),
        *under(("resources", "cpu"), cpu_problems(cpu)),
        *under(("resources", "memory"), memory_problems(memory)),
        *under(("replicas",), replica_problems(min_replicas, max_replicas)),
    ]


def object_name_problems(name: str | None, what: str) -> list[Finding]:
    if name is None or (len(name) <= 253 and DNS1123_SUBDOMAIN.fullmatch(name)):
        return []
    return [
        Finding(
            (),
            f"expected the name of a {what}: a DNS-1123 subdomain (lowercase letters, digits, "
            f"'-' and '.', at most 253), found {name!r}.",
        )
    ]


def broker_settings_problems(
    *,
    image: str,
    redis_image: str,
    cpu: str,
    memory: str,
    storage: str,
    storage_class: str | None,
    tls_secret: str | None,
) -> list[Finding]:
    """The `rabbitmq:` stack settings, keyed as in that block."""
    return [
        *under(("image",), image_problems(image)),
        *under(("redis_image",), image_problems(redis_image)),
        *under(("cpu",), cpu_problems(cpu)),
        *under(("memory",), memory_problems(memory)),
        *under(
            ("storage",),
            memory_problems(storage, minimum=defaults.MIN_STORAGE_BYTES, what="volume size"),
        ),
        *under(("storage_class",), object_name_problems(storage_class, "StorageClass")),
        *under(("tls_secret",), object_name_problems(tls_secret, "Secret")),
    ]
