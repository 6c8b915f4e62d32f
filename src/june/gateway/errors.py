"""Every error the gateway returns has one shape: ``{"error": {"code", "message"}}``.

Routes raise :class:`ApiError`; FastAPI's own errors (validation, unknown
route, wrong method) and a backend's gRPC status are turned into the same
shape, so a client never sees a stack trace or a framework-specific body.
A backend that is down becomes 503 naming it; one that is full, 429 with
``Retry-After``.
"""

from __future__ import annotations

from typing import Any

import grpc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class ApiError(Exception):
    """An error for the client: HTTP status, a stable machine code and a sentence."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def bad_request(message: str, code: str = "invalid_request") -> ApiError:
    return ApiError(400, code, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


#: How a backend's gRPC status reads over HTTP.
_GRPC_TO_HTTP: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_request"),
    grpc.StatusCode.FAILED_PRECONDITION: (400, "invalid_request"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "invalid_request"),
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "busy"),
    grpc.StatusCode.UNAVAILABLE: (503, "unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "timeout"),
    grpc.StatusCode.CANCELLED: (499, "cancelled"),
}


#: How a service's "full" refusal reads (``june.services.requests.ConcurrencyLimit``).
_BUSY_MARK = "is busy"


def from_grpc(error: grpc.aio.AioRpcError, service: str) -> ApiError:
    """The HTTP error for a failed call to ``service`` (stt, tts or inference).

    The services answer RESOURCE_EXHAUSTED both when they are busy (retry later:
    429) and when the input is over their limits (too large or too long:
    retrying never helps, so 413).
    """
    status, code = _GRPC_TO_HTTP.get(error.code(), (502, "backend_error"))
    detail = error.details() or error.code().name
    if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and _BUSY_MARK not in detail:
        return ApiError(413, "too_large", detail)
    if error.code() == grpc.StatusCode.UNAVAILABLE:
        message = f"the {service} service is unavailable: {detail}"
    elif status >= 500:
        message = f"the {service} service failed: {detail}"
    else:
        message = detail
    headers = {"Retry-After": "1"} if status == 429 else None
    return ApiError(status, code, message, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        code = codes.get(exc.status_code, "http_error")
        message = str(exc.detail) if exc.detail else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint"
        headers = dict(exc.headers) if exc.headers else None
        return ApiError(exc.status_code, code, message, headers).response()

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg', 'invalid')}" if where else err["msg"])
        return bad_request("; ".join(problems) or "invalid request").response()

    @app.exception_handler(grpc.aio.AioRpcError)
    async def grpc_error(_: Request, exc: grpc.aio.AioRpcError) -> JSONResponse:
        return from_grpc(exc, "backend").response()

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("gateway.unexpected_error", error=str(exc))
        return ApiError(500, "internal_error", "the gateway failed; see its log").response()
