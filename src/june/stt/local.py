"""Reach speech-to-text for a command: the running stt service, or the same service in-process.

In-process means the real :class:`RecognizerServicer` on a real gRPC server
bound to a free loopback port, so a command behaves the same either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from june.models.resolve import enforce_offline
from june.protos import asr_pb2_grpc
from june.settings import Settings
from june.stt.client import CHANNEL_OPTIONS, channel
from june.stt.server import load_engine
from june.stt.service import RecognizerServicer


async def service_is_up(address: str, timeout: float = 1.0) -> bool:
    try:
        async with channel(address) as ch:
            response = await health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        return response.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.aio.AioRpcError:
        return False


@asynccontextmanager
async def in_process_stt(settings: Settings) -> AsyncIterator[str]:
    """Load the engine here and serve it on ``127.0.0.1:<free port>``; yields the address."""
    enforce_offline()
    engine = await asyncio.to_thread(load_engine, settings)
    server = grpc.aio.server(options=CHANNEL_OPTIONS)
    asr_pb2_grpc.add_RecognizerServicer_to_server(RecognizerServicer(engine, settings.stt), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


@asynccontextmanager
async def stt_address(
    settings: Settings, prefer_service: bool = True
) -> AsyncIterator[tuple[str, str]]:
    """``(address, "service" | "in-process")``."""
    address = settings.grpc_address("stt")
    if prefer_service and await service_is_up(address):
        yield address, "service"
        return
    async with in_process_stt(settings) as local:
        yield local, "in-process"
