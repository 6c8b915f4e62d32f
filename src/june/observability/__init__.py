"""Logs, metrics and traces shared by every June process.

- :func:`configure_logging`: JSON lines on stdout with ``service`` and ``request_id``.
- :func:`start_metrics_server`: ``/metrics`` (Prometheus) and ``/health`` (JSON) over HTTP.
- :func:`configure_tracing`: OpenTelemetry over OTLP, only when ``JUNE_OTLP_ENDPOINT`` is set.
"""

from june.observability.logging import (
    bind_request_id,
    configure_logging,
    current_request_id,
    request_context,
)
from june.observability.metrics import (
    MetricsServer,
    health_response,
    register_service,
    start_metrics_server,
)
from june.observability.tracing import configure_tracing, get_tracer, shutdown_tracing

__all__ = [
    "MetricsServer",
    "bind_request_id",
    "configure_logging",
    "configure_tracing",
    "current_request_id",
    "get_tracer",
    "health_response",
    "register_service",
    "request_context",
    "shutdown_tracing",
    "start_metrics_server",
]
