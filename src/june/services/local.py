"""Reach a gRPC service for a command: the running one, or the same servicer in-process.

In-process means the real servicer on a real ``grpc.aio`` server bound to a
free loopback port, so ``june transcribe`` / ``june say`` behave the same
whether or not ``june up`` is running.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from june.services.grpc_server import MAX_MESSAGE_BYTES

CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # A service the supervisor restarts is back within seconds: reconnect at most 1 s
    # apart (gRPC's default back-off grows to 2 minutes, failing calls meanwhile).
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def channel(address: str) -> grpc.aio.Channel:
    """A channel to one address, or round-robin over a comma-separated list of replicas."""
    targets = [a.strip() for a in address.split(",") if a.strip()]
    if len(targets) == 1:
        return grpc.aio.insecure_channel(targets[0], options=CHANNEL_OPTIONS)
    target = "ipv4:" + ",".join(targets)
    options = [*CHANNEL_OPTIONS, ("grpc.lb_policy_name", "round_robin")]
    return grpc.aio.insecure_channel(target, options=options)


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
async def serve_in_process(register: Callable[[grpc.aio.Server], None]) -> AsyncIterator[str]:
    """Serve what ``register`` adds on ``127.0.0.1:<free port>``; yields the address."""
    server = grpc.aio.server(options=CHANNEL_OPTIONS)
    register(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


@asynccontextmanager
async def service_or_in_process(
    address: str, build: Callable[[], Callable[[grpc.aio.Server], None]]
) -> AsyncIterator[tuple[str, str]]:
    """``(address, "service" | "in-process")``: the running service at ``address``, else
    the servicer ``build()`` registers (called in a thread: it loads models), served here."""
    import asyncio

    from june.models.resolve import enforce_offline

    if await service_is_up(address):
        yield address, "service"
        return
    enforce_offline()
    register = await asyncio.to_thread(build)
    async with serve_in_process(register) as local:
        yield local, "in-process"
