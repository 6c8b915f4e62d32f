"""The gateway process: the FastAPI app under uvicorn on ``JUNE_HOST:JUNE_GATEWAY_PORT``.

The gateway serves ``/metrics`` and ``/health`` on its own port, so the
runner starts no separate metrics server for it. Signals are the runner's:
uvicorn's own signal handling is switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

from june.services.errors import PortSpec, StartupError, bind_socket
from june.settings import ServiceName, Settings


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the runner handles SIGTERM/SIGINT
        yield


class GatewayService:
    name: ServiceName = "gateway"
    metrics_port: PortSpec | None = None

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = PortSpec(
            settings.host, settings.gateway.port, "gateway HTTP", "JUNE_GATEWAY_PORT"
        )
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    def required_models(self) -> list[tuple[str, str]]:
        return []

    async def start(self) -> None:
        from june.gateway.app import create_app

        self._socket = bind_socket(self.port)
        config = uvicorn.Config(
            create_app(self.settings),
            log_config=None,  # logs go through June's JSON logging
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise StartupError("the gateway's web server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self, grace_s: float) -> None:
        if self._server is None or self._task is None:
            return
        self._server.config.timeout_graceful_shutdown = int(max(1, grace_s))
        self._server.should_exit = True
        await self._task
        self._server = None

    def health(self) -> dict[str, Any]:
        return {}


def create_service(settings: Settings) -> GatewayService:
    return GatewayService(settings)
