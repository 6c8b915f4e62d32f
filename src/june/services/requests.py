"""What every gRPC servicer does with a request it cannot serve: refuse it clearly, count it.

:class:`InvalidRequest` carries the status and the user-facing message;
:class:`ConcurrencyLimit` answers RESOURCE_EXHAUSTED at once when a service
already serves its ``max_concurrency`` requests (a caller should retry or go
to another replica, not queue behind a long stream).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from prometheus_client import Counter, Gauge

log = structlog.get_logger(__name__)


@dataclass
class InvalidRequest(Exception):
    code: grpc.StatusCode
    message: str

    def __str__(self) -> str:
        return self.message


def invalid(message: str) -> InvalidRequest:
    return InvalidRequest(grpc.StatusCode.INVALID_ARGUMENT, message)


async def first_message(requests: AsyncIterator[Any], kind: str, rpc: str) -> Any:
    """The opening message of a client stream, which must be the ``kind`` of its oneof."""
    first = await anext(requests, None)
    if first is None or first.WhichOneof("request") != kind:
        raise InvalidRequest(
            grpc.StatusCode.FAILED_PRECONDITION, f"the first message of {rpc} must be `{kind}`"
        )
    return first


async def refuse(
    context: grpc.aio.ServicerContext,
    service: str,
    method: str,
    error: InvalidRequest,
    errors: Counter,
) -> None:
    """Count, log and abort the call with ``error`` (raises, as ``context.abort`` does)."""
    errors.labels(method, error.code.name).inc()
    log.info(f"{service}.refused", method=method, code=error.code.name, reason=error.message)
    await context.abort(error.code, error.message)


class ConcurrencyLimit:
    def __init__(self, service: str, limit: int, in_flight: Gauge) -> None:
        self.service = service
        self.limit = max(1, limit)
        self._slots = asyncio.Semaphore(self.limit)
        self._in_flight = in_flight

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots for the block, or raise RESOURCE_EXHAUSTED when none is free."""
        if self._slots.locked():
            raise InvalidRequest(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the {self.service} service is busy ({self.limit} requests in progress); "
                "try again shortly",
            )
        async with self._slots:
            self._in_flight.inc()
            try:
                yield
            finally:
                self._in_flight.dec()
