"""A ``grpc.aio`` server with the standard health service, request ids, metrics and spans.

    server = GrpcServer(port_spec, ["june.asr.v1.Recognizer"], register=add_servicers)
    await server.start()      # bound and serving; health SERVING
    ...
    await server.stop(grace_s=5)  # health NOT_SERVING, then in-flight calls get grace_s to finish

Every call runs with ``request_id`` bound for its log lines (from the
``x-request-id`` metadata, or a new one), is counted in
``june_grpc_server_handled_total`` and timed in
``june_grpc_server_handling_seconds``, and gets an OpenTelemetry server span
(a no-op unless tracing is on).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from opentelemetry import propagate, trace
from prometheus_client import Counter, Histogram

from june.observability.logging import request_context
from june.services.errors import PortInUseError, PortSpec, check_port_free
from june.settings import Settings

GrpcServiceName = Literal["inference", "stt", "tts"]

log = structlog.get_logger(__name__)

#: Large enough for a whole audio file or document in one message.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
REQUEST_ID_KEY = "x-request-id"

HANDLED = Counter(
    "june_grpc_server_handled_total",
    "gRPC calls completed, by method and status code",
    ["grpc_service", "grpc_method", "grpc_code"],
)
HANDLING_SECONDS = Histogram(
    "june_grpc_server_handling_seconds",
    "Time from the start of a gRPC call to its end (whole stream for streaming calls)",
    ["grpc_service", "grpc_method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
_tracer = trace.get_tracer(__name__)


def _status_code(context: grpc.aio.ServicerContext, exc: BaseException | None) -> str:
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return grpc.StatusCode.CANCELLED.name
    code = context.code()
    if code is not None and code != 0:
        return code.name if isinstance(code, grpc.StatusCode) else grpc.StatusCode(code).name
    if exc is not None and not isinstance(exc, grpc.aio.AbortError):
        return grpc.StatusCode.UNKNOWN.name
    return grpc.StatusCode.OK.name


class _ObservedCall:
    """Request id, span, count and timing around one call."""

    def __init__(self, method: str, metadata: dict[str, Any]) -> None:
        _, service, name = method.split("/", 2) if method.count("/") == 2 else ("", "", method)
        self.service, self.name, self.method = service, name, method
        request_id = metadata.get(REQUEST_ID_KEY)
        self.request_id = request_id[:128] if isinstance(request_id, str) and request_id else None
        self.trace_context = propagate.extract(metadata)

    def wrap(self, behavior: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isasyncgenfunction(behavior):

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                with self._observe(context):
                    async for response in behavior(request, context):
                        yield response

            return stream

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            with self._observe(context):
                return await behavior(request, context)

        return unary

    @contextmanager
    def _observe(self, context: grpc.aio.ServicerContext) -> Iterator[None]:
        start = time.perf_counter()
        attributes = {"rpc.system": "grpc", "rpc.service": self.service, "rpc.method": self.name}
        with (
            request_context(self.request_id),
            _tracer.start_as_current_span(
                self.method.lstrip("/"),
                context=self.trace_context,
                kind=trace.SpanKind.SERVER,
                attributes=attributes,
            ) as span,
        ):
            error: BaseException | None = None
            try:
                yield
            except BaseException as exc:
                error = exc
                raise
            finally:
                code = _status_code(context, error)
                elapsed = time.perf_counter() - start
                span.set_attribute("rpc.grpc.status_code", code)
                HANDLED.labels(self.service, self.name, code).inc()
                HANDLING_SECONDS.labels(self.service, self.name).observe(elapsed)
                event = "grpc.call" if code == "OK" else "grpc.call_failed"
                (log.debug if code in ("OK", "CANCELLED") else log.info)(
                    event, method=self.method, code=code, duration_s=round(elapsed, 4)
                )


class ObservabilityInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        metadata = {k: v for k, v in (handler_call_details.invocation_metadata or ())}
        call = _ObservedCall(handler_call_details.method, metadata)
        codec = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(call.wrap(handler.unary_unary), **codec)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(call.wrap(handler.unary_stream), **codec)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(call.wrap(handler.stream_unary), **codec)
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(call.wrap(handler.stream_stream), **codec)
        return handler


def unimplemented_servicer(base: type, hint: str) -> Any:
    """An instance of generated servicer ``base`` whose every method answers UNIMPLEMENTED.

    Registered by a skeleton service so that clients get a clear status
    (``hint`` says why) instead of "unknown service".
    """

    def method(name: str) -> Callable[..., Any]:
        async def unimplemented(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(
                grpc.StatusCode.UNIMPLEMENTED, f"{name} is not implemented yet: {hint}"
            )

        return unimplemented

    methods = {
        name: method(name)
        for name, value in vars(base).items()
        if callable(value) and not name.startswith("_")
    }
    return type(f"Unimplemented{base.__name__}", (base,), methods)()


class GrpcServer:
    """One ``grpc.aio`` server: the service's own servicers plus ``grpc.health.v1.Health``."""

    def __init__(
        self,
        port: PortSpec,
        service_names: list[str],
        register: Callable[[grpc.aio.Server], None],
    ) -> None:
        self.port = port
        #: Full names of the services whose health is reported (plus "" for the whole server).
        self.service_names = service_names
        self.health = health_aio.HealthServicer()
        self._register = register
        self._server: grpc.aio.Server | None = None

    @property
    def address(self) -> str:
        host = f"[{self.port.host}]" if ":" in self.port.host else self.port.host
        return f"{host}:{self.port.port}"

    async def start(self) -> None:
        """Bind, start serving and report SERVING. Raises :class:`PortInUseError`."""
        check_port_free(self.port)  # a clear error before gRPC's own log line
        server = grpc.aio.server(
            interceptors=[ObservabilityInterceptor()],
            options=[
                # Never share the port with another process (a second June must fail, loudly).
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        self._register(server)
        try:
            server.add_insecure_port(self.address)
        except RuntimeError as exc:
            raise PortInUseError(self.port) from exc
        await server.start()
        self._server = server
        for name in ["", *self.service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("grpc.serving", address=self.address, services=self.service_names)

    async def stop(self, grace_s: float) -> None:
        """Report NOT_SERVING, refuse new calls, give in-flight ones ``grace_s`` to finish."""
        if self._server is None:
            return
        await self.health.enter_graceful_shutdown()
        await self._server.stop(grace_s)
        self._server = None
        log.info("grpc.stopped", address=self.address)


class GrpcService:
    """A gRPC service process (inference, stt, tts) for :func:`june.services.runner.run_service`.

    ``register`` adds the service's servicers to the server; ``service_names``
    are their full names, reported SERVING by the health service once started.
    """

    def __init__(
        self,
        settings: Settings,
        name: GrpcServiceName,
        *,
        service_names: list[str],
        register: Callable[[grpc.aio.Server], None],
        models: list[tuple[str, str]],
    ) -> None:
        section = getattr(settings, name)
        env = f"JUNE_{name.upper()}"
        self.name: GrpcServiceName = name
        self.metrics_port = PortSpec(
            settings.host, section.metrics_port, f"{name} metrics", f"{env}_METRICS_PORT"
        )
        self.server = GrpcServer(
            PortSpec(settings.host, section.port, f"{name} gRPC", f"{env}_PORT"),
            service_names,
            register,
        )
        self._models = models

    def required_models(self) -> list[tuple[str, str]]:
        return list(self._models)

    async def start(self) -> None:
        await self.server.start()

    async def stop(self, grace_s: float) -> None:
        await self.server.stop(grace_s)

    def health(self) -> dict[str, Any]:
        return {"grpc": self.server.address, "grpc_services": self.server.service_names}
