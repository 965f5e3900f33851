"""Every AWS rule, as functions over plain values: the components and the loader both call them."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventinfra.aws import defaults
from eventinfra.aws.naming import FIFO_SUFFIX
from eventinfra.contract import Finding, range_problems
from eventinfra.keypaths import KeyPath

# SQS queue, SNS topic and Lambda function names: letters, digits, '-' and '_' (plus the
# '.fifo' suffix of FIFO queues and topics).
_NAME = re.compile(r"[A-Za-z0-9_-]+")


# SNS topic ARNs: arn:<partition>:sns:<region>:<12-digit account>:<topic name>; no wildcard.
_TOPIC_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov|-iso|-iso-[a-z])?:sns:[a-z]{2}(?:-[a-z]+)+-[0-9]+:[0-9]{12}:"
    r"(?P<name>[A-Za-z0-9_-]+(?:\.fifo)?)",
    re.ASCII,
)
TOPIC_ARN_FORM = "arn:<partition>:sns:<region>:<12-digit account>:<topic name>"


# What a topic ARN becomes, per arg: the reason given when it is not one topic's ARN.
SUBSCRIPTION_USE = (
    "a wildcard would let every matching topic send to the queue (aws:SourceArn)",
    "it becomes the queue policy's aws:SourceArn and the subscription's topic",
)
ALARM_USE = (
    "a wildcard is no alarm action and would leave the alarms silent",
    "it becomes the alarms' ALARM and OK actions",
)
PUBLISH_USE = (
    "a wildcard would let the producer publish to every matching topic (sns:Publish)",
    "it becomes the Resource of the producer's sns:Publish policy",
)


def _shown(value: object) -> str:
    return repr(value) if len(repr(value)) <= 120 else repr(value)[:117] + "..."


def topic_arn_problems(
    arn: object, key: KeyPath = (), use: tuple[str, str] = SUBSCRIPTION_USE
) -> list[Finding]:
    """A topic ARN that reaches a policy document or a resource must name one topic exactly.
    `use` is (why a wildcard is refused, what the ARN becomes) for the message."""
    if isinstance(arn, str) and (match := _TOPIC_ARN.fullmatch(arn)) and len(match["name"]) <= 256:
        return []
    shown = _shown(arn)
    why = use[0] if isinstance(arn, str) and ("*" in arn or "?" in arn) else use[1]
    return [
        Finding(
            key,
            f"gives the topic ARN {shown}; expected one SNS topic's ARN, "
            f"{TOPIC_ARN_FORM} with no wildcard, because {why}.",
        )
    ]


# The ARNs of one key, queue or table that become the Resource of a grant. IAM reads `*` and `?`
# in a Resource as wildcards and `${...}` as a policy variable: either would grant the actions on
# every matching resource, so only the exact form passes.
_REGIONAL_ARN = (
    r"arn:aws(?:-cn|-us-gov|-iso|-iso-[a-z])?:{service}:[a-z]{{2}}(?:-[a-z]+)+-[0-9]+:[0-9]{{12}}:"
)
_RESOURCE_ARNS = {
    "KMS key": (
        re.compile(
            _REGIONAL_ARN.format(service="kms") + r"key/(?:mrk-)?[0-9A-Fa-f-]{1,64}", re.ASCII
        ),
        "arn:<partition>:kms:<region>:<12-digit account>:key/<key id>",
    ),
    "SQS queue": (
        re.compile(
            _REGIONAL_ARN.format(service="sqs") + r"[A-Za-z0-9_-]{1,80}(?:\.fifo)?", re.ASCII
        ),
        "arn:<partition>:sqs:<region>:<12-digit account>:<queue name>",
    ),
    "DynamoDB table": (
        re.compile(
            _REGIONAL_ARN.format(service="dynamodb") + r"table/[A-Za-z0-9_.-]{3,255}", re.ASCII
        ),
        "arn:<partition>:dynamodb:<region>:<12-digit account>:table/<table name>",
    ),
}


def resource_arn_problems(arn: object, kind: str, grant: str, key: KeyPath = ()) -> list[Finding]:
    """An ARN that becomes the Resource of `grant` (like "the producer's kms:GenerateDataKey
    grant") must name one `kind` (a key of `_RESOURCE_ARNS`) exactly."""
    pattern, form = _RESOURCE_ARNS[kind]
    if isinstance(arn, str) and pattern.fullmatch(arn):
        return []
    wildcard = isinstance(arn, str) and ("*" in arn or "?" in arn or "${" in arn)
    why = (
        f"IAM reads a wildcard or ${{...}} policy variable there as every matching {kind}, and "
        f"it becomes the Resource of {grant}"
        if wildcard
        else f"it becomes the Resource of {grant}"
    )
    return [
        Finding(
            key,
            f"gives the {kind} ARN {_shown(arn)}; expected one {kind}'s ARN, {form} with no "
            f"wildcard or policy variable, because {why}.",
        )
    ]


# An AWS service principal, like `cloudwatch.amazonaws.com` (China: `.amazonaws.com.cn`).
_SERVICE_PRINCIPAL = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.amazonaws\.com(\.cn)?", re.ASCII)


def service_principal_problems(services: object, allowed: str, key: KeyPath) -> list[Finding]:
    """Services named as a policy's Principal (`allowed`: what the statement lets them do)."""
    names = services if isinstance(services, list | tuple) else [services]
    return [
        Finding(
            (*key, index),
            f"gives the service principal {_shown(service)}; expected an AWS service's principal, "
            f"like 'cloudwatch.amazonaws.com', with no wildcard or policy variable, because it "
            f"becomes the Principal allowed to {allowed}.",
        )
        for index, service in enumerate(names)
        if not (isinstance(service, str) and _SERVICE_PRINCIPAL.fullmatch(service))
    ]


# IAM role ARNs: arn:<partition>:iam::<12-digit account>:role/<path/><name>; ASCII, no wildcard.
ROLE_ARN_PATTERN = (
    r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:role/"
    r"(?:[A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}"
)
_ROLE_ARN = re.compile(ROLE_ARN_PATTERN, re.ASCII)
ROLE_ARN_FORM = "arn:<partition>:iam::<12-digit account>:role/<name>"


def role_arn_problems(arn: object, key: KeyPath = ()) -> list[Finding]:
    """A role ARN that reaches a topic policy's Principal must name one IAM role exactly."""
    if isinstance(arn, str) and len(arn) <= 2048 and _ROLE_ARN.fullmatch(arn):
        return []
    why = (
        "a wildcard would let every matching principal publish (Principal, aws:PrincipalArn)"
        if isinstance(arn, str) and ("*" in arn or "?" in arn)
        else "it becomes the topic policy's Principal allowed to publish"
    )
    return [
        Finding(
            key,
            f"gives the role ARN {_shown(arn)}; expected one IAM role's ARN, {ROLE_ARN_FORM} "
            f"(ASCII; a role name of at most 64 of A-Z a-z 0-9 + = , . @ _ -) with no "
            f"wildcard, because {why}.",
        )
    ]


def role_account_problems(
    arn: str, *, account_id: str, partition: str, cross_account: bool, key: KeyPath = ()
) -> list[Finding]:
    """A well-formed role ARN the platform grants must be of the deploying partition, and of the
    deploying account unless declared cross-account: the publish policy is attached by role
    name, which IAM resolves in the deploying account only."""
    _, arn_partition, _, _, arn_account, resource = arn.split(":", 5)
    if arn_partition != partition:
        return [
            Finding(
                key,
                f"gives the role ARN {arn!r} in partition {arn_partition!r}, but the stack "
                f"deploys to partition {partition!r}; expected a role of partition "
                f"{partition!r}, because IAM cannot grant a principal of another partition.",
            )
        ]
    if arn_account != account_id and not cross_account:
        role_name = resource.rsplit("/", 1)[-1]
        return [
            Finding(
                key,
                f"gives the role ARN {arn!r} of account {arn_account}, but the stack deploys to "
                f"account {account_id}; expected a role of account {account_id}, or "
                "`cross_account: true` beside it when the role is another account's (the topic "
                "policy then lets it publish, and its own account grants it sns:Publish), "
                "because the publish policy is attached by role name and would reach the role "
                f"{role_name!r} of account {account_id} instead.",
            )
        ]
    return []


# --- names -----------------------------------------------------------------------------------


def _name_problems(
    name: str, *, subject: str, limit: int, fifo: bool | None, key: KeyPath, detail: str
) -> list[Finding]:
    findings = []
    if len(name) > limit:
        findings.append(
            Finding(
                key,
                f"{subject} {name!r} ({len(name)} characters{detail}); expected at most {limit}.",
            )
        )
    stem = name.removesuffix(FIFO_SUFFIX) if fifo else name
    if not _NAME.fullmatch(stem):
        findings.append(
            Finding(
                key,
                f"{subject} {name!r}; expected only letters, digits, '-' and '_'"
                f"{' before the .fifo suffix' if fifo else ''}.",
            )
        )
    if fifo is not None and fifo != name.endswith(FIFO_SUFFIX):
        expected = "ending in" if fifo else "not ending in"
        kind = "FIFO" if fifo else "standard"
        findings.append(
            Finding(key, f"{subject} {name!r}; expected a name {expected} '.fifo' ({kind}).")
        )
    return findings


def queue_name_problems(
    name: str,
    *,
    fifo: bool,
    key: KeyPath = (),
    subject: str = "gives the queue name",
    detail: str = "",
) -> list[Finding]:
    """At most 80 characters of [A-Za-z0-9_-]; a FIFO queue's name ends in '.fifo'."""
    return _name_problems(
        name,
        subject=subject,
        limit=defaults.SQS_MAX_NAME_LENGTH,
        fifo=fifo,
        key=key,
        detail=detail,
    )


def topic_name_problems(name: str, *, fifo: bool, key: KeyPath = ()) -> list[Finding]:
    """At most 256 characters of [A-Za-z0-9_-]; a FIFO topic's name ends in '.fifo'."""
    return _name_problems(
        name,
        subject="gives the SNS topic name",
        limit=defaults.SNS_MAX_NAME_LENGTH,
        fifo=fifo,
        key=key,
        detail="",
    )


def function_name_problems(name: str, key: KeyPath = ()) -> list[Finding]:
    """At most 64 characters of [A-Za-z0-9_-]."""
    return _name_problems(
        name,
        subject="gives the Lambda function name",
        limit=defaults.LAMBDA_MAX_FUNCTION_NAME_LENGTH,
        fifo=None,
        key=key,
        detail="",
    )


# --- queues ----------------------------------------------------------------------------------


def retention_problems(retention_seconds: int) -> list[Finding]:
    """A dead-letter queue keeps each message's original enqueue time, so it must keep messages
    longer than its source queue."""
    key: KeyPath = ("message_retention_seconds",)
    findings = range_problems(
        retention_seconds,
        defaults.SQS_MIN_RETENTION_SECONDS,
        defaults.SQS_MAX_RETENTION_SECONDS,
        "the SQS retention limits, 60 seconds to 14 days",
        key,
    )
    if not findings and retention_seconds >= defaults.DLQ_RETENTION_SECONDS:
        findings.append(
            Finding(
                key,
                f"expected less than {defaults.DLQ_RETENTION_SECONDS} (the dead-letter queue's "
                "14 days, which must outlive the queue's retention, or dead-lettered messages "
                f"expire on arrival), found {retention_seconds}.",
            )
        )
    return findings


def max_receive_count_problems(max_receive_count: int) -> list[Finding]:
    return range_problems(
        max_receive_count, 1, 1000, "the SQS redrive policy limits", ("max_receive_count",)
    )


def required_visibility_seconds(
    timeout_seconds: int,
    batch_window_seconds: int,
    multiplier: int = defaults.VISIBILITY_TIMEOUT_MULTIPLIER,
) -> int:
    """Lambda may retry a batch several times within one visibility timeout (AWS guidance)."""
    return multiplier * timeout_seconds + batch_window_seconds


def visibility_problems(
    visibility_timeout_seconds: int | None,
    *,
    timeout_seconds: int,
    batch_window_seconds: int,
    function_key: KeyPath,
    multiplier: int = defaults.VISIBILITY_TIMEOUT_MULTIPLIER,
) -> list[Finding]:
    """The queue's visibility timeout covers every retry of a Lambda batch, within the SQS
    maximum. `None` means the visibility timeout is derived, so only the maximum can fail."""
    required = required_visibility_seconds(timeout_seconds, batch_window_seconds, multiplier)
    if required > defaults.SQS_MAX_VISIBILITY_SECONDS:
        longest = (defaults.SQS_MAX_VISIBILITY_SECONDS - batch_window_seconds) // multiplier
        return [
            Finding(
                (*function_key, "timeout_seconds"),
                f"needs a visibility timeout of {multiplier} x {timeout_seconds} + "
                f"{batch_window_seconds} = {required} seconds, above the SQS maximum of "
                f"{defaults.SQS_MAX_VISIBILITY_SECONDS}; expected a timeout of at most "
                f"{longest}, found {timeout_seconds}.",
            )
        ]
    if visibility_timeout_seconds is not None and visibility_timeout_seconds < required:
        return [
            Finding(
                ("visibility_timeout_seconds",),
                f"expected at least {required} ({multiplier} x the Lambda timeout "
                f"{timeout_seconds} + batching window {batch_window_seconds}, or messages are "
                f"redelivered while still being processed), found {visibility_timeout_seconds}.",
            )
        ]
    return []


# --- Lambda ----------------------------------------------------------------------------------


def lambda_limit_problems(
    *,
    timeout_seconds: int,
    memory_mb: int,
    batch_size: int,
    batch_window_seconds: int,
    max_concurrency: int | None,
    log_retention_days: int,
) -> list[Finding]:
    """The Lambda and event-source limits (keys relative to the function's settings)."""
    findings = [
        *range_problems(
            timeout_seconds,
            1,
            defaults.LAMBDA_MAX_TIMEOUT_SECONDS,
            "the Lambda maximum is 900",
            ("timeout_seconds",),
        ),
        *range_problems(memory_mb, 128, 10_240, "the Lambda memory limits", ("memory_mb",)),
        *range_problems(
            batch_size,
            1,
            defaults.LAMBDA_MAX_BATCH_SIZE,
            "the SQS event source limits",
            ("batch_size",),
        ),
        *range_problems(
            batch_window_seconds,
            0,
            defaults.LAMBDA_MAX_BATCH_WINDOW_SECONDS,
            "the SQS event source limits",
            ("batch_window_seconds",),
        ),
    ]
    if max_concurrency is not None:
        findings += range_problems(
            max_concurrency,
            2,
            1000,
            "the SQS event source's maximum concurrency limits",
            ("max_concurrency",),
        )
    if log_retention_days not in defaults.LOG_RETENTION_CHOICES:
        findings.append(
            Finding(
                ("log_retention_days",),
                "expected one of the retention periods CloudWatch Logs accepts "
                f"({', '.join(map(str, defaults.LOG_RETENTION_CHOICES))}), "
                f"found {log_retention_days!r}.",
            )
        )
    return findings


def batching_problems(*, batch_size: int, batch_window_seconds: int, fifo: bool) -> list[Finding]:
    """FIFO event sources take at most 10 messages a batch and no batching window; above 10
    messages a batching window is required (keys relative to the function's settings)."""
    findings = fifo_batch_window_problems(batch_window_seconds=batch_window_seconds, fifo=fifo)
    if fifo and batch_size > defaults.LAMBDA_FIFO_MAX_BATCH_SIZE:
        findings.append(
            Finding(
                ("batch_size",),
                f"expected at most {defaults.LAMBDA_FIFO_MAX_BATCH_SIZE} for a FIFO queue, "
                f"found {batch_size}.",
            )
        )
    if batch_size > defaults.LAMBDA_BATCH_SIZE_WITHOUT_WINDOW and batch_window_seconds < 1:
        findings.append(
            Finding(
                ("batch_window_seconds",),
                f"expected at least 1 when batch_size is above "
                f"{defaults.LAMBDA_BATCH_SIZE_WITHOUT_WINDOW} (found batch_size {batch_size}), "
                f"found {batch_window_seconds}.",
            )
        )
    return findings


# --- SNS subscriptions -----------------------------------------------------------------------


def filter_policy_problems(policy: Mapping[str, Any]) -> list[Finding]:
    """At most 5 keys and 150 value combinations per SNS filter policy."""
    findings = []
    if len(policy) > defaults.FILTER_MAX_KEYS:
        findings.append(
            Finding(
                (),
                f"expected at most {defaults.FILTER_MAX_KEYS} keys (the SNS filter policy "
                f"limit), found {len(policy)}: {', '.join(policy)}.",
            )
        )
    combinations = math.prod(
        len(values) if isinstance(values, list | tuple) else 1 for values in policy.values()
    )
    if combinations > defaults.FILTER_MAX_COMBINATIONS:
        findings.append(
            Finding(
                (),
                f"expected at most {defaults.FILTER_MAX_COMBINATIONS} value combinations (the "
                f"SNS filter policy limit), found {combinations}.",
            )
        )
    return findings


def _filter_rule_problems(rule: Any, key: KeyPath) -> list[Finding]:
    """One value of a filter policy: a string, number, true/false/null, or one operator."""
    if rule is None or isinstance(rule, bool | str):
        return []
    if isinstance(rule, int | float):
        if not -defaults.FILTER_NUMBER_LIMIT < rule < defaults.FILTER_NUMBER_LIMIT:
            return [
                Finding(
                    key,
                    f"expected a number between -1,000,000,000 and 1,000,000,000 (the SNS "
                    f"numeric matching range), found {rule!r}.",
                )
            ]
        return []
    operators = ", ".join(defaults.FILTER_OPERATORS)
    if not isinstance(rule, Mapping) or len(rule) != 1:
        return [
            Finding(
                key,
                f"expected a string, a number, true, false, null or one operator ({operators}), "
                f"found {rule!r}.",
            )
        ]
    ((operator, operand),) = rule.items()
    if operator not in defaults.FILTER_OPERATORS:
        return [
            Finding(
                key, f"expected one of the SNS filter operators ({operators}), found {operator!r}."
            )
        ]
    at = (*key, operator)
    if operator == "exists" and not isinstance(operand, bool):
        return [Finding(at, f"expected true or false, found {operand!r}.")]
    if operator in ("prefix", "suffix", "equals-ignore-case") and not isinstance(operand, str):
        return [Finding(at, f"expected a string, found {operand!r}.")]
    if operator == "anything-but" and not _anything_but_ok(operand):
        return [
            Finding(
                at,
                "expected a string, a number, a list of them or {prefix: <string>}, "
                f"found {operand!r}.",
            )
        ]
    if operator == "numeric":
        return _numeric_problems(operand, at)
    return []


def _anything_but_ok(operand: Any) -> bool:
    if isinstance(operand, Mapping):
        return set(operand) == {"prefix"} and isinstance(operand["prefix"], str)
    values = operand if isinstance(operand, list) else [operand]
    return bool(values) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in values
    )


def _numeric_problems(operand: Any, key: KeyPath) -> list[Finding]:
    """`[">", 0, "<=", 5]`: one comparison, or a lower bound then an upper bound."""
    shape = "a comparison like ['>=', 10] or a range like ['>', 0, '<=', 5]"
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        return [Finding(key, f"expected {shape}, found {operand!r}.")]
    pairs = [operand[index : index + 2] for index in range(0, len(operand), 2)]
    for operator, number in pairs:
        if operator not in ("<", "<=", "=", ">", ">="):
            return [Finding(key, f"expected {shape}; {operator!r} is not a comparison.")]
        if isinstance(number, bool) or not isinstance(number, int | float):
            return [Finding(key, f"expected {shape}; {number!r} is not a number.")]
        if not -defaults.FILTER_NUMBER_LIMIT < number < defaults.FILTER_NUMBER_LIMIT:
            return [Finding(key, f"expected numbers within +-1,000,000,000, found {number!r}.")]
    if len(pairs) == 2:
        (low_op, low), (high_op, high) = pairs
        if low_op not in (">", ">=") or high_op not in ("<", "<="):
            return [Finding(key, f"expected {shape}: a lower bound ('>' or '>=') first.")]
        if high <= low:
            return [Finding(key, f"expected the lower bound below the upper, found {operand!r}.")]
    return []


def filter_rule_problems(policy: Mapping[str, Any]) -> list[Finding]:
    """Key and value rules of an attribute-scope SNS filter policy (the default scope): no
    nesting, only the values and operators SNS accepts, at most 256 KB of JSON."""
    findings = []
    for name, values in policy.items():
        if not isinstance(name, str) or not name:
            findings.append(Finding((), f"expected attribute names, found the key {name!r}."))
            continue
        if isinstance(values, Mapping):
            findings.append(
                Finding(
                    (name,),
                    "expected a list of values; SNS refuses nested filter policies on message "
                    f"attributes, found {values!r}.",
                )
            )
            continue
        items = values if isinstance(values, list | tuple) else [values]
        if not items:
            findings.append(Finding((name,), "expected at least one value, found none."))
        for index, rule in enumerate(items):
            findings += _filter_rule_problems(rule, (name, index))
    size = len(json.dumps(policy, default=str).encode())
    if size > defaults.FILTER_MAX_BYTES:
        findings.append(
            Finding(
                (),
                f"expected at most {defaults.FILTER_MAX_BYTES} bytes of JSON (the SNS "
                f"filter policy limit), found {size}.",
            )
        )
    return findings


# --- Lambda code, runtime and environment ------------------------------------------------------


def runtime_problems(runtime: str) -> list[Finding]:
    if runtime in defaults.LAMBDA_RUNTIMES:
        return []
    return [
        Finding(
            ("runtime",),
            f"expected a Python or Node.js runtime Lambda supports "
            f"({', '.join(defaults.LAMBDA_RUNTIMES)}), found {runtime!r}.",
        )
    ]


def handler_problems(code_dir: Path, handler: str, runtime: str) -> list[Finding]:
    """The handler's file exists in the code folder for the runtime's language, and nothing in
    the folder links out of it (the folder is uploaded as it is)."""
    findings = []
    module, _, _function = handler.rpartition(".")
    if runtime in defaults.LAMBDA_NODE_RUNTIMES:
        candidates = [f"{module}{suffix}" for suffix in (".js", ".mjs", ".cjs")]
        expected = f"a file {module}.js, .mjs or .cjs"
    else:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", module):
            return [
                Finding(
                    ("handler",),
                    f"expected a Python handler `<module>.<function>` of identifiers, like "
                    f"`app.handler`, found {handler!r}.",
                )
            ]
        candidates = [module.replace(".", "/") + ".py"]
        expected = f"a module {candidates[0]}"
    root = code_dir.resolve()
    if not any((root / name).is_file() for name in candidates):
        findings.append(
            Finding(
                ("handler",),
                f"expected {expected} in the code folder for handler {handler!r}; it does not "
                "exist.",
            )
        )
    for link in _links_out_of(root):
        findings.append(
            Finding(
                ("code",),
                f"has a symbolic link {str(link.relative_to(root))!r} that points outside the "
                "folder; expected only files inside it (the folder is uploaded as it is).",
            )
        )
    return findings


def _links_out_of(root: Path, limit: int = 10_000) -> list[Path]:
    found = []
    for count, path in enumerate(root.rglob("*")):
        if count > limit:
            break
        if path.is_symlink():
            try:
                target = path.resolve()
            except (OSError, RuntimeError):
                found.append(path)
                continue
            if not target.is_relative_to(root):
                found.append(path)
    return found


def environment_problems(
    environment: Mapping[str, Any],
    added: Mapping[str, str] | None = None,
    owned: frozenset[str] = defaults.EVENTINFRA_LAMBDA_ENV,
) -> list[Finding]:
    """Lambda's key pattern, its reserved keys, eventinfra's own keys and the 4 KB limit
    (counted with what eventinfra adds, `added`)."""
    findings = []
    for name in environment:
        key: KeyPath = ("environment", name)
        if not re.fullmatch(defaults.LAMBDA_ENV_KEY_PATTERN, name):
            findings.append(
                Finding(
                    key,
                    "expected a variable name of a letter then letters, digits and '_' (at "
                    f"least 2 characters, the Lambda rule), found {name!r}.",
                )
            )
        elif name in defaults.LAMBDA_RESERVED_ENV:
            findings.append(
                Finding(
                    key,
                    "is a variable Lambda reserves for itself; expected another name, "
                    f"found {name!r}.",
                )
            )
        elif name in owned:
            findings.append(
                Finding(
                    key,
                    "is a variable eventinfra sets for eventinfra-runtime; expected another "
                    f"name, found {name!r}.",
                )
            )
    variables = {**environment, **(added or {})}
    # Values still unknown (Outputs) are counted when they are known, by Lambda itself.
    size = sum(
        len(k.encode()) + len(v.encode()) for k, v in variables.items() if isinstance(v, str)
    )
    if size > defaults.LAMBDA_ENV_MAX_BYTES:
        findings.append(
            Finding(
                ("environment",),
                f"expected at most {defaults.LAMBDA_ENV_MAX_BYTES} bytes of names and values "
                f"(the Lambda limit, counting the {len(added or {})} variables eventinfra adds), "
                f"found {size}.",
            )
        )
    return findings


def fifo_batch_window_problems(*, batch_window_seconds: int, fifo: bool) -> list[Finding]:
    if fifo and batch_window_seconds:
        return [
            Finding(
                ("batch_window_seconds",),
                "expected 0 for a FIFO queue, as Lambda supports no batching window on FIFO "
                f"sources, found {batch_window_seconds}.",
            )
        ]
    return []


def role_name_problems(logical_name: str, key: KeyPath = ()) -> list[Finding]:
    """An auto-named role is `<logical name>-<7 hex>`: it must fit IAM's 64 characters."""
    length = len(logical_name) + defaults.PULUMI_AUTONAME_SUFFIX_LENGTH
    if length <= defaults.IAM_ROLE_MAX_NAME_LENGTH:
        return []
    longest = defaults.IAM_ROLE_MAX_NAME_LENGTH - defaults.PULUMI_AUTONAME_SUFFIX_LENGTH
    return [
        Finding(
            key,
            f"gives the IAM role name {logical_name!r} plus Pulumi's 8-character suffix "
            f"({length} characters); expected at most {defaults.IAM_ROLE_MAX_NAME_LENGTH}, so a "
            f"logical name of at most {longest}.",
        )
    ]


# --- CloudWatch and tags ---------------------------------------------------------------------


def queue_age_alarm_problems(
    seconds: object, key: KeyPath = ("queue_age_alarm_seconds",)
) -> list[Finding]:
    """The age alarm's threshold: a whole number of seconds the oldest message may wait."""
    return range_problems(
        seconds,
        defaults.QUEUE_AGE_ALARM_MIN_SECONDS,
        defaults.QUEUE_AGE_ALARM_MAX_SECONDS,
        "seconds, within SQS retention: an older message has already expired",
        key,
    )


def errors_threshold_problems(
    threshold: object, key: KeyPath = ("errors_threshold",)
) -> list[Finding]:
    """The Lambda errors alarm's threshold: a count of failed invocations per period."""
    return range_problems(
        threshold,
        1,
        defaults.LAMBDA_ERRORS_ALARM_MAX,
        "failed invocations per alarm period, a count",
        key,
    )


def idempotency_ttl_problems(ttl: object, key: KeyPath = ("ttl_seconds",)) -> list[Finding]:
    """How long a processed message's record lives: DynamoDB TTL expires items at a whole
    number of epoch seconds."""
    return range_problems(
        ttl,
        1,
        defaults.IDEMPOTENCY_MAX_TTL_SECONDS,
        "whole seconds, at most one year; DynamoDB TTL reads epoch seconds",
        key,
    )


def alarm_period_problems(
    period_seconds: object, key: KeyPath = ("period_seconds",)
) -> list[Finding]:
    valid = (
        isinstance(period_seconds, int)
        and not isinstance(period_seconds, bool)
        and (
            period_seconds in defaults.ALARM_SHORT_PERIODS
            or (
                period_seconds % 60 == 0
                and 60 <= period_seconds <= defaults.ALARM_MAX_PERIOD_SECONDS
            )
        )
    )
    if valid:
        return []
    return [
        Finding(
            key,
            "expected 10, 20, 30 or a multiple of 60 up to 86400 (the periods CloudWatch alarms "
            f"accept), found {period_seconds!r}.",
        )
    ]


_TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")


def tag_problems(
    tags: Mapping[str, str], key: KeyPath = ("tags",), added: int = defaults.EVENTINFRA_TAG_COUNT
) -> list[Finding]:
    """AWS tag rules, with the tags eventinfra adds counted against the 50."""
    findings = []
    for name, value in tags.items():
        at = (*key, name)
        if not name or len(name) > defaults.TAG_KEY_MAX_LENGTH:
            findings.append(
                Finding(at, f"expected a tag key of 1 to 128 characters, found {len(name)}.")
            )
        if name.lower().startswith("aws:") or str(value).lower().startswith("aws:"):
            findings.append(
                Finding(at, "starts with 'aws:', which AWS reserves; expected another prefix.")
            )
        if name.startswith("eventinfra:"):
            findings.append(
                Finding(
                    at,
                    "starts with 'eventinfra:', which eventinfra sets itself; expected "
                    "another prefix.",
                )
            )
        if len(str(value)) > defaults.TAG_VALUE_MAX_LENGTH:
            findings.append(
                Finding(at, f"expected a value of at most 256 characters, found {len(str(value))}.")
            )
        if not _TAG_TEXT.fullmatch(name) or not _TAG_TEXT.fullmatch(str(value)):
            findings.append(
                Finding(
                    at,
                    "expected letters, digits, spaces and _ . : / = + - @ in tag keys and "
                    f"values (the AWS tag rules), found {name!r}: {value!r}.",
                )
            )
    count = len({*tags, "environment"}) + added - 1
    if count > defaults.TAG_MAX_COUNT:
        findings.append(
            Finding(
                key,
                f"gives {count} tags with the {added} eventinfra adds; expected at most "
                f"{defaults.TAG_MAX_COUNT} (the AWS limit).",
            )
        )
    return findings
