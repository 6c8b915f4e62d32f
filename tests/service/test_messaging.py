"""The embedded NATS for real: JetStream keeps a message a dead consumer never acked."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from june.infra import InfraError
from june.infra.nats import EmbeddedNats
from june.messaging.bus import NatsUnavailableError, connect, ensure_stream
from june.settings import Settings
from tests.conftest import make_settings

CONSUMER = textwrap.dedent(
    """
    import asyncio, os, sys
    import nats

    async def main() -> None:
        nc = await nats.connect(sys.argv[1])
        sub = await nc.jetstream().pull_subscribe("work.jobs", durable="workers", stream="WORK")
        (msg,) = await sub.fetch(1, timeout=10)
        print(msg.data.decode(), flush=True)
        os._exit(9)  # dies mid-job: no ack, no clean close

    asyncio.run(main())
    """
)


async def test_unacked_message_is_redelivered_after_consumer_dies(
    nats_server: EmbeddedNats, infra_settings: Settings
) -> None:
    nc = await connect(infra_settings)
    js = nc.jetstream()
    await ensure_stream(js, "WORK", ["work.>"])
    await js.add_consumer(
        "WORK",
        ConsumerConfig(durable_name="workers", ack_policy=AckPolicy.EXPLICIT, ack_wait=1.0),
    )
    await js.publish("work.jobs", b"transcribe voice note 42")

    dead = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", CONSUMER, nats_server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dead.returncode == 9, dead.stderr
    assert dead.stdout.strip() == "transcribe voice note 42"

    sub = await js.pull_subscribe("work.jobs", durable="workers", stream="WORK")
    (msg,) = await sub.fetch(1, timeout=10)
    assert msg.data == b"transcribe voice note 42"
    assert msg.metadata.num_delivered == 2
    await msg.ack()
    with pytest.raises(asyncio.TimeoutError):
        await sub.fetch(1, timeout=1.5)  # acked: never delivered again
    await nc.close()


async def test_jetstream_data_survives_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    server = EmbeddedNats(settings)
    server.start()
    nc = await connect(settings)
    js = nc.jetstream()
    await ensure_stream(js, "KEEP", ["keep.>"])
    await js.publish("keep.it", b"still here")
    await nc.close()
    server.stop()

    server = EmbeddedNats(settings)
    server.start()
    nc = await connect(settings)
    msg = await nc.jetstream().get_last_msg("KEEP", "keep.it")
    assert msg.data == b"still here"
    await nc.close()
    server.stop()


async def test_nats_down_is_reported_as_unavailable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)  # nothing listens on its port
    with pytest.raises(
        NatsUnavailableError, match=rf"unavailable at nats://127.0.0.1:{settings.nats.port}"
    ):
        await connect(settings, timeout=1)


def test_nats_port_in_use_gives_a_clear_message(nats_server: EmbeddedNats, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, nats={"port": nats_server.settings.nats.port})
    with pytest.raises(InfraError, match="JUNE_NATS_PORT"):
        EmbeddedNats(settings).start()
