"""Prometheus alerting rules, as both brokers' PrometheusRules hold them."""

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
