"""Connecting to NATS and declaring the JetStream streams June uses.

Every service reaches NATS the same way, whether it is the embedded server or
a production cluster: through :func:`connect` with the URL from settings.
"""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StreamConfig
from nats.js.errors import NotFoundError

from june.infra.nats import nats_url
from june.settings import Settings


class NatsUnavailableError(ConnectionError):
    pass


async def connect(settings: Settings, name: str = "june", timeout: float = 5.0) -> Client:
    """Connect, or raise :class:`NatsUnavailableError` naming the URL after ``timeout`` seconds.

    Once connected the client reconnects forever (a NATS restart is survived);
    only the first connection is bounded, so a service that starts while NATS is
    down says so instead of hanging.
    """
    url = nats_url(settings)
    client = Client()
    try:
        await asyncio.wait_for(
            client.connect(
                url,
                name=name,
                connect_timeout=timeout,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
            ),
            timeout,
        )
    except Exception as exc:  # nats raises several unrelated types for "cannot connect"
        with contextlib.suppress(Exception):
            await client.close()
        detail = str(exc) or type(exc).__name__
        raise NatsUnavailableError(f"NATS is unavailable at {url}: {detail}") from exc
    return client


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    subjects: list[str],
    retention: RetentionPolicy = RetentionPolicy.WORK_QUEUE,
) -> None:
    """Create the stream if missing; an existing stream keeps its data."""
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=name, subjects=subjects, retention=retention))
