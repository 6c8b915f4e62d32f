"""What REST routes do around a gRPC call: pass the request id on, finish work a client left.

The request id travels in the ``x-request-id`` metadata key so one request can
be followed through the gateway's and the service's logs (a failed call becomes
the gateway's error shape through :func:`june.gateway.errors.from_grpc`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import structlog

from june.observability import current_request_id

log = structlog.get_logger(__name__)

#: Background tasks that must outlive their request (charging a stream the client left).
_background: set[asyncio.Task[Any]] = set()


def metadata() -> tuple[tuple[str, str], ...]:
    """gRPC metadata with this request's id, for the service's log lines."""
    request_id = current_request_id()
    return (("x-request-id", request_id),) if request_id else ()


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
