"""Speech-to-text for a command: the running stt service, or the same service in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc

from june.protos import asr_pb2_grpc
from june.services.local import service_or_in_process
from june.settings import Settings


@asynccontextmanager
async def stt_address(settings: Settings) -> AsyncIterator[tuple[str, str]]:
    """``(address, "service" | "in-process")``."""
    from june.stt.server import load_engine
    from june.stt.service import RecognizerServicer

    def build() -> Callable[[grpc.aio.Server], None]:
        servicer = RecognizerServicer(load_engine(settings), settings.stt)
        return lambda server: asr_pb2_grpc.add_RecognizerServicer_to_server(servicer, server)

    async with service_or_in_process(settings.grpc_address("stt"), build) as found:
        yield found
