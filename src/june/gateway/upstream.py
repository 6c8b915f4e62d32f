"""What every REST route does around a gRPC call: pass the request id on, translate failures.

The request id travels in the ``x-request-id`` metadata key so one request can
be followed through the gateway's and the service's logs. A failed call becomes
the gateway's error shape through :func:`june.gateway.errors.from_grpc`.
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

#: Background tasks that must outlive their request (charging a stream the client left).
_background: set[asyncio.Task[Any]] = set()


def metadata() -> tuple[tuple[str, str], ...]:
    """gRPC metadata with this request's id, for the service's log lines."""
    request_id = current_request_id()
    return (("x-request-id", request_id),) if request_id else ()


def backend_error(error: grpc.aio.AioRpcError, service: str) -> ApiError:
    """The HTTP error for a failed call to ``service``."""
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
