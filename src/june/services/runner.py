"""Run one service process from start to a clean exit.

:func:`run_service` does, in order: configure logging and tracing, forbid
network model downloads, check the service's models (a missing one stops the
start with a message naming it and the command that installs it), open the
``/metrics`` + ``/health`` HTTP server (health ``starting``), start the service
(health ``ok``), wait for SIGTERM or SIGINT, then stop gracefully (health
``unavailable``) and return. A second signal while stopping exits at once.

A service is anything shaped like :class:`Service`; gRPC services use
:class:`june.services.grpc_server.GrpcService`.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import time
from typing import Any, Protocol

import psutil
import structlog

import june
from june import tasks
from june.observability.logging import configure_logging, parse_level
from june.observability.metrics import (
    SERVICE_READY,
    MetricsServer,
    register_service,
    start_metrics_server,
)
from june.observability.tracing import configure_tracing, shutdown_tracing
from june.services.errors import PortInUseError, PortSpec, StartupError
from june.settings import ServiceName, Settings

log = structlog.get_logger(__name__)

#: Exit code when a second signal cuts a graceful stop short.
EXIT_FORCED = 130


class Service(Protocol):
    """What :func:`run_service` needs from a service."""

    name: ServiceName
    #: Where the runner serves ``/metrics`` and ``/health``; None when the
    #: service serves them itself (the gateway's FastAPI app).
    metrics_port: PortSpec | None

    def required_models(self) -> list[tuple[str, str]]:
        """``(model id, role)`` pairs that must be installed before the service starts."""
        ...

    async def start(self) -> None:
        """Bind and begin serving; raise :class:`StartupError` for a problem a person must fix."""
        ...

    async def stop(self, grace_s: float) -> None:
        """Stop accepting work; let work in progress finish for up to ``grace_s``."""
        ...

    def health(self) -> dict[str, Any]:
        """Extra fields for ``/health`` (a ``status`` here overrides ``ok``).

        Called from the metrics server's thread: read attributes, do no I/O.
        """
        ...


def check_models(settings: Settings, models: list[tuple[str, str]]) -> None:
    """Raise ``ModelNotInstalledError`` / ``UnknownModelError`` unless every model is installed."""
    if not models:
        return
    from june.models.resolve import require_models

    require_models(settings, models)


def run_service(service: Service, settings: Settings) -> None:
    """Run ``service`` in the foreground until SIGTERM/SIGINT, then stop it gracefully.

    Raises :class:`StartupError` (port taken, bad setting) and the model
    registry's ``ModelNotInstalledError`` / ``UnknownModelError``: the caller
    prints them and exits with code 2.
    """
    try:
        parse_level(settings.log_level)
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    configure_logging(settings, service.name)
    from june.models.resolve import enforce_offline

    enforce_offline()
    configure_tracing(settings, service.name)
    register_service(service.name)
    # Until the event loop takes over the signals, SIGTERM stops the start-up cleanly too.
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        check_models(settings, service.required_models())
        asyncio.run(_serve(service, settings))
    except (_StopRequested, KeyboardInterrupt):
        log.info("service.stopped", during="start-up")
    except Exception as exc:
        log.error("service.failed", error=str(exc), error_type=type(exc).__name__)
        raise
    finally:
        shutdown_tracing()


class _StopRequested(BaseException):
    """SIGTERM before the event loop runs."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _StopRequested


class _State:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.status = "starting"
        self.started = time.monotonic()

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status,
            "service": self.service.name,
            "version": june.__version__,
            "pid": os.getpid(),
            "uptime_s": round(time.monotonic() - self.started, 3),
        }
        if self.status == "ok":
            body.update(self.service.health())
        return body


def _start_metrics(spec: PortSpec, state: _State) -> MetricsServer:
    try:
        return start_metrics_server(spec.host, spec.port, state.health)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(spec) from exc
        message = f"cannot listen on {spec.host}:{spec.port} ({spec.what}): {exc}"
        raise StartupError(message) from exc


async def _serve(service: Service, settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    state = _State(service)

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            log.warning("service.forced_exit", signal=sig.name)
            os._exit(EXIT_FORCED)
        log.info("service.stopping", signal=sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)

    metrics = _start_metrics(service.metrics_port, state) if service.metrics_port else None
    grace_s = max(1.0, min(5.0, settings.supervisor.stop_timeout_s / 2))
    start = asyncio.ensure_future(service.start())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({start, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not start.done():  # a signal before the service was up
            await tasks.stop(start)
        else:
            start.result()  # raises what the start raised
            state.status = "ok"
            SERVICE_READY.labels(service=service.name).set(1)
            since_exec = time.time() - psutil.Process().create_time()
            log.info("service.ready", pid=os.getpid(), startup_s=round(since_exec, 3))
            await stopped
        state.status = "unavailable"
        SERVICE_READY.labels(service=service.name).set(0)
        await service.stop(grace_s)
        log.info("service.stopped")
    finally:
        stopped.cancel()
        if metrics is not None:
            metrics.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
