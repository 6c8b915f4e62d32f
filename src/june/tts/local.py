"""Text-to-speech for a command: the running tts service, or the same service in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc

from june.protos import tts_pb2_grpc
from june.services.local import service_or_in_process
from june.settings import Settings


@asynccontextmanager
async def tts_address(settings: Settings) -> AsyncIterator[tuple[str, str]]:
    """``(address, "service" | "in-process")``."""
    from june.tts.server import build_servicer

    def build() -> Callable[[grpc.aio.Server], None]:
        servicer = build_servicer(settings)
        return lambda server: tts_pb2_grpc.add_SynthesizerServicer_to_server(servicer, server)

    async with service_or_in_process(settings.grpc_address("tts"), build) as found:
        yield found
