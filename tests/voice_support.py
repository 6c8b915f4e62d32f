"""Helpers for voice-session tests: collect events, stream real speech at real-time pace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from june.voice.events import AudioChunk, VoiceEvent

CHUNK_S = 0.1
#: A request any model answers at length (the bundled one speaks ~40 s of it at 200 tokens),
#: so June is still writing and speaking when a test talks over it, cancels it or kills a stage.
LONG_ANSWER = "Count from one to one hundred: one, two, three, four, five,"


@dataclass
class Collector:
    """Every event a session emitted, with its arrival time; wait for one by type."""

    events: list[tuple[float, VoiceEvent]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def __call__(self, event: VoiceEvent) -> None:
        async with self._changed:
            self.events.append((time.perf_counter(), event))
            self._changed.notify_all()

    def of(self, kind: str, turn_id: str | None = None) -> list[VoiceEvent]:
        return [
            e
            for _, e in self.events
            if e.type == kind and (turn_id is None or getattr(e, "turn_id", None) == turn_id)
        ]

    def audio(self, turn_id: str) -> bytes:
        return b"".join(
            e.data for _, e in self.events if isinstance(e, AudioChunk) and e.turn_id == turn_id
        )

    async def wait_for(
        self, kind: str, timeout: float = 60.0, count: int = 1, turn_id: str | None = None
    ) -> VoiceEvent:
        async def ready() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.of(kind, turn_id)) >= count)

        try:
            await asyncio.wait_for(ready(), timeout)
        except TimeoutError:
            seen = [e.type for _, e in self.events]
            raise AssertionError(f"no {kind!r} within {timeout} s; events: {seen}") from None
        return self.of(kind, turn_id)[count - 1]

    async def wait_any(
        self, kinds: tuple[str, ...], turn_id: str, timeout: float = 60.0
    ) -> VoiceEvent:
        """The first event of ``turn_id`` whose type is one of ``kinds``."""

        def found() -> list[VoiceEvent]:
            return [e for kind in kinds for e in self.of(kind, turn_id)]

        async def ready() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(found()))

        try:
            await asyncio.wait_for(ready(), timeout)
        except TimeoutError:
            seen = [e.type for _, e in self.events]
            raise AssertionError(f"none of {kinds} within {timeout} s; events: {seen}") from None
        return min(found(), key=self.index)

    def index(self, event: VoiceEvent) -> int:
        return next(i for i, (_, e) in enumerate(self.events) if e is event)

    def arrival(self, event: VoiceEvent) -> float:
        return self.events[self.index(event)][0]

    def endings(self, turn_id: str) -> list[str]:
        """How the turn ended: ``turn.done``, ``turn.cancelled`` or its llm stage's error."""
        return [
            e.type
            for _, e in self.events
            if getattr(e, "turn_id", None) == turn_id
            and (e.type in ("turn.done", "turn.cancelled") or getattr(e, "stage", "") == "llm")
        ]


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` (every 10 ms) until it holds; fail naming ``what`` after ``timeout``."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        await asyncio.sleep(0.01)


def pcm16(pcm: np.ndarray) -> bytes:
    return (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16_000 * seconds), dtype=np.float32)


async def stream_realtime(
    send: Callable[[bytes], Awaitable[None]], pcm: np.ndarray, pace: float = 1.0
) -> float:
    """Send 16 kHz mono ``pcm`` as s16le 100 ms chunks at real time; returns when it ended."""
    data = pcm16(pcm)
    step = int(16_000 * CHUNK_S) * 2
    start = time.perf_counter()
    for i, offset in enumerate(range(0, len(data), step)):
        delay = start + (i + 1) * CHUNK_S * pace - time.perf_counter()
        if delay > 0:  # a chunk is sent once all of it has been "spoken"
            await asyncio.sleep(delay)
        await send(data[offset : offset + step])
    return time.perf_counter()
