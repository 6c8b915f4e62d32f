"""OpenTelemetry tracing: exported over OTLP/gRPC when ``JUNE_OTLP_ENDPOINT`` is set, off otherwise.

With the endpoint unset nothing is installed: the OpenTelemetry API's default
no-op tracer stays in place, spans cost next to nothing and no connection is
ever made. With it set (e.g. ``http://localhost:4317`` for Jaeger or an
OpenTelemetry collector), spans are batched and exported in the background;
``http://`` means plaintext, ``https://`` TLS.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from opentelemetry import trace

import june

if TYPE_CHECKING:
    from june.settings import Settings

#: Seconds one batch may take to export, retries included.
EXPORT_TIMEOUT_S = 5
_provider = None


def configure_tracing(settings: Settings, service: str) -> bool:
    """Install an OTLP-exporting tracer provider if ``settings.otlp_endpoint`` is set.

    Returns whether tracing is on. Call once per process, before the first span.
    """
    global _provider
    endpoint = settings.otlp_endpoint
    if not endpoint:
        return False
    # Imported only when wanted: the SDK and the exporter are never loaded otherwise.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": f"june-{service}",
            "service.namespace": "june",
            "service.version": june.__version__,
        }
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(
        endpoint=endpoint, insecure=endpoint.startswith("http://"), timeout=EXPORT_TIMEOUT_S
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    return True


def shutdown_tracing(timeout_s: float = 2.0) -> None:
    """Flush and stop the exporter, if one was installed (call on shutdown).

    Waits at most ``timeout_s``: a collector that is down must not hold up the
    exit of a service (the exporter would retry for its whole timeout).
    """
    global _provider
    if _provider is not None:
        worker = threading.Thread(target=_provider.shutdown, name="otel-shutdown", daemon=True)
        worker.start()
        worker.join(timeout_s)
        _provider = None


def get_tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name, june.__version__)
