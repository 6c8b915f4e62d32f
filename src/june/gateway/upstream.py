"""What every REST route does around a gRPC call: pass the request id on, translate failures.

The request id travels in the ``x-request-id`` metadata key so one request can
be followed through the gateway's and the service's logs. A failed call becomes
the gateway's error shape through :func:`june.gateway.errors.from_grpc`, with
one correction: the services answer RESOURCE_EXHAUSTED both when they are busy
(retry later: 429) and when the input is over their limits (an upload that is
too large or too long: retrying will never help, so 413).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import grpc
import structlog

from june.gateway.errors import ApiError, from_grpc
from june.observability import current_request_id

log = structlog.get_logger(__name__)

#: How a service's "full" refusal reads (``june.services.requests.ConcurrencyLimit``).
_BUSY_MARK = "is busy"

#: Background tasks that must outlive their request (charging a stream the client left).
_background: set[asyncio.Task[Any]] = set()


def metadata() -> tuple[tuple[str, str], ...]:
    """gRPC metadata with this request's id, for the service's log lines."""
    request_id = current_request_id()
    return (("x-request-id", request_id),) if request_id else ()


def backend_error(error: grpc.aio.AioRpcError, service: str) -> ApiError:
    """The HTTP error for a failed call to ``service``; over-limit input is 413, not 429."""
    if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and _BUSY_MARK not in (
        error.details() or ""
    ):
        return ApiError(413, "too_large", error.details() or "the input is over the limits")
    return from_grpc(error, service)


def in_background(work: Awaitable[Any], what: str) -> None:
    """Run ``work`` to completion even if the request that started it is gone; log failures."""

    async def run() -> None:
        try:
            await work
        except Exception as exc:
            log.warning("gateway.background_failed", what=what, error=str(exc))

    task = asyncio.ensure_future(run())
    _background.add(task)
    task.add_done_callback(_background.discard)
