"""Health probes for every part of June, shared by ``june up`` (waiting) and ``june check``.

Each probe speaks the part's own protocol: SQL to PostgreSQL, the NATS
protocol to NATS, the standard gRPC health-checking service to gRPC services
and ``GET /health`` to HTTP ones. A probe never raises: it returns a result
that says what is down and why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import grpc
import httpx
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc

from june.infra.postgres import database_url, libpq_url
from june.messaging.bus import connect as nats_connect
from june.settings import ServiceName, Settings

GRPC_SERVICES: tuple[ServiceName, ...] = ("inference", "stt", "tts")


@dataclass
class HealthResult:
    name: str
    kind: str  # "dependency" | "service"
    target: str
    healthy: bool
    detail: str
    latency_s: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def _timed(
    name: str, kind: str, target: str, probe: Callable[[], Awaitable[str]], timeout: float
) -> HealthResult:
    start = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), timeout)
        healthy = True
    except TimeoutError:
        healthy, detail = False, f"unavailable: no answer in {timeout:.0f}s"
    except Exception as exc:
        healthy, detail = False, f"unavailable: {_one_line(exc)}"
    return HealthResult(name, kind, target, healthy, detail, round(time.perf_counter() - start, 4))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _redact(url: str) -> str:
    """``scheme://user:secret@host`` → ``scheme://user:***@host``."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


async def check_postgres(settings: Settings, timeout: float = 5.0) -> HealthResult:
    url = database_url(settings)

    async def probe() -> str:
        async with await psycopg.AsyncConnection.connect(
            libpq_url(url), connect_timeout=max(1, int(timeout))
        ) as conn:
            cur = await conn.execute(
                "SELECT current_setting('server_version'),"
                " (SELECT extversion FROM pg_extension WHERE extname = 'vector'),"
                " to_regclass('alembic_version') IS NOT NULL"
            )
            version, vector, has_schema = await cur.fetchone()  # type: ignore[misc]
            schema = "none"
            if has_schema:
                cur = await conn.execute("SELECT version_num FROM alembic_version")
                row = await cur.fetchone()
                schema = row[0] if row else "none"
            if vector is None:
                raise RuntimeError(f"PostgreSQL {version} is up but pgvector is not installed")
            return f"PostgreSQL {version}, pgvector {vector}, schema {schema}"

    return await _timed("postgres", "dependency", _redact(url), probe, timeout)


async def check_nats(settings: Settings, timeout: float = 5.0) -> HealthResult:
    from june.infra.nats import nats_url

    url = nats_url(settings)

    async def probe() -> str:
        nc = await nats_connect(settings, name="june-check", timeout=timeout)
        try:
            info = await nc.jetstream().account_info()
            v = nc.connected_server_version
            return f"NATS {v.major}.{v.minor}.{v.patch}, JetStream streams {info.streams}"
        finally:
            await nc.close()

    return await _timed("nats", "dependency", url, probe, timeout)


async def check_grpc(name: str, address: str, timeout: float = 3.0) -> HealthResult:
    async def probe() -> str:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            response = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
            if response.status != health_pb2.HealthCheckResponse.SERVING:
                raise RuntimeError(status)
            return status

    return await _timed(name, "service", address, probe, timeout + 1)


async def check_http(name: str, url: str, timeout: float = 3.0) -> HealthResult:
    async def probe() -> str:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await client.get(url)
        body = response.json() if "json" in response.headers.get("content-type", "") else {}
        status = body.get("status", response.reason_phrase) if isinstance(body, dict) else ""
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code} {status}")
        return str(status)

    return await _timed(name, "service", url, probe, timeout + 1)


async def check_service(settings: Settings, name: ServiceName) -> HealthResult:
    if name in GRPC_SERVICES:
        grpc_result = await check_grpc(name, settings.grpc_address(name))  # type: ignore[arg-type]
        if not grpc_result.healthy:
            return grpc_result
    return await check_http(name, settings.health_url(name))


async def check_all(
    settings: Settings, services: list[ServiceName] | None = None
) -> list[HealthResult]:
    names = services if services is not None else settings.supervisor.services
    probes = [check_postgres(settings), check_nats(settings)]
    probes += [check_service(settings, name) for name in names]
    return list(await asyncio.gather(*probes))
