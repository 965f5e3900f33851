"""Prometheus alerting rules and their PromQL series, as both brokers' PrometheusRules hold them."""

import json
from typing import Any


def alert_rule(
    alert: str, expr: str, duration: str, severity: str, summary: str, *, labels: dict[str, str]
) -> dict[str, Any]:
    """One rule of a PrometheusRule group; `labels` say what it is about, beside `severity`."""
    return {
        "alert": alert,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary},
    }


def promql_series(metric: str, **labels: str) -> str:
    """`metric{vhost="k8s",queue="mailer"}`, each label value a quoted PromQL string literal.

    PromQL string literals use Go's escapes, of which JSON's are a subset: no value can end
    the literal and add matchers or operators to the expression.
    """
    matchers = ",".join(
        f"{label}={json.dumps(value, ensure_ascii=False)}" for label, value in labels.items()
    )
    return f"{metric}{{{matchers}}}"
