"""Prometheus ``/metrics`` and JSON ``/health`` over HTTP, for processes without a web app.

Each gRPC service (and the Telegram worker) runs :func:`start_metrics_server`
on its metrics port: a small threaded ``http.server`` next to the asyncio
loop, so a busy loop never hides the process from Prometheus.

``/health`` answers ``{"status": "ok" | "starting" | "unavailable", "service": ..., ...}``
with HTTP 200 when the status is ``ok`` and 503 otherwise.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Gauge, Info, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

import june

HealthFn = Callable[[], dict[str, Any]]

#: ``june_build_info{service, version}``: which June runs where.
BUILD_INFO = Info("june_build", "June version and service of this process", ["service"])
#: ``june_service_ready{service}``: 1 once the service answers requests, else 0.
SERVICE_READY = Gauge("june_service_ready", "1 when the service is ready to serve", ["service"])


def register_service(service: str) -> None:
    """Fill the shared per-process metrics for ``service`` (version, not ready yet)."""
    disable_created_metrics()  # no ``*_created`` series next to every counter
    BUILD_INFO.labels(service=service).info({"version": june.__version__})
    SERVICE_READY.labels(service=service).set(0)


def health_response(health: HealthFn) -> tuple[int, dict[str, Any]]:
    """Call ``health`` and map it to an HTTP status: 200 for ``ok``, else 503."""
    try:
        body = dict(health())
    except Exception as exc:  # a broken health check is itself "unavailable"
        body = {"status": "unavailable", "error": f"health check failed: {exc}"}
    body.setdefault("status", "unavailable")
    return (200 if body["status"] == "ok" else 503), body


class MetricsServer:
    """A running ``/metrics`` + ``/health`` server; :meth:`stop` shuts it down."""

    def __init__(self, httpd: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self._httpd = httpd
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler(health: HealthFn, registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"june/{june.__version__}"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            elif path == "/health":
                status, body = health_response(health)
                self._send(status, "application/json", json.dumps(body).encode())
            else:
                body = {"error": {"code": "not_found", "message": f"no such path: {path}"}}
                self._send(404, "application/json", json.dumps(body).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
            pass

    return Handler


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def start_metrics_server(
    host: str, port: int, health: HealthFn, registry: CollectorRegistry = REGISTRY
) -> MetricsServer:
    """Serve ``/metrics`` and ``/health`` on ``host:port`` in a daemon thread.

    Raises ``OSError`` (``errno.EADDRINUSE``) when the port is taken.
    """
    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    httpd = server_class((host, port), _handler(health, registry), bind_and_activate=False)
    httpd.daemon_threads = True
    try:
        httpd.server_bind()
        httpd.server_activate()
    except OSError:
        httpd.server_close()
        raise
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="metrics-http", daemon=True
    )
    thread.start()
    return MetricsServer(httpd, thread)
