"""One real June for the gateway tests: stt, tts, inference and gateway as processes.

Started once per test session (model loads are the slow part) on the
session's PostgreSQL and NATS. Tests that kill a service restart it with
:meth:`Stack.restart`, so later tests find the stack whole again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from june.infra.nats import EmbeddedNats
from june.infra.postgres import EmbeddedPostgres
from tests.processes import Running, launch, service_env, wait_healthy

ORDER = ("stt", "tts", "inference", "gateway")


@dataclass
class Stack:
    env: dict[str, str]
    tmp: Path
    services: dict[str, Running] = field(default_factory=dict)

    @property
    def gateway(self) -> Running:
        return self.services["gateway"]

    @property
    def base_url(self) -> str:
        return self.gateway.base_url

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    def start(self, name: str) -> Running:
        running = launch(name, self.env, self.tmp)
        wait_healthy(running)
        self.services[name] = running
        return running

    def restart(self, name: str) -> Running:
        """Start ``name`` again if it is not running (after a test killed it)."""
        current = self.services.get(name)
        if current is not None and current.proc.poll() is None:
            return current
        return self.start(name)

    def stop(self) -> None:
        for name in reversed(ORDER):
            running = self.services.pop(name, None)
            if running is not None and running.proc.poll() is None:
                running.stop()


@pytest.fixture(scope="session")
def june_stack(
    tmp_path_factory: pytest.TempPathFactory,
    postgres: EmbeddedPostgres,
    nats_server: EmbeddedNats,
    model_cache: Path,
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    env = service_env(
        tmp,
        model_cache,
        JUNE_DATABASE_URL=postgres.url,
        JUNE_NATS_URL=nats_server.url,
        JUNE_INFERENCE_LLM_CONTEXT_SIZE="2048",
        # greedy answers: a test that needs a long answer gets the same one on every run
        # (sampled at the default 0.7, "count to a hundred" sometimes stopped at five)
        JUNE_INFERENCE_LLM_TEMPERATURE="0",
        # tests send many requests as one user; the limits themselves are tested on a gateway
        # of their own (test_gateway_protection)
        JUNE_GATEWAY_RATE_LIMIT_REQUESTS_PER_MINUTE="100000",
        JUNE_GATEWAY_RATE_LIMIT_AUDIO_S_PER_MINUTE="100000",
    )
    stack = Stack(env, tmp)
    try:
        for name in ORDER:
            stack.start(name)
        yield stack
    finally:
        stack.stop()
