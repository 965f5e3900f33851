"""Every AWS rule, as functions over plain values: the components and the loader both call them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from eventinfra.aws import defaults
from eventinfra.aws.naming import FIFO_SUFFIX
from eventinfra.contract import Finding
from eventinfra.keypaths import KeyPath

# SQS queue, SNS topic and Lambda function names: letters, digits, '-' and '_' (plus the
# '.fifo' suffix of FIFO queues and topics).
_NAME = re.compile(r"[A-Za-z0-9_-]+")


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


# --- ranges (the loader's models check these through their field types) ----------------------


def range_problems(value: int, low: int, high: int, why: str, key: KeyPath) -> list[Finding]:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return [Finding(key, f"expected an integer from {low} to {high} ({why}), found {value!r}.")]
    return []


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
    """FIFO event sources take at most 10 messages a batch; above 10 a batching window is
    required (keys relative to the function's settings)."""
    findings = []
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
