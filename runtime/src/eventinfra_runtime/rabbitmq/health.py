"""The health server's former home, kept so that `eventinfra_runtime.rabbitmq.health` imports."""

from __future__ import annotations

from eventinfra_runtime.health import LIVENESS_PATH, METRICS_PATH, READINESS_PATH, HealthServer

__all__ = ["LIVENESS_PATH", "METRICS_PATH", "READINESS_PATH", "HealthServer"]
