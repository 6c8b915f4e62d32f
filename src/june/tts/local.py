"""Text-to-speech for a command: the running tts service, or the same service in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from june.models.resolve import enforce_offline
from june.protos import tts_pb2_grpc
from june.services.local import serve_in_process, service_is_up
from june.settings import Settings
from june.tts.server import build_servicer


@asynccontextmanager
async def tts_address(
    settings: Settings, prefer_service: bool = True
) -> AsyncIterator[tuple[str, str]]:
    """``(address, "service" | "in-process")``."""
    address = settings.grpc_address("tts")
    if prefer_service and await service_is_up(address):
        yield address, "service"
        return
    enforce_offline()
    servicer = await asyncio.to_thread(build_servicer, settings)
    async with serve_in_process(
        lambda server: tts_pb2_grpc.add_SynthesizerServicer_to_server(servicer, server)
    ) as local:
        yield local, "in-process"
