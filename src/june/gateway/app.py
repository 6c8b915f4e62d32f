"""The gateway's FastAPI application.

``create_app(settings)`` builds it; :mod:`june.gateway.server` runs it with
uvicorn on ``JUNE_HOST:JUNE_GATEWAY_PORT``. Each request gets a request id
(the ``X-Request-ID`` header, or a new one) bound to its log lines and echoed
in the response.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Response
from prometheus_client import REGISTRY
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import june
from june.gateway.auth import current_principal
from june.gateway.context import GatewayContext
from june.gateway.errors import install_error_handlers
from june.gateway.protection import install_protection
from june.gateway.routes import auth, conversations, documents, openai_compat, realtime
from june.gateway.webapp import webapp_route
from june.observability.logging import request_context
from june.settings import Settings

REQUEST_ID_HEADER = "x-request-id"


class RequestIdMiddleware:
    """Bind a request id for every HTTP request and WebSocket; echo it as ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(REQUEST_ID_HEADER.encode())
        incoming = given.decode("latin-1")[:128] if given else None

        with request_context(incoming) as request_id:

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers.append((REQUEST_ID_HEADER.encode(), request_id.encode("latin-1")))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_id)


def create_app(settings: Settings, context: GatewayContext | None = None) -> FastAPI:
    """The gateway; ``context`` (backend clients, database, NATS) is built from ``settings``
    on startup unless given, and closed on shutdown."""
    started = time.monotonic()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = context is None
        app.state.context = context or GatewayContext.from_settings(settings)
        try:
            yield
        finally:
            if own:
                await app.state.context.close()

    app = FastAPI(
        title="June",
        version=june.__version__,
        description="A self-hosted voice assistant.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_protection(app, settings)
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    for routes in (auth, conversations, documents, openai_compat, realtime):
        app.include_router(routes.router)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, Any]:
        """``{"status": "ok", ...}`` while the gateway serves."""
        return {
            "status": "ok",
            "service": "gateway",
            "version": june.__version__,
            "uptime_s": round(time.monotonic() - started, 3),
        }

    @app.get(
        "/metrics",
        tags=["operations"],
        include_in_schema=False,
        dependencies=[Depends(current_principal)],
    )
    async def metrics() -> Response:
        """Prometheus exposition of this process's metrics.

        Behind a token like every endpoint but ``/health`` (it shows who uses June how
        much); a scraper sends an API key (Prometheus ``authorization: {credentials: …}``).
        """
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    app.router.routes.append(webapp_route(settings))  # last: whatever the API does not serve
    return app
