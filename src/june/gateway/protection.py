"""What guards the gateway before any route runs: CORS for the web app, a request-size limit.

CORS: browsers may call the API only from the origins in
``JUNE_GATEWAY_CORS_ORIGINS`` (a JSON list), by default just the gateway's own
web address (``JUNE_GATEWAY_PUBLIC_URL``, else ``http://HOST:PORT``), where it
serves the web app. So a development server of the web app on another port
has to be listed. Credentials are bearer tokens in a header, never cookies,
so no credentialed CORS is allowed.

Size: a request body over ``JUNE_GATEWAY_MAX_REQUEST_BYTES`` (default 25 MiB,
OpenAI's limit for audio uploads) is refused with 413 ``request_too_large`` —
at once when ``Content-Length`` says so, before anything is read, and while
reading a body without a length (chunked) as soon as it passes the limit, so a
client cannot make the gateway hold an unbounded body in memory.

:func:`install_protection` also refuses to build an app whose configured JWT
secret is too short, so a bad ``JUNE_GATEWAY_JWT_SECRET`` stops the gateway at
start, not at the first login.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from june.settings import Settings

#: Headers a page may send, and response headers its scripts may read.
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-Request-ID"]
EXPOSED_HEADERS = ["X-Request-ID", "Retry-After"]


def cors_origins(settings: Settings) -> list[str]:
    """The origins allowed to call the API from a browser (no trailing slash)."""
    origins = settings.gateway.cors_origins
    if origins is None:
        origins = [settings.web_url]
    return [origin.strip().rstrip("/") for origin in origins if origin.strip()]


def _too_large_body(limit: int) -> bytes:
    message = (
        f"the request body is larger than {limit} bytes ({limit / 1_048_576:.0f} MiB), "
        "the most this server accepts (JUNE_GATEWAY_MAX_REQUEST_BYTES)"
    )
    return json.dumps({"error": {"code": "request_too_large", "message": message}}).encode()


class RequestSizeLimitMiddleware:
    """413 for HTTP request bodies over ``max_bytes``, by ``Content-Length`` or while streaming.

    When a streamed body passes the limit, the 413 is sent (if the app has not
    started its response yet), the app sees the client disconnect, and
    whatever it still sends is dropped. The connection is then closed, since
    the rest of the body is never read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return

        received = 0
        started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, send: Send) -> None:
        body = _too_large_body(self.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def install_protection(app: FastAPI, settings: Settings) -> None:
    """Add CORS and the request-size limit to ``app``; refuse a too-short JWT secret.

    Call it before the request-id middleware is added, so that one stays
    outermost and the refusals made here carry an ``X-Request-ID`` too.
    """
    from june.gateway.auth.tokens import signing_key

    secret = settings.gateway.jwt_secret
    if secret is not None and secret.get_secret_value().strip():
        signing_key(settings)  # a configured key that is too short: WeakSecretError, at start
    app.add_middleware(RequestSizeLimitMiddleware, max_bytes=settings.gateway.max_request_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins(settings),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=600,
    )
