"""Speech-to-text for a command: the running stt service, or the same service in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from june.models.resolve import enforce_offline
from june.protos import asr_pb2_grpc
from june.services.local import serve_in_process, service_is_up
from june.settings import Settings
from june.stt.server import load_engine
from june.stt.service import RecognizerServicer


@asynccontextmanager
async def stt_address(
    settings: Settings, prefer_service: bool = True
) -> AsyncIterator[tuple[str, str]]:
    """``(address, "service" | "in-process")``."""
    address = settings.grpc_address("stt")
    if prefer_service and await service_is_up(address):
        yield address, "service"
        return
    enforce_offline()
    engine = await asyncio.to_thread(load_engine, settings)
    servicer = RecognizerServicer(engine, settings.stt)
    async with serve_in_process(
        lambda server: asr_pb2_grpc.add_RecognizerServicer_to_server(servicer, server)
    ) as local:
        yield local, "in-process"
