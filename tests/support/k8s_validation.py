"""Offline validation of every Kubernetes object eventinfra renders.

No API server is reachable where eventinfra is built and tested, so this module checks rendered
objects the way an API server would, as far as schemas allow:

* built-in kinds (``Namespace``, ``Secret``, ``Deployment``, ``PodDisruptionBudget``, ...) through
  `kubernetes-validate` in **strict** mode (unknown fields are errors) against the OpenAPI schemas
  it ships in its wheel for a pinned Kubernetes version (no network);
* custom resources (RabbitMQ Cluster and Messaging Topology Operators, KEDA, Prometheus Operator)
  through `jsonschema` against the CRDs' ``openAPIV3Schema`` of named operator releases, stored in
  ``eventinfra/k8s_schemas/`` (see ``SOURCES.md`` there);
* anything else (a kind with no schema) is reported as a problem, never passed silently.

`manifest_from_recorded` turns a pulumi-kubernetes registration, as a mock monitor or a policy
sees it, into the manifest to validate.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, Final

import jsonschema  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "KUBERNETES_VERSION",
    "crd_schema_to_jsonschema",
    "custom_resource_kinds",
    "custom_resource_schema",
    "manifest_from_recorded",
    "validate_manifest",
]

KUBERNETES_VERSION: Final = "1.33"
"""Kubernetes version whose built-in schemas (shipped in kubernetes-validate) are used."""

# Pulumi's wire sentinels (pulumi/runtime/rpc.py): an unknown value during preview, and the
# signature of a wrapped secret value `{SIG_KEY: SECRET_SIG, "value": ...}`.
PULUMI_UNKNOWN: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PULUMI_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
PULUMI_SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

DNS1123_SUBDOMAIN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS1123_LABEL: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
LABEL_KEY: Final = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
LABEL_VALUE: Final = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"

# Type-token groups of pulumi-kubernetes resources that are not single Kubernetes objects.
_NON_OBJECT_GROUPS: Final = frozenset({"yaml", "helm.sh", "kustomize"})
_TOKEN = re.compile(r"^kubernetes:(?P<group>[^/:]+)/(?P<version>[^/:]+):(?P<kind>[A-Za-z0-9]+)$")

# ObjectMeta as the API server accepts it on create/update (server-set fields included, so that
# an object read back from a cluster still validates). Custom resources get exactly this;
# metadata of built-in kinds is checked by kubernetes-validate's own ObjectMeta schema.
OBJECT_META_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 253,
            "pattern": DNS1123_SUBDOMAIN,
        },
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": DNS1123_LABEL},
        "labels": {
            "type": "object",
            "propertyNames": {"pattern": LABEL_KEY},
            "additionalProperties": {"type": "string", "maxLength": 63, "pattern": LABEL_VALUE},
        },
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["apiVersion", "kind", "name", "uid"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "name": {"type": "string"},
                    "uid": {"type": "string"},
                    "controller": {"type": "boolean"},
                    "blockOwnerDeletion": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
        },
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": ["string", "null"]},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "managedFields": {"type": "array", "items": {"type": "object"}},
        "selfLink": {"type": "string"},
    },
    "additionalProperties": False,
}


# --------------------------------------------------------------------------------------------
# CRD schema -> validator-ready JSON Schema


def crd_schema_to_jsonschema(
    open_api_v3_schema: Mapping[str, Any],
    *,
    api_version: str,
    kind: str,
    source: Mapping[str, Any],
) -> dict[str, Any]:
    """Wrap a CRD version's ``openAPIV3Schema`` as a Draft 2020-12 JSON Schema for one object.

    The result checks what the API server checks for a structural schema:

    * ``apiVersion`` and ``kind`` must be exactly this resource's; ``metadata`` must be an
      ObjectMeta with a valid ``name`` (DNS-1123 subdomain);
    * every object node that lists ``properties`` (or has no ``additionalProperties``) and does not
      say ``x-kubernetes-preserve-unknown-fields: true`` gets ``additionalProperties: false``: the
      API server prunes (or, with strict field validation, rejects) such fields, so a misspelt
      field would otherwise vanish silently;
    * ``nullable: true`` admits ``null``;
    * patterns written for Go's RE2 with an inline flag after ``^`` (``^(?i)...``) are rewritten
      to the equivalent Python form (``(?i)^...``).

    Not checked: CEL rules (``x-kubernetes-validations``), ``format``, list-map/set uniqueness.
    """
    body = _structural(open_api_v3_schema)
    properties: dict[str, Any] = dict(body.get("properties", {}))
    properties["apiVersion"] = {"const": api_version}
    properties["kind"] = {"const": kind}
    properties["metadata"] = copy.deepcopy(OBJECT_META_SCHEMA)
    required = ["apiVersion", "kind", "metadata"]
    required += [r for r in body.get("required", []) if r not in required]
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": f"{kind} ({api_version})",
        "x-eventinfra-source": dict(source),
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


def _structural(node: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description":
            continue
        if key == "properties":
            out[key] = {name: _structural(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = _structural(value)
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [_structural(sub) for sub in value]
        elif key == "pattern":
            out[key] = _python_pattern(value)
        else:
            out[key] = copy.deepcopy(value)
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    preserve = out.get("x-kubernetes-preserve-unknown-fields") is True
    is_object = out.get("type") == "object" or "properties" in out
    if is_object and not preserve and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _python_pattern(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error:
        moved = re.match(r"^\^\(\?([aiLmsux]+)\)(.*)$", pattern, re.DOTALL)
        if moved is None:
            raise ValueError(f"pattern {pattern!r} cannot be compiled by Python's re") from None
        rewritten = f"(?{moved.group(1)})^{moved.group(2)}"
        re.compile(rewritten)
        return rewritten
    return pattern


# --------------------------------------------------------------------------------------------
# Stored schemas


@cache
def _custom_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    folder = resources.files("tests.support").joinpath("k8s_schemas")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".json"):
            continue
        schema = json.loads(entry.read_text(encoding="utf-8"))
        key = (schema["properties"]["apiVersion"]["const"], schema["properties"]["kind"]["const"])
        if key in found:
            raise RuntimeError(f"two stored schemas for {key[1]} ({key[0]})")
        found[key] = schema
    return found


@cache
def _validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    schema = _custom_schemas()[(api_version, kind)]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def custom_resource_kinds() -> list[tuple[str, str]]:
    """The ``(apiVersion, kind)`` pairs that have a stored custom resource schema."""
    return sorted(_custom_schemas())


def custom_resource_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The stored validator-ready schema for a custom kind (a copy), or None."""
    schema = _custom_schemas().get((api_version, kind))
    return copy.deepcopy(schema) if schema is not None else None


# --------------------------------------------------------------------------------------------
# Validation


def validate_manifest(
    obj: Mapping[str, Any], *, kubernetes_version: str = KUBERNETES_VERSION
) -> list[str]:
    """Every problem found in one rendered Kubernetes object, as full sentences.

    Each problem reads ``"<Kind> '<name>': <field path>: <what is wrong>"``, e.g.
    ``"RabbitmqCluster 'events': spec.replicas: expected integer, found '3'"``. An empty list means
    the object is valid for its schema. Values that are still unknown (Pulumi preview) are not
    reported. A kind without a schema is a problem, never a pass.
    """
    manifest = _plain(obj)
    if not isinstance(manifest, dict):
        return [f"The manifest is not an object but {_show(manifest)}"]
    api_version = manifest.get("apiVersion")
    kind = manifest.get("kind")
    label = _label(manifest)
    if not isinstance(api_version, str) or not api_version:
        return [f"{label}: apiVersion: required field is missing or not a string"]
    if not isinstance(kind, str) or not kind:
        return [f"{label}: kind: required field is missing or not a string"]
    if _is_builtin_group(api_version):
        return _validate_builtin(manifest, label, kubernetes_version)
    if (api_version, kind) not in _custom_schemas():
        return [
            f"{label}: no schema is known for kind {kind} of apiVersion {api_version}; "
            "eventinfra cannot validate it offline (add its CRD schema to eventinfra/k8s_schemas)"
        ]
    errors = _validator(api_version, kind).iter_errors(manifest)
    return _dedupe(_describe(error, label) for error in errors if not _is_unknown(error))


def _is_builtin_group(api_version: str) -> bool:
    if "/" not in api_version:
        return True  # the core group: "v1"
    group = api_version.split("/", 1)[0]
    return "." not in group or group.endswith(".k8s.io")


def _kubernetes_validate() -> Any:
    try:
        import kubernetes_validate  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "validating built-in Kubernetes kinds needs the kubernetes-validate package"
        ) from exc
    return kubernetes_validate


def _validate_builtin(manifest: dict[str, Any], label: str, version: str) -> list[str]:
    kubernetes_validate = _kubernetes_validate()
    problems = _builtin_metadata_problems(manifest, label)
    try:
        # The public API picks the schema (strict: unknown fields are errors) and reports a
        # missing schema as an exception, which becomes a problem here, never a warning.
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        problems.append(
            f"{label}: no schema is known for kind {manifest['kind']} of apiVersion "
            f"{manifest['apiVersion']} in Kubernetes {version}"
        )
    except kubernetes_validate.utils.VersionNotSupportedError as exc:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {version}") from exc
    except kubernetes_validate.InvalidSchemaError as exc:
        problems.append(f"{label}: kubernetes-validate's schema is unusable: {exc.message}")
    except kubernetes_validate.ValidationError as first:
        # validate() stops at the first error; list them all with the same bundled schema.
        try:
            errors = _all_builtin_errors(kubernetes_validate, manifest, version)
        except Exception:  # kubernetes-validate's layout differs from 1.37's: keep the first
            errors = [first]
        for error in errors:
            if not _is_unknown(error):
                problems.extend(_describe(error, label))
    return _dedupe([problems])


def _all_builtin_errors(
    kubernetes_validate: Any, manifest: Mapping[str, Any], version: str
) -> list[jsonschema.ValidationError]:
    """Every error kubernetes-validate's strict schema finds (its validate() stops at one).

    Mirrors how kubernetes-validate 1.37 locates and loads its bundled schemas.
    """
    from referencing import Registry, Resource

    utils = kubernetes_validate.utils
    wanted = utils.major_minor(version.removeprefix("v"))
    # Like validate(): the newest bundled version that is not newer than the one asked for.
    full = [v for v in utils.all_versions() if utils.major_minor(v) <= wanted][-1]
    folder = f"kubernetes-json-schema/v{full}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", manifest["apiVersion"])
    schema = utils.schema_contents(
        f"{folder}/{manifest['kind'].lower()}-{group_version}.json", version
    )
    definitions = utils.schema_contents(f"{folder}/_definitions.json", version)
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return list(validator.iter_errors(manifest))


def _builtin_metadata_problems(manifest: Mapping[str, Any], label: str) -> list[str]:
    metadata = manifest.get("metadata")
    if not isinstance(metadata, Mapping):
        return [f"{label}: metadata: required field is missing"]
    name = metadata.get("name")
    if name is None:
        return [f"{label}: metadata.name: required field is missing"]
    if name == PULUMI_UNKNOWN or not isinstance(name, str):
        return []  # wrong types are reported by the schema
    rule = DNS1123_LABEL if manifest.get("kind") == "Namespace" else DNS1123_SUBDOMAIN
    limit = 63 if manifest.get("kind") == "Namespace" else 253
    if len(name) > limit or not re.match(rule, name):
        return [
            f"{label}: metadata.name: {_show(name)} is not a valid name (lower-case "
            f"alphanumerics, '-' and '.', at most {limit} characters)"
        ]
    return []


# --------------------------------------------------------------------------------------------
# Messages


def _label(manifest: Mapping[str, Any]) -> str:
    kind = manifest.get("kind")
    metadata = manifest.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    kind_text = kind if isinstance(kind, str) and kind else "Object"
    name_text = name if isinstance(name, str) and name else "<unnamed>"
    return f"{kind_text} '{name_text}'"


def _dedupe(groups: Iterable[list[str]]) -> list[str]:
    """The distinct messages, ordered by the field path they name."""
    seen = {message for group in groups for message in group}
    return sorted(seen, key=lambda m: [_natural(part) for part in re.split(r"(\d+)", m)])


def _natural(part: str) -> tuple[int, int | str]:
    return (0, int(part)) if part.isdigit() else (1, part)


def _is_unknown(error: jsonschema.ValidationError) -> bool:
    return bool(error.instance == PULUMI_UNKNOWN)


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _at(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _describe(error: jsonschema.ValidationError, label: str) -> list[str]:
    path = _path(error.absolute_path)
    where = path or "(top level)"
    validator = error.validator
    value: Any = error.validator_value
    if validator == "additionalProperties":
        extras = _extra_properties(error)
        if extras:
            return [f"{label}: {_at(path, key)}: unknown field" for key in extras]
    if validator == "required" and isinstance(error.instance, Mapping):
        missing = [name for name in value if name not in error.instance]
        return [f"{label}: {_at(path, name)}: required field is missing" for name in missing]
    if validator == "type":
        return [f"{label}: {where}: expected {_types(value)}, found {_show(error.instance)}"]
    if validator in ("anyOf", "oneOf"):
        alternatives = _simple_types(value)
        if alternatives and not _fits(error.instance, alternatives):
            return [
                f"{label}: {where}: expected {_types(alternatives)}, found {_show(error.instance)}"
            ]
    if validator == "enum":
        allowed = ", ".join(_show(v) for v in value)
        return [f"{label}: {where}: {_show(error.instance)} is not one of {allowed}"]
    if validator == "const":
        return [f"{label}: {where}: expected {_show(value)}, found {_show(error.instance)}"]
    if validator == "pattern":
        return [f"{label}: {where}: {_show(error.instance)} does not match the pattern {value}"]
    return [f"{label}: {where}: {error.message}"]


def _extra_properties(error: jsonschema.ValidationError) -> list[str]:
    instance = error.instance
    if not isinstance(instance, Mapping):
        return []
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [
        key for key in instance if key not in known and not any(p.search(key) for p in patterns)
    ]


def _simple_types(subschemas: Any) -> list[str]:
    """The JSON types of ``anyOf``/``oneOf`` alternatives that only constrain the type."""
    names: list[str] = []
    for sub in subschemas if isinstance(subschemas, list) else []:
        if not isinstance(sub, Mapping) or set(sub) - {"type", "format"} or "type" not in sub:
            return []
        types = [sub["type"]] if isinstance(sub["type"], str) else list(sub["type"])
        names += [t for t in types if t not in names]
    return sorted(names, key=lambda t: t == "null")


def _fits(instance: Any, types: list[str]) -> bool:
    checker = jsonschema.Draft202012Validator.TYPE_CHECKER
    return any(checker.is_type(instance, t) for t in types)


def _types(value: Any) -> str:
    names = [value] if isinstance(value, str) else list(value)
    return " or ".join(str(n) for n in names)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return repr(value)


# --------------------------------------------------------------------------------------------
# Pulumi registrations -> manifests


def manifest_from_recorded(
    resource_type: str, inputs: Mapping[str, Any], *, auto_name: str | None = None
) -> dict[str, Any]:
    """The Kubernetes manifest that a recorded pulumi-kubernetes registration would send.

    `resource_type` is the registration's type token: ``kubernetes:<group>/<version>:<Kind>``
    (``core`` for the core group, so ``kubernetes:core/v1:Secret`` is ``apiVersion: v1``);
    ``apiextensions.CustomResource`` registers under the same form, e.g.
    ``kubernetes:rabbitmq.com/v1beta1:RabbitmqCluster``. `inputs` are the registration's inputs
    with Kubernetes' own camelCase keys, as mocks and policies see them: wrapped mappings become
    dicts, secret-wrapped values are unwrapped, integral floats (every number crosses the wire as
    a float) become ints.

    pulumi-kubernetes auto-names objects without ``metadata.name`` (``<resource name>-<suffix>``);
    mocks do not, so pass the Pulumi resource name as `auto_name` to stand in for it.

    Raises ValueError for tokens that are not single Kubernetes objects (providers, ``yaml``,
    ``helm.sh`` and ``kustomize`` components, ``...Patch`` resources) and for inputs whose
    ``apiVersion``/``kind`` contradict the token.
    """
    match = _TOKEN.match(resource_type)
    if match is None:
        raise ValueError(f"{resource_type!r} is not a pulumi-kubernetes object type token")
    group, version, kind = match.group("group", "version", "kind")
    if group in _NON_OBJECT_GROUPS or kind.endswith("Patch"):
        raise ValueError(f"{resource_type!r} does not register a single, whole Kubernetes object")
    api_version = version if group == "core" else f"{group}/{version}"
    body = _plain(inputs)
    if not isinstance(body, dict):
        raise ValueError("inputs must be a mapping")
    for field, expected in (("apiVersion", api_version), ("kind", kind)):
        given = body.get(field)
        if given is not None and given != PULUMI_UNKNOWN and given != expected:
            raise ValueError(f"inputs say {field} {given!r} but the type token says {expected!r}")
    manifest: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    metadata = body.pop("metadata", None)
    if auto_name is not None:
        metadata = dict(metadata) if isinstance(metadata, dict) else {}
        if "name" not in metadata:
            metadata["name"] = auto_name
    if metadata is not None:
        manifest["metadata"] = metadata
    manifest.update((k, v) for k, v in body.items() if k not in ("apiVersion", "kind"))
    return manifest


def _plain(value: Any) -> Any:
    """A plain-JSON copy of a value as Pulumi hands it over."""
    if isinstance(value, Mapping):
        if value.get(PULUMI_SIG_KEY) == PULUMI_SECRET_SIG:
            return _plain(value.get("value"))
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Sequence):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
