"""What every route of one gateway process shares: settings, backend clients, database, NATS.

The gateway keeps no state a second instance would need (DESIGN.md, scaling
out): users, keys, conversations live in PostgreSQL, rate-limit counters in
NATS JetStream key-value. Connections are opened on first use and retried
after an outage, so the gateway starts (and answers ``/health``) before its
dependencies, and says which one is unavailable when a request needs it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from june.gateway.errors import ApiError
from june.inference.client import InferenceClient
from june.stt.client import SttClient
from june.tts.client import TtsClient

if TYPE_CHECKING:
    from nats.aio.client import Client as Nats
    from sqlalchemy.engine import Engine

    from june.settings import Settings


@dataclass
class Backends:
    """gRPC clients of the three model services (a comma list of replicas is round-robined)."""

    stt: SttClient
    tts: TtsClient
    inference: InferenceClient

    @classmethod
    def from_settings(cls, settings: Settings) -> Backends:
        return cls(
            stt=SttClient(settings.grpc_address("stt")),
            tts=TtsClient(settings.grpc_address("tts")),
            inference=InferenceClient(settings.grpc_address("inference")),
        )

    async def close(self) -> None:
        for client in (self.stt, self.tts, self.inference):
            await client.close()


@dataclass
class GatewayContext:
    settings: Settings
    backends: Backends
    _engine: Engine | None = None
    _nats: Nats | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayContext:
        return cls(settings=settings, backends=Backends.from_settings(settings))

    async def engine(self) -> Engine:
        """The migrated PostgreSQL engine; 503 naming the database while it is down."""
        if self._engine is not None:
            return self._engine
        from june.inference.documents.database import engine_from_settings
        from june.inference.documents.errors import DatabaseUnavailableError

        async with self._lock:
            if self._engine is None:
                try:
                    self._engine = await asyncio.to_thread(engine_from_settings, self.settings)
                except DatabaseUnavailableError as exc:
                    raise ApiError(503, "unavailable", str(exc)) from None
        return self._engine

    async def nats(self) -> Nats:
        """The NATS connection (rate limits); 503 naming NATS while it is down."""
        if self._nats is not None and self._nats.is_connected:
            return self._nats
        from june.messaging.bus import NatsUnavailableError, connect

        async with self._lock:
            if self._nats is None or not self._nats.is_connected:
                try:
                    self._nats = await connect(self.settings, name="june-gateway", timeout=3.0)
                except NatsUnavailableError as exc:
                    raise ApiError(503, "unavailable", str(exc)) from None
        return self._nats

    async def close(self) -> None:
        await self.backends.close()
        if self._nats is not None:
            await self._nats.close()
        if self._engine is not None:
            self._engine.dispose()


def get_context(connection: HTTPConnection) -> GatewayContext:
    """FastAPI dependency (HTTP and WebSocket alike): this process's :class:`GatewayContext`."""
    return connection.app.state.context
