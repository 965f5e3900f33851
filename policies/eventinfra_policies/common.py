"""Shared helpers: read the SDK's Mapping/Sequence proxies, parse JSON props, join resources."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError, _is_unknown

# Type tokens (Python packs cannot filter by type, so every policy compares these).
QUEUE: Final = "aws:sqs/queue:Queue"
QUEUE_POLICY: Final = "aws:sqs/queuePolicy:QueuePolicy"
REDRIVE_POLICY: Final = "aws:sqs/redrivePolicy:RedrivePolicy"
TOPIC: Final = "aws:sns/topic:Topic"
TOPIC_POLICY: Final = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION: Final = "aws:sns/topicSubscription:TopicSubscription"
FUNCTION: Final = "aws:lambda/function:Function"
EVENT_SOURCE_MAPPING: Final = "aws:lambda/eventSourceMapping:EventSourceMapping"
TABLE: Final = "aws:dynamodb/table:Table"
ALARM: Final = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP: Final = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY: Final = "aws:kms/key:Key"
KMS_ALIAS: Final = "aws:kms/alias:Alias"
IAM_POLICY: Final = "aws:iam/policy:Policy"
IAM_ROLE: Final = "aws:iam/role:Role"
IAM_ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
IAM_USER_POLICY: Final = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY: Final = "aws:iam/groupPolicy:GroupPolicy"

# The project's explicit signals (see components/eventinfra/tags.py).
ROLE_TAG: Final = "eventinfra:role"
IDEMPOTENCY_TAG: Final = "eventinfra:idempotency"
ROLE_DLQ: Final = "dlq"
ROLE_PARKING: Final = "parking"
ROLE_IDEMPOTENCY: Final = "idempotency"

# Documented AWS defaults for properties a program leaves unset.
SQS_DEFAULT_VISIBILITY_SECONDS: Final = 30
SQS_DEFAULT_RETENTION_SECONDS: Final = 345_600  # 4 days
SQS_MAX_RETENTION_SECONDS: Final = 1_209_600  # 14 days
LAMBDA_DEFAULT_TIMEOUT_SECONDS: Final = 3
SQS_ESM_DEFAULT_BATCH_SIZE: Final = 10

_MISSING: Final = object()
_Join = TypeVar("_Join")


class Unknown(Exception):
    """A value the policy needs is not known yet (preview), or cannot be read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def get(value: Any, *path: str | int, default: Any = None) -> Any:
    """`value[path[0]][path[1]]…`, `default` when absent; raises `Unknown` for unknown values.

    Works on the SDK's proxies (which raise `UnknownValueError` on unknowns) and on plain
    dicts/lists holding the engine's unknown sentinels, so tests can use either.
    """
    current = value
    walked: list[str] = []
    for key in path:
        walked.append(str(key))
        if isinstance(key, int):
            if not isinstance(current, Sequence) or isinstance(current, str):
                return default
            if not -len(current) <= key < len(current):
                return default
        elif not isinstance(current, Mapping):
            return default
        try:
            current = current[key]
        except KeyError:
            return default
        except UnknownValueError as error:
            raise Unknown(error.message) from None
        if _is_unknown(current):
            raise Unknown(f"value at .{'.'.join(walked)} can't be known during preview")
    return current


def plain(value: Any) -> Any:
    """A deep copy of a proxied value as plain dicts and lists (raises `Unknown`)."""
    if _is_unknown(value):
        raise Unknown("a value can't be known during preview")
    if isinstance(value, Mapping):
        return {key: plain(get(value, key)) for key in list(iter(value))}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(get(value, index)) for index in range(len(value))]
    return value


def as_list(value: Any) -> list[Any]:
    """IAM's "one value or a list of values"."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def json_prop(props: Mapping[str, Any], key: str) -> Any:
    """A JSON-string property parsed (or already an object); None when absent."""
    raw = get(props, key)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        return plain(raw)
    try:
        return json.loads(raw)
    except ValueError:
        raise Unknown(f"property {key!r} is not valid JSON") from None


def tags(props: Mapping[str, Any]) -> dict[str, str]:
    """The resource's own tags (or `tagsAll` from outputs)."""
    for key in ("tags", "tagsAll"):
        value = get(props, key)
        if isinstance(value, Mapping):
            return {str(k): str(v) for k, v in plain(value).items()}
    return {}


def number(value: Any, default: float) -> float:
    """A numeric property (the engine sends floats; strings happen in hand-written props)."""
    if value is None:
        return float(default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Unknown(f"{value!r} is not a number") from None


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def seconds(value: float) -> str:
    return f"{value:g} s"


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM/resource policy document, always a list of mappings."""
    if not isinstance(document, Mapping):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def condition_values(statement: Mapping[str, Any], key: str) -> list[str]:
    """Every value a statement's Condition gives `key` (any operator, key case-insensitive)."""
    values: list[str] = []
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return values
    for block in condition.values():
        if isinstance(block, Mapping):
            for name, value in block.items():
                if str(name).lower() == key.lower():
                    values += [str(v) for v in as_list(value)]
    return values


def action_matches(pattern: str, action: str) -> bool:
    """Does the IAM action pattern `pattern` (may hold `*`) cover `action`?"""
    import fnmatch

    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def allows(statement: Mapping[str, Any], action: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    return any(action_matches(str(p), action) for p in as_list(statement.get("Action")))


def service_principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if isinstance(principal, Mapping):
        return [str(p) for p in as_list(principal.get("Service"))]
    return []


def resource_covers(statement: Mapping[str, Any], arn: str) -> bool:
    return any(action_matches(str(r), arn) for r in as_list(statement.get("Resource")))


def short_name_from_arn(arn: str) -> str:
    """`arn:aws:sqs:region:account:name` → `name` (also `…:table/name`, `…:function:name`)."""
    tail = arn.rsplit(":", 1)[-1]
    return tail.rsplit("/", 1)[-1]


# ---------------------------------------------------------------- resource policies


# A resource policy's violation always names the resource it checks (the SDK ignores a URN there),
# so its checks report a message only.
ReportResourceViolation = Callable[[str], None]


def resource_validator(
    types: Iterable[str],
) -> Callable[
    [Callable[[ResourceValidationArgs, ReportResourceViolation], None]],
    Callable[[ResourceValidationArgs, ReportViolation], None],
]:
    """Run the check only for `types`; unknown values make the policy not applicable."""
    wanted = frozenset(types)

    def wrap(
        check: Callable[[ResourceValidationArgs, ReportResourceViolation], None],
    ) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if args.resource_type not in wanted:
                return
            try:
                check(args, lambda message: report_violation(message, None))
            except (Unknown, UnknownValueError) as error:
                reason = error.reason if isinstance(error, Unknown) else error.message
                args.not_applicable(f"'{args.name}': {reason}; checked again during `pulumi up`")

        validate.__name__ = check.__name__
        validate.__doc__ = check.__doc__
        return validate

    return wrap


# ---------------------------------------------------------------- stack policies


@dataclass(frozen=True)
class Res:
    """One resource of the stack, with its properties (outputs) and identifiers."""

    resource: PolicyResource

    @property
    def props(self) -> Mapping[str, Any]:
        return self.resource.props

    @property
    def type(self) -> str:
        return self.resource.resource_type

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def urn(self) -> str:
        return self.resource.urn

    def get(self, *path: str | int, default: Any = None) -> Any:
        return get(self.props, *path, default=default)

    def known(self, *path: str | int) -> Any:
        """Like `get`, but None instead of raising for unknown values (for indexes)."""
        try:
            return get(self.props, *path)
        except Unknown:
            return None

    def json(self, key: str) -> Any:
        return json_prop(self.props, key)

    @property
    def tags(self) -> dict[str, str]:
        return tags(self.props)


class Lookup:
    """Resources by a value read from each, for rules that used to scan every resource of a type
    per checked resource (quadratic on large stacks), with the scan's exact outcome.

    `matching` considers, in stack order, every resource whose read value equals one of
    `values` and every resource whose value is neither a string nor None (tested with `wanted`,
    as the scan did); None never matches. A resource whose value could not be read stopped the
    scan with `Unknown`, so `matching` raises at the first such position too, after the earlier
    matches.
    """

    def __init__(self, resources: Sequence[Res], read: Callable[[Res], Any]) -> None:
        self._by_value: dict[str, list[int]] = {}
        self._other: list[int] = []
        self._first_unknown: tuple[int, Unknown] | None = None
        self._resources = list(resources)
        self._values: list[Any] = []
        for position, resource in enumerate(self._resources):
            try:
                value = read(resource)
            except Unknown as error:
                self._values.append(_MISSING)
                if self._first_unknown is None:
                    self._first_unknown = (position, error)
                continue
            self._values.append(value)
            if isinstance(value, str):
                self._by_value.setdefault(value, []).append(position)
            elif value is not None:
                self._other.append(position)

    def matching(self, wanted: Callable[[Any], bool], *values: str) -> Iterator[Res]:
        """The resources, in stack order, whose value passes `wanted` (which must be false for
        None and for every string not in `values`); raises `Unknown` where the scan would have."""
        positions = sorted({*self._other, *(p for v in values for p in self._by_value.get(v, ()))})
        stop = self._first_unknown[0] if self._first_unknown is not None else len(self._resources)
        for position in positions:
            if position > stop:
                break
            if wanted(self._values[position]):
                yield self._resources[position]
        if self._first_unknown is not None:
            raise Unknown(self._first_unknown[1].reason)


class Stack:
    """A per-call view of the stack: resources by type and by ARN/name/URL. Never shared."""

    def __init__(self, args: StackValidationArgs) -> None:
        self.args = args
        self.resources = [Res(r) for r in args.resources]
        self._unknown: list[str] = []
        self._by_type: dict[str, list[Res]] = {}
        self._joins: dict[Callable[[Stack], Any], Any] = {}
        self._indexes: dict[tuple[str, tuple[str, ...]], Mapping[str, Res]] = {}
        self._lookups: dict[tuple[str, Callable[[Res], Any]], Lookup] = {}
        for resource in self.resources:
            self._by_type.setdefault(resource.type, []).append(resource)

    def joined(self, join: Callable[[Stack], _Join]) -> _Join:
        """`join(self)` (an index or graph of the stack), built once per policy call."""
        if join not in self._joins:
            self._joins[join] = join(self)
        return cast(_Join, self._joins[join])

    def lookup(self, type_: str, read: Callable[[Res], Any]) -> Lookup:
        """`Lookup` of the resources of `type_` by `read(resource)`, built once per policy call.

        `read` must be a module-level function (it keys the cache)."""
        key = (type_, read)
        found = self._lookups.get(key)
        if found is None:
            found = self._lookups[key] = Lookup(self.of(type_), read)
        return found

    def of(self, *types: str) -> list[Res]:
        return [r for t in types for r in self._by_type.get(t, [])]

    def index(self, type_: str, *keys: str) -> Mapping[str, Res]:
        """Resources of `type_` by each known value of the properties `keys` (arn, name, url…).

        Built once per policy call: a rule looks resources up while it checks each of them.
        """
        cached = self._indexes.get((type_, keys))
        if cached is not None:
            return cached
        found: dict[str, Res] = {}
        for resource in self.of(type_):
            for key in keys:
                value = resource.known(key)
                if isinstance(value, str) and value:
                    found.setdefault(value, resource)
        self._indexes[(type_, keys)] = found
        return found

    @contextmanager
    def checking(self, resource: Res) -> Iterator[None]:
        """Skip one resource whose needed values are unknown; reported at the end."""
        try:
            yield
        except (Unknown, UnknownValueError) as error:
            reason = error.reason if isinstance(error, Unknown) else error.message
            self._unknown.append(f"'{resource.name}': {reason}")

    def finish(self) -> None:
        """Declare the policy not applicable to what could not be checked (after violations)."""
        if self._unknown:
            self.args.not_applicable(
                "could not check "
                + "; ".join(sorted(set(self._unknown)))
                + "; checked again during `pulumi up`"
            )


# A stack rule's check of one resource: it reads joins through `stack.joined(...)` and reports
# against any URN (often a related resource: the DLQ, not the queue it was found from).
StackCheck = Callable[[Stack, Res, ReportViolation], None]


def stack_validator(
    types: Iterable[str],
) -> Callable[[StackCheck], Callable[[StackValidationArgs, ReportViolation], None]]:
    """Run the check for each resource of `types`, in stack order; a resource whose needed values
    are unknown is skipped, and the policy then reports as not applicable to it (after violations).
    """
    wanted = tuple(types)

    def wrap(check: StackCheck) -> Callable[[StackValidationArgs, ReportViolation], None]:
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            stack = Stack(args)
            for resource in stack.of(*wanted):
                with stack.checking(resource):
                    check(stack, resource, report_violation)
            stack.finish()

        validate.__name__ = check.__name__
        validate.__doc__ = check.__doc__
        return validate

    return wrap


def queue_display(queue: Res) -> str:
    return queue.name


def redrive_target(queue: Res) -> str | None:
    """The DLQ ARN of a queue's inline redrive policy."""
    policy = queue.json("redrivePolicy")
    if isinstance(policy, Mapping):
        target = policy.get("deadLetterTargetArn")
        return str(target) if target else None
    return None


@dataclass(frozen=True)
class QueueGraph:
    """Queues, their DLQs and what redrives where, joined by ARN and URL."""

    by_arn: Mapping[str, Res]
    by_url: Mapping[str, Res]
    dlq_of: dict[str, str]  # source queue URN → DLQ ARN
    redrive_targets: frozenset[str]  # every ARN something dead-letters to
    unreadable: dict[str, str]  # queue URN → reason its redrive policy could not be read


def queue_graph(stack: Stack) -> QueueGraph:
    by_arn = stack.index(QUEUE, "arn")
    by_url = stack.index(QUEUE, "url", "id")
    dlq_of: dict[str, str] = {}
    targets: set[str] = set()
    unreadable: dict[str, str] = {}
    for queue in stack.of(QUEUE):
        try:
            target = redrive_target(queue)
        except Unknown as error:
            unreadable[queue.urn] = error.reason
            continue
        if target:
            dlq_of[queue.urn] = target
            targets.add(target)
    for policy in stack.of(REDRIVE_POLICY):
        try:
            document = policy.json("redrivePolicy")
            url = policy.get("queueUrl")
        except Unknown:
            continue
        target = document.get("deadLetterTargetArn") if isinstance(document, Mapping) else None
        if target:
            targets.add(str(target))
            source = by_url.get(str(url))
            if source is not None:
                dlq_of[source.urn] = str(target)
    for subscription in stack.of(SUBSCRIPTION):
        try:
            document = subscription.json("redrivePolicy")
        except Unknown:
            continue
        if isinstance(document, Mapping) and document.get("deadLetterTargetArn"):
            targets.add(str(document["deadLetterTargetArn"]))
    for function in stack.of(FUNCTION):
        target = function.known("deadLetterConfig", "targetArn")
        if isinstance(target, str) and target:
            targets.add(target)
    return QueueGraph(by_arn, by_url, dlq_of, frozenset(targets), unreadable)


def redrive_permission(queue: Res) -> str | None:
    document = queue.json("redriveAllowPolicy")
    if isinstance(document, Mapping):
        permission = document.get("redrivePermission")
        return str(permission) if permission else None
    return None


def is_dlq(queue: Res, graph: QueueGraph) -> bool:
    """A DLQ by wiring: it allows redrive (byQueue/allowAll) or something dead-letters to it."""
    if redrive_permission(queue) in ("byQueue", "allowAll"):
        return True
    arn = queue.known("arn")
    return bool(arn) and arn in graph.redrive_targets


def is_parking(queue: Res) -> bool:
    """A terminal parking queue: tagged so and refusing to be anyone's DLQ (denyAll)."""
    return queue.tags.get(ROLE_TAG) == ROLE_PARKING and redrive_permission(queue) == "denyAll"


def queue_policies(stack: Stack, queue: Res) -> list[Any]:
    """Parsed policy documents attached to a queue (inline `policy` or QueuePolicy by URL)."""
    documents = []
    inline = queue.json("policy")
    if inline:
        documents.append(inline)
    urls = {queue.known("url"), queue.known("id")} - {None, ""}
    by_url = stack.lookup(QUEUE_POLICY, _queue_url)
    strings = [url for url in urls if isinstance(url, str)]
    for policy in by_url.matching(lambda url: url in urls, *strings):
        documents.append(policy.json("policy"))
    return [d for d in documents if d]


def _queue_url(policy: Res) -> Any:
    return policy.get("queueUrl")


def _arn(resource: Res) -> Any:
    return resource.get("arn")


def topic_policies(stack: Stack, topic: Res) -> list[Any]:
    documents = []
    inline = topic.json("policy")
    if inline:
        documents.append(inline)
    arn = topic.known("arn")
    if arn:  # the scan this replaces read no policy's ARN for a topic without one
        wanted = [arn] if isinstance(arn, str) else []
        for policy in stack.lookup(TOPIC_POLICY, _arn).matching(lambda a: a == arn, *wanted):
            documents.append(policy.json("policy"))
    return [d for d in documents if d]


def alarms_on(stack: Stack, namespace: str, dimension: str, value: str) -> list[Res]:
    """Metric alarms in `namespace` whose dimension `dimension` equals `value`."""
    lookup = stack.lookup(ALARM, _ALARM_DIMENSION_READERS[namespace, dimension])
    wanted = [value] if isinstance(value, str) else []
    return list(lookup.matching(lambda found: found == value, *wanted))


def _dimension_reader(namespace: str, dimension: str) -> Callable[[Res], Any]:
    def read(alarm: Res) -> Any:
        if alarm.known("namespace") != namespace:
            return None
        dimensions = alarm.known("dimensions")
        return get(dimensions, dimension) if isinstance(dimensions, Mapping) else None

    return read


# One reader per (namespace, dimension) the rules ask about: the reader keys `Stack.lookup`.
_ALARM_DIMENSION_READERS: Final = {
    key: _dimension_reader(*key)
    for key in (("AWS/SQS", "QueueName"), ("AWS/Lambda", "FunctionName"))
}
