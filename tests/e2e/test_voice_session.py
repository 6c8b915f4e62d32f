"""The voice turn itself (``june.voice``), on the real stt, tts and inference services.

The session is driven in-process here, as the gateway and the Telegram bot
drive it; ``test_realtime.py`` does the same over the WebSocket.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, select

from june.db.schema import Message
from june.gateway.context import Backends
from june.inference.client import InferenceClient
from june.inference.documents.database import sqlalchemy_url
from june.protos import llm_pb2
from june.stt.client import SttClient
from june.tts.client import TtsClient
from june.voice.events import TurnDone
from june.voice.records import MessageRecorder
from june.voice.session import SessionConfig, VoiceSession
from june.voice.turn import OutputSpec
from tests.speech import load_clip, wer
from tests.stack import Stack
from tests.voice_support import LONG_ANSWER, Collector, silence, stream_realtime, until

SHORT = llm_pb2.ChatOptions(max_tokens=24, temperature=0.0, use_tools=False)
LONG = llm_pb2.ChatOptions(max_tokens=200, temperature=0.0, use_tools=False)


def _address(stack: Stack, name: str) -> str:
    return f"127.0.0.1:{stack.env[f'JUNE_{name.upper()}_PORT']}"


@pytest.fixture
async def backends(june_stack: Stack) -> AsyncIterator[Backends]:
    for name in ("stt", "tts", "inference"):
        june_stack.restart(name)
    b = Backends(
        stt=SttClient(_address(june_stack, "stt")),
        tts=TtsClient(_address(june_stack, "tts")),
        inference=InferenceClient(_address(june_stack, "inference")),
    )
    yield b
    await b.close()


@pytest.fixture(scope="module")
def recorder(june_stack: Stack) -> MessageRecorder:
    return MessageRecorder(create_engine(sqlalchemy_url(june_stack.env["JUNE_DATABASE_URL"])))


def _session(
    backends: Backends,
    collector: Collector,
    recorder: MessageRecorder,
    options: llm_pb2.ChatOptions = SHORT,
    **config: object,
) -> VoiceSession:
    settings = SessionConfig(user_id=f"voice-{uuid.uuid4().hex[:8]}", options=options)
    for key, value in config.items():
        setattr(settings, key, value)
    return VoiceSession(backends, settings, collector, recorder)


def _joined(a: np.ndarray, b: np.ndarray, pause_s: float) -> np.ndarray:
    """Two clips with a pause between them that is the whole silence (their own trimmed)."""
    loud_a, loud_b = np.flatnonzero(np.abs(a) > 0.02), np.flatnonzero(np.abs(b) > 0.02)
    first, second = a[: loud_a[-1] + 1600], b[max(0, loud_b[0] - 1600) :]
    return np.concatenate([first, silence(pause_s), second, silence(1.5)])


def _stored(recorder: MessageRecorder, conversation_id: str) -> list[str]:
    """The texts of a conversation's messages, oldest first."""
    with recorder.engine.connect() as conn:
        return list(
            conn.scalars(
                select(Message.text)
                .where(Message.conversation_id == uuid.UUID(conversation_id))
                .order_by(Message.created_at)
            ).all()
        )


def _pcm_of(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768


async def test_a_spoken_question_is_answered_in_text_and_voice(
    backends: Backends, recorder: MessageRecorder
) -> None:
    clip = load_clip("1089-134686-0010")
    events = Collector()
    session = _session(backends, events, recorder)
    turns_before = REGISTRY.get_sample_value("june_voice_turns_total", {"outcome": "done"}) or 0
    try:
        await stream_realtime(session.audio, np.concatenate([clip.pcm, silence(1.5)]))
        final = await events.wait_for("transcript.final")
        assert wer(clip.text, final.text) <= 0.2, final.text
        assert events.of("transcript.partial"), "partials arrive while the person speaks"
        done = await events.wait_for("turn.done", timeout=90)
    finally:
        await session.close()
    assert isinstance(done, TurnDone)
    assert done.turn_id == final.turn_id and done.text.strip()
    assert "".join(e.text for e in events.of("answer.delta", done.turn_id)).strip()
    start = events.of("audio.start", done.turn_id)[0]
    assert start.format == "pcm16" and start.sample_rate == 22_050
    audio = _pcm_of(events.audio(done.turn_id))
    assert len(audio) > 0.3 * start.sample_rate and np.abs(audio).max() > 0.05
    for key in ("transcript_s", "first_token_s", "first_audio_s", "done_s"):
        assert done.timings[key] >= 0, key
    assert 0 < done.timings["first_audio_s"] <= done.timings["done_s"]
    # the timings are on the stored answer
    with recorder.engine.connect() as conn:
        row = conn.execute(select(Message).where(Message.id == uuid.UUID(done.message_id))).one()
    assert row.role == "assistant" and row.timings["first_audio_s"] == done.timings["first_audio_s"]
    assert session.conversation_id == done.conversation_id
    # and counted for /metrics
    assert (
        REGISTRY.get_sample_value("june_voice_turns_total", {"outcome": "done"}) == turns_before + 1
    )
    assert (REGISTRY.get_sample_value("june_voice_first_audio_seconds_count") or 0) >= 1


async def test_typed_text_is_answered_and_the_conversation_continues(
    backends: Backends, recorder: MessageRecorder
) -> None:
    events = Collector()
    session = _session(backends, events, recorder, output=OutputSpec(format="wav"))
    try:
        await session.text("Say hello.")
        first = await events.wait_for("turn.done", timeout=90)
        await session.text("Say goodbye.")
        second = await events.wait_for("turn.done", timeout=90, count=2)
    finally:
        await session.close()
    assert first.conversation_id == second.conversation_id
    assert events.of("audio.start")[0].format == "wav"
    assert events.audio(first.turn_id)[:4] == b"RIFF"


def _heard_until(events: Collector, turn_id: str) -> float:
    """When the turn's audio would stop playing, had it played from its first chunk on."""
    chunks = [(at, e) for at, e in events.events if e.type == "audio" and e.turn_id == turn_id]
    if not chunks:
        return 0.0
    return chunks[0][0] + sum(e.duration_s for _, e in chunks)  # type: ignore[union-attr]


async def test_speech_over_the_answer_interrupts_it(
    backends: Backends, recorder: MessageRecorder
) -> None:
    events = Collector()
    session = _session(backends, events, recorder, options=LONG)
    clip = load_clip("1089-134686-0010")
    try:
        await session.text(LONG_ANSWER)
        first = await events.wait_for("audio.start", timeout=90)
        await stream_realtime(session.audio, np.concatenate([clip.pcm, silence(1.5)]))
        # Still generating, the answer is cancelled; already complete but still playing
        # (synthesis runs ahead of playback), its playback is stopped. Either way, once.
        stopped = await events.wait_any(("turn.cancelled", "audio.stop"), first.turn_id, 30)
        assert stopped.reason == "barge_in", stopped
        # the interruption is answered in its turn
        final = await events.wait_for("transcript.final", count=2, timeout=30)
        done = await events.wait_for("turn.done", turn_id=final.turn_id, timeout=90)
    finally:
        await session.close()
    assert wer(clip.text, done.transcript) <= 0.2, done.transcript
    assert len(events.endings(first.turn_id)) == 1, events.endings(first.turn_id)
    after = events.events[events.index(stopped) + 1 :]
    assert not [e for _, e in after if e.type == "audio" and e.turn_id == first.turn_id], (
        "no audio of the interrupted answer follows its stop"
    )


async def test_a_backchannel_or_a_cough_does_not_interrupt(
    backends: Backends, recorder: MessageRecorder
) -> None:
    # "Okay." spoken by June's own voice, and a burst of noise, while the answer plays
    okay = await backends.tts.synthesize("Okay.")
    from june.audio import decode_audio

    okay_pcm = decode_audio(okay.audio)
    rng = np.random.default_rng(0)
    cough = (rng.standard_normal(16_000 * 3 // 10) * 0.3).astype(np.float32)
    events = Collector()
    session = _session(backends, events, recorder, options=LONG)
    try:
        await session.text(LONG_ANSWER)
        first = await events.wait_for("audio.start", timeout=90)
        noise = np.concatenate([okay_pcm, silence(1.2), cough, silence(1.2)])
        noise_end = await stream_realtime(session.audio, noise)
        await events.wait_for("turn.done", turn_id=first.turn_id, timeout=120)
    finally:
        await session.close()  # ends the stt stream: the noise's last final comes in first
    # The answer was still being heard when the noise ended: it could have been interrupted.
    assert _heard_until(events, first.turn_id) > noise_end, "the answer ended before the noise"
    assert not events.of("turn.cancelled") and not events.of("audio.stop")
    assert len(events.of("transcript.final")) == 1, "the backchannel starts no turn"


async def _pause_once_speculating(
    session: VoiceSession, before: np.ndarray, after: np.ndarray
) -> None:
    """Stream ``before`` (speech, then the start of a pause), wait until the session has an
    answer started on the speculative transcript, then stream ``after``.

    The stt service decides on the audio it has received, not on the clock: holding
    the rest of the pause back until the early answer exists makes the pause long
    enough for it on any machine, however slow its Whisper decode.
    """
    await stream_realtime(session.audio, before)
    await until(lambda: session.speculating, 60, "no answer was started in the pause")
    await stream_realtime(session.audio, after)


def _split(a: np.ndarray, b: np.ndarray, pause_s: float, before_s: float) -> tuple[np.ndarray, ...]:
    """``_joined(a, b, pause_s)`` cut ``before_s`` into the pause (the clips' own 0.1 s each
    side of the joint included)."""
    joined = _joined(a, b, pause_s)
    loud_a = np.flatnonzero(np.abs(a) > 0.02)
    cut = loud_a[-1] + 1600 + int(16_000 * (before_s - 0.1))
    return joined[:cut], joined[cut:]


async def test_a_pause_mid_sentence_drops_the_speculative_answer(
    backends: Backends, recorder: MessageRecorder
) -> None:
    a, b = load_clip("6930-75918-0000"), load_clip("1089-134686-0001")
    events = Collector()
    # a pause past the speculative point (200 ms) but short of the release (600 ms)
    session = _session(backends, events, recorder)
    before, after = _split(a.pcm, b.pcm, 0.3, before_s=0.4)  # + 0.2 s of the clips' own = 0.5 s
    try:
        await _pause_once_speculating(session, before, after)
        final = await events.wait_for("transcript.final", timeout=30)
        done = await events.wait_for("turn.done", timeout=90)
    finally:
        await session.close()
    assert wer(f"{a.text} {b.text}", final.text) <= 0.25, final.text
    assert done.transcript == final.text
    assert len(events.of("transcript.final")) == 1, "the dropped answer never reached the client"
    stored = _stored(recorder, done.conversation_id)
    assert len(stored) == 2 and stored[0] == final.text, stored


async def test_an_answer_started_in_a_long_pause_stops_when_the_person_goes_on(
    backends: Backends, recorder: MessageRecorder
) -> None:
    a, b = load_clip("6930-75918-0000"), load_clip("1089-134686-0001")
    events = Collector()
    # 0.9 s: past the release of a speculative answer (0.6 s), short of the end-point (1 s)
    session = _session(backends, events, recorder, release_after_s=0.6)
    before, after = _split(a.pcm, b.pcm, 0.7, before_s=0.4)  # + 0.2 s of the clips' own = 0.9 s
    try:
        await _pause_once_speculating(session, before, after)
        cancelled = await events.wait_for("turn.cancelled", timeout=30)
        done = await events.wait_for("turn.done", timeout=90)
    finally:
        await session.close()
    first_final = events.of("transcript.final")[0]
    assert cancelled.reason == "resumed" and cancelled.turn_id == first_final.turn_id
    assert wer(a.text, first_final.text) <= 0.25, "the answer had started on the first sentence"
    assert wer(f"{a.text} {b.text}", done.transcript) <= 0.25, done.transcript
    assert events.endings(first_final.turn_id) == ["turn.cancelled"]
    stored = _stored(recorder, done.conversation_id)
    assert len(stored) == 2 and stored[0] == done.transcript, stored


async def test_a_service_killed_mid_turn_gives_a_stage_error_and_the_session_recovers(
    june_stack: Stack, backends: Backends, recorder: MessageRecorder
) -> None:
    events = Collector()
    session = _session(backends, events, recorder, options=LONG)
    try:
        await session.text(LONG_ANSWER)
        await events.wait_for("audio.start", timeout=90)
        june_stack.services["tts"].proc.send_signal(signal.SIGKILL)
        error = await events.wait_for("error", timeout=30)
        assert error.stage == "tts" and "unavailable" in error.message, error
        done = await events.wait_for("turn.done", timeout=120)
        assert done.text.strip(), "the text of the answer still completes"
        await asyncio.to_thread(june_stack.restart, "tts")
        await session.text("Say hello.")
        again = await events.wait_for("turn.done", count=2, timeout=90)
        assert events.audio(again.turn_id), "speech is back once tts is"
    finally:
        await session.close()
        june_stack.restart("tts")
