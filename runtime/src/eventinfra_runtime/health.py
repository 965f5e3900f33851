"""Liveness, readiness and Prometheus metrics over HTTP, for the Deployment's probes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

__all__ = ["LIVENESS_PATH", "READINESS_PATH", "HealthServer"]

LIVENESS_PATH: Final = "/healthz"
READINESS_PATH: Final = "/readyz"
METRICS_PATH: Final = "/metrics"


class HealthServer:
    """Serves 200/503 from two callables; runs in a daemon thread."""

    def __init__(self, port: int, live: Callable[[], bool], ready: Callable[[], bool]) -> None:
        checks = {LIVENESS_PATH: live, READINESS_PATH: ready}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == METRICS_PATH:
                    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

                    self._reply(200, generate_latest(), CONTENT_TYPE_LATEST)
                    return
                check = checks.get(self.path)
                if check is None:
                    self._reply(404, b"not found\n")
                elif check():
                    self._reply(200, b"ok\n")
                else:
                    self._reply(503, b"not ready\n")

            def _reply(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Probes every few seconds would drown the message log."""

        self.server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
