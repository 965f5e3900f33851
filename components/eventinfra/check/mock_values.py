"""Offline stand-ins for provider outputs, invokes and stack references, driven by a mocks file."""

from __future__ import annotations

import base64
import hashlib
import json
import string
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from eventinfra.config.messages import sentence
from eventinfra.errors import MockValuesError, PlanError, Problem, problem_list
from eventinfra.keypaths import KeyPath, format_key_path
from eventinfra.yaml_errors import describe_yaml_error, key_lines

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_PARTITION",
    "DEFAULT_REGION",
    "CloudEnvironment",
    "MockValues",
    "MockValuesError",
    "PlanError",
    "ResourceRequest",
    "compute_invoke",
    "compute_resource",
    "load_mock_values",
    "stack_reference_outputs",
]

DEFAULT_ACCOUNT_ID: Final = "123456789012"  # the account id AWS uses in its own documentation
DEFAULT_REGION: Final = "us-east-1"  # what the AWS SDKs fall back to; stack config overrides it
DEFAULT_PARTITION: Final = "aws"

AWS_AUTONAME_HEX_CHARS: Final = 7  # Pulumi appends 7 random hex characters to the logical name
KUBERNETES_AUTONAME_HEX_CHARS: Final = 8  # pulumi-kubernetes appends 8
NAME_PREFIX_SUFFIX_CHARS: Final = 26  # Terraform's name_prefix adds a 26-character unique id


AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
RegionName = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")]
Partition = Annotated[str, StringConstraints(pattern=r"^aws(-[a-z]+)*$")]


class MockValues(BaseModel):
    """`Pulumi.<stack>.mocks.yaml`: what the cloud would answer, for an offline run.

    Example::

        account_id: "210987654321"
        region: eu-west-1
        partition: aws
        invokes:
          aws:ec2/getVpc:getVpc: {id: vpc-0abc, cidrBlock: 10.0.0.0/16}
        stack_references:
          acme/network/prod: {vpcId: vpc-0abc}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: AccountId = Field(
        default=DEFAULT_ACCOUNT_ID,
        description="a 12-digit AWS account id in quotes, like '123456789012'",
    )
    region: RegionName | None = Field(
        default=None,
        description="an AWS region like 'eu-west-1' (default: `aws:region` in the stack config)",
    )
    partition: Partition = Field(
        default=DEFAULT_PARTITION, description="an AWS partition like 'aws', 'aws-cn', 'aws-us-gov'"
    )
    invokes: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Invoke token → the outputs it returns (camelCase)."
    )
    stack_references: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="`org/project/stack` → that stack's outputs."
    )


_KEY_LINE_DEPTH: Final = 4  # stack_references.<stack>.<output> and invokes.<token>.<key>


def load_mock_values(path: Path) -> MockValues:
    """Read and validate a mocks file; every problem is reported with its file and key path."""
    if path.is_dir():
        raise MockValuesError(f"{path}: the mocks file is a folder; expected a YAML file.")
    if not path.exists():
        raise MockValuesError(f"The mocks file {path} does not exist.")
    try:
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            raw = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except OSError as error:
        raise MockValuesError(f"Cannot read the mocks file {path}: {error.strerror}.") from None
    except UnicodeDecodeError as error:
        raise MockValuesError(
            f"{path}: the mocks file is not UTF-8 text (invalid byte at offset {error.start})."
        ) from None
    except yaml.YAMLError as error:
        problem = describe_yaml_error(error)
        raise MockValuesError(
            f"{problem.where(path)}: the mocks file is not valid YAML: {problem.reason}."
        ) from None
    except RecursionError:
        raise MockValuesError(f"{path}: the mocks file nests values too deeply.") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise MockValuesError(
            f"{path}: the mocks file must be a mapping (for example `account_id: "
            f'"123456789012"`), but found a {type(raw).__name__}: {raw!r}.'
        )
    try:
        return MockValues.model_validate(raw)
    except ValidationError as error:
        lines = key_lines(node, _KEY_LINE_DEPTH)
        problems = []
        for item in error.errors():
            key_path, message = sentence(item, MockValues)
            problems.append(
                Problem(path, format_key_path(key_path), message, _line_of(lines, key_path))
            )
        raise MockValuesError(problem_list(f"the mocks file {path}", problems)) from None


def _line_of(lines: Mapping[KeyPath, int], key_path: KeyPath) -> int | None:
    """The line of the deepest key on `key_path` that the file has."""
    for end in range(len(key_path), 0, -1):
        if key_path[:end] in lines:
            return lines[key_path[:end]]
    return None


@dataclass(frozen=True)
class CloudEnvironment:
    """The account, region and partition the offline run pretends to deploy to."""

    account_id: str = DEFAULT_ACCOUNT_ID
    region: str = DEFAULT_REGION
    partition: str = DEFAULT_PARTITION
    mock_values: MockValues = field(default_factory=MockValues)
    mock_values_path: Path | None = None

    @property
    def dns_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    @classmethod
    def from_mock_values(
        cls, values: MockValues, path: Path | None, config_region: str | None
    ) -> CloudEnvironment:
        return cls(
            account_id=values.account_id,
            region=values.region or config_region or DEFAULT_REGION,
            partition=values.partition,
            mock_values=values,
            mock_values_path=path,
        )

    def mocks_file_hint(self) -> str:
        return str(self.mock_values_path) if self.mock_values_path else "the mocks file"


# --- deterministic "random" values -------------------------------------------------------------


def _digest(urn: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}\0{urn}".encode()).digest()


def _stream(urn: str, purpose: str) -> Iterator[int]:
    """An endless, reproducible byte stream for one resource and one purpose."""
    counter = 0
    while True:
        yield from _digest(urn, f"{purpose}#{counter}")
        counter += 1


def _hex(urn: str, count: int, purpose: str = "autoname") -> str:
    return hashlib.sha256(f"{purpose}\0{urn}".encode()).hexdigest()[:count]


def _uuid(urn: str, purpose: str = "uuid") -> str:
    return str(uuid.UUID(bytes=_digest(urn, purpose)[:16], version=4))


def _choose(urn: str, purpose: str, alphabet: str, count: int) -> str:
    stream = _stream(urn, purpose)
    return "".join(alphabet[next(stream) % len(alphabet)] for _ in range(count))


# --- resources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceRequest:
    """What a provider would be asked to create: enough to compute its id and outputs."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    environment: CloudEnvironment
    provider_inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def aws_region(self) -> str:
        # pulumi-aws 7 takes a per-resource `region`, then the explicit provider's, then config.
        for candidate in (self.inputs.get("region"), self.provider_inputs.get("region")):
            if isinstance(candidate, str) and candidate:
                return candidate
        return self.environment.region


Computed = tuple[str, dict[str, Any]]
ResourceMock = Callable[[ResourceRequest], Computed]


class _Missing(KeyError):
    """A template referred to an input the program did not set."""


class _TemplateContext(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        raise _Missing(key)


class _Inputs(dict[str, Any]):
    """Inputs as seen by templates: `{inputs[topic]}`, only for values that are strings."""

    def __missing__(self, key: str) -> Any:
        raise _Missing(key)


def _render(template: str, context: _TemplateContext) -> str | None:
    try:
        return template.format_map(context)
    except _Missing:
        return None


def _name_prefix_suffix(urn: str) -> str:
    # Terraform's unique id is a timestamp plus a counter: digits only.
    return _choose(urn, "name-prefix", string.digits, NAME_PREFIX_SUFFIX_CHARS)


@dataclass(frozen=True)
class AwsShape:
    """How the AWS provider names one resource type and what it computes for it.

    Templates are `str.format` strings over: partition, region, account, dns_suffix, name (the
    physical name), uuid, unique_id, unique_suffix, path, slash_name, `inputs[<camelCase>]`, and
    every output computed before (`arn`, `url` …). An output whose template needs an input the
    program did not set is left out, as the provider would leave it empty.
    """

    outputs: Mapping[str, str] = field(default_factory=dict)
    id: str = "{name}"
    name_property: str | None = "name"
    prefix_property: str = "namePrefix"
    max_name_length: int | None = None
    fifo_flag: str | None = None
    lowercase: bool = False
    name_format: str = "{name}"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    taggable: bool = True

    def physical_name(self, request: ResourceRequest) -> str | None:
        if self.name_property is None:
            return None
        given = request.inputs.get(self.name_property)
        if isinstance(given, str) and given:
            return given
        prefix = request.inputs.get(self.prefix_property)
        if isinstance(prefix, str) and prefix:
            base = prefix + _name_prefix_suffix(request.urn)
        else:
            base = f"{request.name}-{_hex(request.urn, AWS_AUTONAME_HEX_CHARS)}"
        if self.lowercase:
            base = base.lower()
        name = self.name_format.format(name=base)
        if self.fifo_flag and request.inputs.get(self.fifo_flag) is True:
            name += ".fifo"
        if self.max_name_length is not None and len(name) > self.max_name_length:
            raise PlanError(
                f"Resource '{request.name}' ({request.type}) would get the generated name "
                f"{name!r} ({len(name)} characters), but AWS allows at most "
                f"{self.max_name_length}; give it a shorter logical name or set "
                f"`{self.name_property}`."
            )
        return name

    def __call__(self, request: ResourceRequest) -> Computed:
        environment = request.environment
        name = self.physical_name(request)
        outputs: dict[str, Any] = {**self.defaults, **request.inputs}
        context = _TemplateContext(
            partition=environment.partition,
            region=request.aws_region,
            account=environment.account_id,
            dns_suffix=environment.dns_suffix,
            name=name if name is not None else request.name,
            uuid=_uuid(request.urn),
            unique_id=_choose(request.urn, "unique-id", string.ascii_uppercase + string.digits, 17),
            unique_suffix=_name_prefix_suffix(request.urn),
            secret_suffix=_choose(request.urn, "secret", string.ascii_letters, 6),
            path=request.inputs.get("path") or "/",
            inputs=_Inputs({k: v for k, v in request.inputs.items() if isinstance(v, str)}),
        )
        context["slash_name"] = (
            context["name"] if context["name"].startswith("/") else ("/" + context["name"])
        )
        if self.name_property is not None and name is not None:
            outputs[self.name_property] = name
        for key, template in self.outputs.items():
            value = _render(template, context)
            if value is not None:
                outputs[key] = value
                context[key] = value
        if self.taggable:
            default_tags = _default_tags(request)
            tags = request.inputs.get("tags")
            if default_tags or isinstance(tags, dict):
                outputs["tagsAll"] = {**default_tags, **(tags if isinstance(tags, dict) else {})}
        resource_id = _render(self.id, context) or f"{request.name}-{_hex(request.urn, 7)}"
        return resource_id, outputs


def _default_tags(request: ResourceRequest) -> dict[str, Any]:
    # Explicit providers get `defaultTags` as a JSON string, as every provider input is.
    raw = request.provider_inputs.get("defaultTags")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return {}
    if isinstance(raw, dict) and isinstance(raw.get("tags"), dict):
        return dict(raw["tags"])
    return {}


_QUEUE_URL: Final = "https://sqs.{region}.{dns_suffix}/{account}/{name}"

# Outputs follow the AWS provider's real formats; defaults are the values AWS applies when the
# program sets none (the SQS and Lambda defaults are AWS's documented ones).
AWS_SHAPES: Final[Mapping[str, AwsShape]] = {
    "aws:sns/topic:Topic": AwsShape(
        outputs={"arn": "arn:{partition}:sns:{region}:{account}:{name}", "owner": "{account}"},
        id="{arn}",
        max_name_length=256,
        fifo_flag="fifoTopic",
        defaults={"fifoTopic": False},
    ),
    "aws:sns/topicSubscription:TopicSubscription": AwsShape(
        outputs={"arn": "{inputs[topic]}:{uuid}", "ownerId": "{account}"},
        id="{arn}",
        name_property=None,
        taggable=False,
    ),
    "aws:sns/topicPolicy:TopicPolicy": AwsShape(
        outputs={"owner": "{account}"}, id="{inputs[arn]}", name_property=None, taggable=False
    ),
    "aws:sqs/queue:Queue": AwsShape(
        outputs={"arn": "arn:{partition}:sqs:{region}:{account}:{name}", "url": _QUEUE_URL},
        id="{url}",
        max_name_length=80,
        fifo_flag="fifoQueue",
        defaults={
            "fifoQueue": False,
            "visibilityTimeoutSeconds": 30,
            "messageRetentionSeconds": 345_600,
            "delaySeconds": 0,
            "receiveWaitTimeSeconds": 0,
        },
    ),
    "aws:sqs/queuePolicy:QueuePolicy": AwsShape(
        id="{inputs[queueUrl]}", name_property=None, taggable=False
    ),
    "aws:sqs/redrivePolicy:RedrivePolicy": AwsShape(
        id="{inputs[queueUrl]}", name_property=None, taggable=False
    ),
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": AwsShape(
        id="{inputs[queueUrl]}", name_property=None, taggable=False
    ),
    "aws:kms/key:Key": AwsShape(
        outputs={"keyId": "{uuid}", "arn": "arn:{partition}:kms:{region}:{account}:key/{uuid}"},
        id="{uuid}",
        name_property=None,
        defaults={"keyUsage": "ENCRYPT_DECRYPT", "customerMasterKeySpec": "SYMMETRIC_DEFAULT"},
    ),
    "aws:kms/alias:Alias": AwsShape(
        outputs={"arn": "arn:{partition}:kms:{region}:{account}:{name}"},
        max_name_length=256,
        name_format="alias/{name}",
        taggable=False,
    ),
    "aws:iam/role:Role": AwsShape(
        outputs={
            "arn": "arn:{partition}:iam::{account}:role{path}{name}",
            "uniqueId": "AROA{unique_id}",
        },
        max_name_length=64,
        defaults={"path": "/", "maxSessionDuration": 3600, "forceDetachPolicies": False},
    ),
    "aws:iam/policy:Policy": AwsShape(
        outputs={
            "arn": "arn:{partition}:iam::{account}:policy{path}{name}",
            "policyId": "ANPA{unique_id}",
        },
        id="{arn}",
        max_name_length=128,
        defaults={"path": "/"},
    ),
    "aws:iam/rolePolicy:RolePolicy": AwsShape(
        id="{inputs[role]}:{name}", max_name_length=128, taggable=False
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": AwsShape(
        id="{inputs[role]}-{unique_suffix}", name_property=None, taggable=False
    ),
    "aws:lambda/function:Function": AwsShape(
        outputs={
            "arn": "arn:{partition}:lambda:{region}:{account}:function:{name}",
            "invokeArn": (
                "arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}"
                "/invocations"
            ),
            "qualifiedArn": "{arn}:$LATEST",
            "version": "$LATEST",
        },
        max_name_length=64,
        defaults={"timeout": 3, "memorySize": 128, "packageType": "Zip", "publish": False},
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": AwsShape(
        outputs={
            "uuid": "{uuid}",
            "arn": "arn:{partition}:lambda:{region}:{account}:event-source-mapping:{uuid}",
            "state": "Enabled",
        },
        id="{uuid}",
        name_property=None,
    ),
    "aws:dynamodb/table:Table": AwsShape(
        outputs={"arn": "arn:{partition}:dynamodb:{region}:{account}:table/{name}"},
        max_name_length=255,
        defaults={"billingMode": "PROVISIONED"},
    ),
    "aws:cloudwatch/logGroup:LogGroup": AwsShape(
        outputs={"arn": "arn:{partition}:logs:{region}:{account}:log-group:{name}"},
        max_name_length=512,
        defaults={"retentionInDays": 0, "skipDestroy": False},
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": AwsShape(
        outputs={"arn": "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"},
        max_name_length=255,
    ),
    "aws:cloudwatch/dashboard:Dashboard": AwsShape(
        outputs={"dashboardArn": "arn:{partition}:cloudwatch::{account}:dashboard/{name}"},
        name_property="dashboardName",
        taggable=False,
    ),
    "aws:cloudwatch/eventRule:EventRule": AwsShape(
        outputs={"arn": "arn:{partition}:events:{region}:{account}:rule/{name}"},
        max_name_length=64,
    ),
    "aws:s3/bucket:Bucket": AwsShape(
        outputs={
            "arn": "arn:{partition}:s3:::{name}",
            "bucketDomainName": "{name}.s3.{dns_suffix}",
            "bucketRegionalDomainName": "{name}.s3.{region}.{dns_suffix}",
        },
        name_property="bucket",
        prefix_property="bucketPrefix",
        lowercase=True,
        max_name_length=63,
    ),
    "aws:ssm/parameter:Parameter": AwsShape(
        outputs={"arn": "arn:{partition}:ssm:{region}:{account}:parameter{slash_name}"},
        max_name_length=2048,
    ),
    "aws:secretsmanager/secret:Secret": AwsShape(
        outputs={
            "arn": "arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-{secret_suffix}"
        },
        id="{arn}",
        max_name_length=512,
    ),
}


def _generic_aws(request: ResourceRequest) -> Computed:
    # Any other AWS type: an id, and an ARN of the provider's usual `<service>:<type>/<id>` form.
    module = request.type.split(":")[1]
    service, _, member = module.partition("/")
    given_name = request.inputs.get("name")
    resource_id = (
        given_name
        if isinstance(given_name, str) and given_name
        else f"{request.name}-{_hex(request.urn, AWS_AUTONAME_HEX_CHARS)}"
    )
    arn = (
        f"arn:{request.environment.partition}:{service}:{request.aws_region}:"
        f"{request.environment.account_id}:{member.lower()}/{resource_id}"
    )
    return resource_id, {**request.inputs, "arn": request.inputs.get("arn", arn)}


# Kinds that live outside namespaces; every other kind gets `metadata.namespace: default`.
KUBERNETES_CLUSTER_SCOPED_KINDS: Final = frozenset(
    {
        "APIService",
        "CSIDriver",
        "CSINode",
        "CertificateSigningRequest",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)


def _kubernetes(request: ResourceRequest) -> Computed:
    outputs: dict[str, Any] = dict(request.inputs)
    kind = str(outputs.get("kind") or request.type.rsplit(":", 1)[-1])
    if request.type == "kubernetes:helm.sh/v3:Release":
        name = outputs.get("name") or (
            f"{request.name}-{_hex(request.urn, KUBERNETES_AUTONAME_HEX_CHARS)}".lower()
        )
        namespace = outputs.get("namespace") or "default"
        outputs.update(name=name, namespace=namespace)
        outputs["status"] = {"name": name, "namespace": namespace, "status": "deployed"}
        return f"{namespace}/{name}", outputs
    metadata: dict[str, Any] = dict(outputs.get("metadata") or {})
    if not metadata.get("name"):
        metadata["name"] = (
            f"{request.name}-{_hex(request.urn, KUBERNETES_AUTONAME_HEX_CHARS)}".lower()
        )
    namespaced = kind not in KUBERNETES_CLUSTER_SCOPED_KINDS
    if namespaced and not metadata.get("namespace"):
        metadata["namespace"] = "default"
    metadata.setdefault("uid", _uuid(request.urn, "kubernetes-uid"))
    outputs["metadata"] = metadata
    resource_id = (
        f"{metadata['namespace']}/{metadata['name']}" if namespaced else str(metadata["name"])
    )
    return resource_id, outputs


# random's default special characters (terraform-provider-random).
RANDOM_SPECIAL_CHARACTERS: Final = "!@#$%&*()-_=+[]{}<>:?"


def _int_input(inputs: Mapping[str, Any], key: str, default: int) -> int:
    value = inputs.get(key)
    return (
        int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    )


def _random_characters(request: ResourceRequest) -> str:
    inputs = request.inputs
    special = inputs.get("overrideSpecial")
    classes = [
        ("lower", "minLower", string.ascii_lowercase),
        ("upper", "minUpper", string.ascii_uppercase),
        ("numeric", "minNumeric", string.digits),
        (
            "special",
            "minSpecial",
            special if isinstance(special, str) else RANDOM_SPECIAL_CHARACTERS,
        ),
    ]
    length = _int_input(inputs, "length", 16)
    enabled = [
        (minimum, chars) for flag, minimum, chars in classes if inputs.get(flag, True) and chars
    ]
    pool = "".join(chars for _, chars in enabled) or string.ascii_letters
    picked = [
        char
        for minimum, chars in enabled
        for char in _choose(request.urn, f"min-{minimum}", chars, _int_input(inputs, minimum, 0))
    ]
    picked += list(_choose(request.urn, "fill", pool, max(length - len(picked), 0)))
    stream = _stream(request.urn, "shuffle")
    for index in range(len(picked) - 1, 0, -1):  # Fisher-Yates, with reproducible "randomness"
        other = next(stream) % (index + 1)
        picked[index], picked[other] = picked[other], picked[index]
    return "".join(picked[:length])


def _random_password(request: ResourceRequest) -> Computed:
    result = _random_characters(request)
    bcrypt = "$2a$10$" + base64.b64encode(_digest(request.urn, "bcrypt")).decode()[:53]
    return "none", {**request.inputs, "result": result, "bcryptHash": bcrypt}


def _random_string(request: ResourceRequest) -> Computed:
    result = _random_characters(request)
    return result, {**request.inputs, "result": result}


def _random_id(request: ResourceRequest) -> Computed:
    data = _digest(request.urn, "random-id") * 8
    raw = data[: _int_input(request.inputs, "byteLength", 8)]
    prefix = str(request.inputs.get("prefix") or "")
    b64_url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    outputs = {
        **request.inputs,
        "hex": prefix + raw.hex(),
        "b64Std": prefix + base64.b64encode(raw).decode(),
        "b64Url": prefix + b64_url,
        "dec": prefix + str(int.from_bytes(raw, "big")),
    }
    return b64_url, outputs


def _random_uuid(request: ResourceRequest) -> Computed:
    result = _uuid(request.urn, "random-uuid")
    return result, {**request.inputs, "result": result}


def _random_integer(request: ResourceRequest) -> Computed:
    low = _int_input(request.inputs, "min", 0)
    high = _int_input(request.inputs, "max", low)
    span = max(high - low + 1, 1)
    result = low + int.from_bytes(_digest(request.urn, "integer")[:8], "big") % span
    return str(result), {**request.inputs, "result": result}


_PET_WORDS: Final = ("amber", "brave", "calm", "deft", "eager", "fond", "glad", "hale", "keen")
_PET_ANIMALS: Final = ("otter", "heron", "lynx", "marten", "puffin", "stoat", "wren", "yak")


def _random_pet(request: ResourceRequest) -> Computed:
    length = _int_input(request.inputs, "length", 2)
    separator = str(request.inputs.get("separator") or "-")
    stream = _stream(request.urn, "pet")
    words = [_PET_WORDS[next(stream) % len(_PET_WORDS)] for _ in range(max(length - 1, 0))]
    words.append(_PET_ANIMALS[next(stream) % len(_PET_ANIMALS)])
    prefix = request.inputs.get("prefix")
    pet = separator.join(([prefix] if isinstance(prefix, str) and prefix else []) + words)
    return pet, dict(request.inputs)


def _echo(request: ResourceRequest) -> Computed:
    # Unknown providers: their outputs are the inputs, under a reproducible id.
    return f"{request.name}-{_hex(request.urn, AWS_AUTONAME_HEX_CHARS)}", dict(request.inputs)


def _provider(request: ResourceRequest) -> Computed:
    return _uuid(request.urn, "provider"), dict(request.inputs)


RESOURCE_MOCKS: Final[Mapping[str, ResourceMock]] = {
    **AWS_SHAPES,
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomString:RandomString": _random_string,
    "random:index/randomId:RandomId": _random_id,
    "random:index/randomUuid:RandomUuid": _random_uuid,
    "random:index/randomInteger:RandomInteger": _random_integer,
    "random:index/randomPet:RandomPet": _random_pet,
}

# Checked in order when a type has no entry of its own in RESOURCE_MOCKS.
RESOURCE_MOCKS_BY_PREFIX: Final[tuple[tuple[str, ResourceMock], ...]] = (
    ("pulumi:providers:", _provider),
    ("aws:", _generic_aws),
    ("kubernetes:", _kubernetes),
)


def compute_resource(request: ResourceRequest) -> Computed:
    """The id and outputs the resource's provider would return on create."""
    mock = RESOURCE_MOCKS.get(request.type)
    if mock is None:
        mock = next(
            (
                candidate
                for prefix, candidate in RESOURCE_MOCKS_BY_PREFIX
                if request.type.startswith(prefix)
            ),
            _echo,
        )
    return mock(request)


def stack_reference_outputs(stack_name: str, environment: CloudEnvironment) -> dict[str, Any]:
    """The outputs `pulumi.StackReference(stack_name)` reads, from the mocks file."""
    outputs = environment.mock_values.stack_references.get(stack_name)
    if outputs is None:
        known = sorted(environment.mock_values.stack_references)
        listed = ", ".join(repr(name) for name in known) if known else "none"
        raise MockValuesError(
            f"The program reads the stack reference {stack_name!r}, which cannot be reached "
            f"offline, and {environment.mocks_file_hint()} gives no outputs for it "
            f"(stack references it defines: {listed}). Add them under `stack_references:`, "
            f"for example:\n  stack_references:\n    {stack_name}:\n      someOutput: some-value"
        )
    return {"name": stack_name, "outputs": dict(outputs), "secretOutputNames": []}


# --- invokes -----------------------------------------------------------------------------------


def _caller_identity(_: Mapping[str, Any], environment: CloudEnvironment) -> dict[str, Any]:
    account = environment.account_id
    return {
        "accountId": account,
        "arn": f"arn:{environment.partition}:iam::{account}:user/eventinfra-check",
        "id": account,
        "userId": "AIDA" + _choose(account, "user-id", string.ascii_uppercase + string.digits, 17),
    }


def _region(args: Mapping[str, Any], environment: CloudEnvironment) -> dict[str, Any]:
    region = args.get("region") or args.get("name") or environment.region
    return {
        "region": region,
        "name": region,
        "id": region,
        "endpoint": f"ec2.{region}.{environment.dns_suffix}",
        "description": "",
    }


def _partition(_: Mapping[str, Any], environment: CloudEnvironment) -> dict[str, Any]:
    reverse = "cn.com.amazonaws" if environment.partition == "aws-cn" else "com.amazonaws"
    return {
        "partition": environment.partition,
        "id": environment.partition,
        "dnsSuffix": environment.dns_suffix,
        "reverseDnsPrefix": reverse,
    }


def _string_list(values: Any) -> Any:
    # As the provider renders every string set: reverse-sorted, a single value as a string.
    if not isinstance(values, list):
        return values
    ordered = sorted(values, reverse=True)
    return ordered[0] if len(ordered) == 1 else ordered


def _policy_document(args: Mapping[str, Any], _: CloudEnvironment) -> dict[str, Any]:
    """`aws.iam.get_policy_document`, rendered the way the provider renders it."""
    statements = []
    for statement in args.get("statements") or []:
        rendered: dict[str, Any] = {}
        if statement.get("sid"):
            rendered["Sid"] = statement["sid"]
        rendered["Effect"] = statement.get("effect") or "Allow"
        for source, target in (
            ("actions", "Action"),
            ("notActions", "NotAction"),
            ("resources", "Resource"),
            ("notResources", "NotResource"),
        ):
            if statement.get(source):
                rendered[target] = _string_list(statement[source])
        for source, target in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if statement.get(source):
                principals: dict[str, Any] = {}
                for principal in statement[source]:
                    principals[principal["type"]] = _string_list(principal["identifiers"])
                rendered[target] = "*" if principals == {"*": "*"} else principals
        if statement.get("conditions"):
            conditions: dict[str, dict[str, Any]] = {}
            for condition in statement["conditions"]:
                conditions.setdefault(condition["test"], {})[condition["variable"]] = _string_list(
                    condition["values"]
                )
            rendered["Condition"] = conditions
        statements.append(rendered)
    document = {"Version": args.get("version") or "2012-10-17", "Statement": statements}
    text = json.dumps(document, indent=2)
    return {"json": text, "minifiedJson": json.dumps(document, separators=(",", ":")), "id": ""}


InvokeMock = Callable[[Mapping[str, Any], CloudEnvironment], dict[str, Any]]

INVOKE_MOCKS: Final[Mapping[str, InvokeMock]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
}


def compute_invoke(
    token: str, args: Mapping[str, Any], environment: CloudEnvironment
) -> dict[str, Any]:
    """The result of a provider function: from the mocks file first, then the built-in ones."""
    configured = environment.mock_values.invokes.get(token)
    if configured is not None:
        return dict(configured)
    builtin = INVOKE_MOCKS.get(token)
    if builtin is not None:
        return builtin(args, environment)
    raise MockValuesError(
        f"The program calls the provider function {token!r}, which cannot run offline, and "
        f"{environment.mocks_file_hint()} gives no result for it. Add the result under "
        f"`invokes:`, for example:\n  invokes:\n    {token}:\n      someOutput: some-value"
    )
