"""A voice turn ends exactly once, wherever a cancel reaches it.

Barge-in, a client's cancel and a dropped speculation all cancel a running
turn, at a moment no one chooses. Rather than hope a sleep lands on the bad
moment, these tests put a gate on every await point where the turn meets the
outside world — each read of the real inference and tts streams, each event
it emits, each write of its recorder — and, run after run, cancel the turn
at the k-th of them, for every k until a run ends before the gate is reached.
Whatever the machine's speed, each await point is hit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from june.db.schema import Message
from june.inference.client import InferenceClient
from june.inference.documents.database import sqlalchemy_url
from june.protos import llm_pb2
from june.tts.client import TtsClient
from june.voice.events import VoiceEvent
from june.voice.records import MessageRecorder
from june.voice.turn import TurnRequest, VoiceTurn
from tests.stack import Stack

OPTIONS = llm_pb2.ChatOptions(max_tokens=10, temperature=0.0, use_tools=False)
#: More await points than any run of a ten-token answer has.
MAX_POINTS = 300


@dataclass
class Gate:
    """Counts the await points a turn reaches; at the ``at``-th, cancels the turn there."""

    at: int | None = None
    reason: str = "barge_in"
    count: int = 0
    hit: str = ""
    turn: VoiceTurn | None = None
    canceller: asyncio.Task[None] | None = None

    async def point(self, where: str) -> None:
        index, self.count = self.count, self.count + 1
        if index != self.at or self.turn is None:
            return
        self.hit = where
        self.canceller = asyncio.create_task(self.turn.cancel(self.reason))
        # One step of the loop: the cancel decides at once, and if it cancels the turn,
        # the CancelledError arrives here, at this await point. If it finds the turn
        # ended, the turn goes on (it must not wait for a cancel that may want its lock).
        await asyncio.sleep(0)


class _GatedCall:
    def __init__(self, call: Any, gate: Gate, label: str) -> None:
        self._call, self._gate, self._label = call, gate, label

    async def read(self) -> Any:
        await self._gate.point(f"{self._label} read")
        return await self._call.read()

    def cancel(self) -> bool:
        return bool(self._call.cancel())


class _GatedStub:
    """A real gRPC stub whose streaming calls pass the gate before each read."""

    def __init__(self, stub: Any, gate: Gate, stage: str) -> None:
        self._stub, self._gate, self._stage = stub, gate, stage

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._stub, name)
        return lambda *a, **kw: _GatedCall(method(*a, **kw), self._gate, f"{self._stage}")


class _GatedRecorder:
    def __init__(self, recorder: MessageRecorder, gate: Gate) -> None:
        self.recorder, self.gate = recorder, gate
        self.forgotten: list[str] = []

    async def add_timings(self, message_id: str, timings: dict[str, float]) -> None:
        await self.gate.point("add_timings")
        await self.recorder.add_timings(message_id, timings)

    async def forget(self, message_id: str) -> None:
        await self.gate.point("forget")
        await self.recorder.forget(message_id)
        self.forgotten.append(message_id)


@dataclass
class Run:
    gate: Gate
    events: list[VoiceEvent] = field(default_factory=list)
    turn: VoiceTurn | None = None


@pytest.fixture
async def clients(june_stack: Stack) -> AsyncIterator[SimpleNamespace]:
    for name in ("tts", "inference"):
        june_stack.restart(name)
    env = june_stack.env
    real = SimpleNamespace(
        inference=InferenceClient(f"127.0.0.1:{env['JUNE_INFERENCE_PORT']}"),
        tts=TtsClient(f"127.0.0.1:{env['JUNE_TTS_PORT']}"),
        recorder=MessageRecorder(create_engine(sqlalchemy_url(env["JUNE_DATABASE_URL"]))),
    )
    yield real
    await real.inference.close()
    await real.tts.close()
    real.recorder.engine.dispose()


async def _turn(clients: SimpleNamespace, gate: Gate, *, provisional: bool) -> Run:
    """One real turn ("Say hello.") through gated clients, cancelled at the gate's point."""
    run = Run(gate)

    async def emit(event: VoiceEvent) -> None:
        run.events.append(event)
        await gate.point(f"emit {event.type}")

    backends = SimpleNamespace(
        inference=SimpleNamespace(stub=_GatedStub(clients.inference.stub, gate, "llm")),
        tts=SimpleNamespace(stub=_GatedStub(clients.tts.stub, gate, "tts")),
    )
    request = TurnRequest(
        turn_id=uuid.uuid4().hex[:16],
        user_id=f"endings-{uuid.uuid4().hex[:8]}",
        transcript="Say hello.",
        options=OPTIONS,
    )
    recorder = _GatedRecorder(clients.recorder, gate)
    turn = VoiceTurn(backends, request, emit, held=provisional, recorder=recorder)
    run.turn = gate.turn = turn
    turn.start()
    if provisional:  # played before its final, as in a pause that outlasts the release
        await turn.release(0.0)
    await turn.wait()
    if gate.canceller is not None:
        await gate.canceller
    if provisional and not turn.cancelled:
        await turn.settle(0.0)  # the final confirmed it
    return run


def _endings(run: Run) -> list[str]:
    turn_id = run.turn.turn_id if run.turn else ""
    ends = []
    for event in run.events:
        if getattr(event, "turn_id", None) != turn_id:
            continue
        if event.type in ("turn.done", "turn.cancelled"):
            ends.append(event.type)
        elif event.type == "error" and event.stage == "llm":  # type: ignore[union-attr]
            ends.append("error")
    return ends


def _stored(clients: SimpleNamespace, message_id: str) -> bool:
    with clients.recorder.engine.connect() as conn:
        found = conn.scalar(select(Message.id).where(Message.id == uuid.UUID(message_id)))
    return found is not None


@pytest.mark.parametrize("provisional", [False, True], ids=["confirmed", "provisional"])
async def test_a_turn_cancelled_at_any_await_point_ends_exactly_once(
    clients: SimpleNamespace, provisional: bool
) -> None:
    free = await _turn(clients, Gate(), provisional=provisional)
    assert _endings(free) == ["turn.done"], [e.type for e in free.events]
    assert free.gate.count > 5, "the turn reached the outside world at several points"
    hits: dict[str, int] = {}
    for at in range(MAX_POINTS):
        run = await _turn(clients, Gate(at=at), provisional=provisional)
        if not run.gate.hit:
            break  # the turn ended before its at-th await point: every point was tried
        hits[run.gate.hit] = hits.get(run.gate.hit, 0) + 1
        types = [e.type for e in run.events]
        where = f"cancelled at point {at} ({run.gate.hit}): {types}"
        assert _endings(run) in (["turn.done"], ["turn.cancelled"]), where
        assert run.turn is not None
        if _endings(run) == ["turn.cancelled"]:
            assert types[-1] == "turn.cancelled", f"nothing of the turn follows its end; {where}"
            assert run.turn.ended == "cancelled"
            message_id = run.turn.message_id
            if provisional and message_id:  # a dropped speculative answer leaves nothing
                assert not _stored(clients, message_id), where
        else:
            assert run.turn.ended == "done"
            after = types[types.index("turn.done") + 1 :]
            assert after in ([], ["audio.stop"]), f"only audio.stop may follow; {where}"
    else:
        pytest.fail(f"the turn still had await points after {MAX_POINTS}")
    # the gate reached each kind of await point the turn has
    kinds = {hit.split(" ")[0] for hit in hits}
    assert {"llm", "tts", "emit", "add_timings"} <= kinds, hits
