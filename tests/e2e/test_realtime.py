"""``/v1/realtime`` over a real WebSocket, against the real June (``june_stack``).

The client is June's own (``june.client``), which ``june chat`` and ``june bench
e2e`` use; where a test checks the protocol's exact frames (close codes, the
error event before them) it speaks through ``websockets`` directly. Speech is
a real recording streamed as pcm16; answers are kept short (``max_tokens``).
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import av
import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from june.client import (
    Event,
    RealtimeClient,
    StageFailed,
    TurnResult,
    TurnTimeout,
    pcm16,
    send_pcm,
    text_turn,
    voice_turn,
)
from june.client.realtime import stage_failed
from tests.gateway_users import auth_header, user_token
from tests.speech import load_clip, wer
from tests.stack import Stack
from tests.voice_support import LONG_ANSWER

SHORT = 24
QUESTION = "1089-134686-0010"  # "Well now, Ennis, I declare you have a head and so has my stick."
SILENCE_S = 1.5


@pytest.fixture(scope="module")
def token(june_stack: Stack) -> str:
    return user_token(june_stack, "realtime-user")


@asynccontextmanager
async def session(
    stack: Stack, token: str, max_tokens: int = SHORT, **kwargs: object
) -> AsyncIterator[RealtimeClient]:
    async with RealtimeClient(stack.base_url, token, **kwargs) as client:  # type: ignore[arg-type]
        await client.update(max_tokens=max_tokens)
        yield client


def _samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768


def _decoded(data: bytes) -> tuple[str, int, np.ndarray]:
    """(container format, sample rate, samples) of an encoded answer, read by PyAV."""
    with av.open(io.BytesIO(data)) as box:
        stream = box.streams.audio[0]
        frames = [frame.to_ndarray().reshape(-1) for frame in box.decode(stream)]
        return box.format.name, stream.rate, np.concatenate(frames)


async def _until(
    client: RealtimeClient, kind: str | tuple[str, ...], timeout: float = 60.0
) -> tuple[Event, list[Event]]:
    """The first event of ``kind`` (or of one of the kinds) and every event before it
    (errors included, not raised)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = await client.next(deadline - time.monotonic())
        except TurnTimeout:
            break
        seen.append(event)
        if event.type in kinds:
            return event, seen
        assert event.type != "session.closed", f"closed while waiting for {kind}: {event.data}"
    raise AssertionError(f"no {kind} within {timeout} s; saw {[e.type for e in seen]}")


async def _quiet_for(client: RealtimeClient, seconds: float) -> list[Event]:
    """Every event that comes within ``seconds``."""
    seen: list[Event] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            seen.append(await client.next(left))
        except TurnTimeout:
            break
    return seen


# --------------------------------------------------------------------------- turns
async def test_a_spoken_turn_gives_transcript_answer_audio_and_timings(
    june_stack: Stack, token: str
) -> None:
    clip = load_clip(QUESTION)
    seen: list[Event] = []
    async with session(june_stack, token) as client:
        assert client.session["vad"] is True and client.session["max_tokens"] == SHORT
        result = await voice_turn(
            client, pcm16(clip.pcm), pace=1.0, commit=False, trailing_silence_s=SILENCE_S,
            on_event=seen.append,
        )  # fmt: skip
    assert wer(clip.text, result.transcript) <= 0.2, result.transcript
    kinds = [e.type for e in seen]
    assert "speech.started" in kinds and "transcript.partial" in kinds, kinds
    assert kinds.index("transcript.final") < kinds.index("answer.delta") < kinds.index("turn.done")
    assert result.answer.strip()
    assert result.audio_format == "pcm16" and result.sample_rate == 22_050
    audio = _samples(result.audio)
    assert len(audio) > 0.3 * result.sample_rate and np.abs(audio).max() > 0.05
    for key in ("transcript_s", "first_token_s", "first_audio_s", "done_s", "stt_final_s"):
        assert result.timings[key] >= 0, key
    assert 0 < result.timings["first_audio_s"] <= result.timings["done_s"]
    assert result.first_audio_s is not None and 0 < result.first_audio_s <= result.done_s
    assert result.conversation_id and result.message_id


async def test_a_typed_message_is_answered_in_text_and_voice(june_stack: Stack, token: str) -> None:
    async with session(june_stack, token) as client:
        result = await text_turn(client, "Say hello.")
    assert result.transcript == "Say hello."
    assert result.answer.strip() and result.audio and result.sample_rate == 22_050
    assert result.timings["transcript_s"] == 0.0


@pytest.mark.parametrize(
    ("fmt", "container", "rate"),
    [("wav", "wav", 22_050), ("opus", "ogg", 48_000), ("mp3", "mp3", 22_050)],
)
async def test_the_output_format_is_a_decodable_file_of_that_container(
    june_stack: Stack, token: str, fmt: str, container: str, rate: int
) -> None:
    async with session(june_stack, token, max_tokens=12) as client:
        started = await client.update(output={"format": fmt})
        assert started["output"]["format"] == fmt
        result = await text_turn(client, "Say good morning.")
    assert result.audio_format == fmt and result.sample_rate == rate
    name, decoded_rate, samples = _decoded(result.audio)
    assert container in name.split(","), name
    assert decoded_rate == rate and len(samples) > 0.2 * rate
    assert np.abs(samples).max() > 0.02


async def test_cancel_stops_the_answer(june_stack: Stack, token: str) -> None:
    async with session(june_stack, token, max_tokens=200) as client:
        await client.text(LONG_ANSWER)
        first, _ = await _until(client, "answer.delta", timeout=60)
        await client.cancel()
        # still being written: cancelled; already complete (a fast machine): its playback stops
        stopped, seen = await _until(client, ("turn.cancelled", "audio.stop"), timeout=15)
        assert stopped.turn_id == first.turn_id and stopped.get("reason") == "client"
        later = await _quiet_for(client, 3.0)
        assert not [e for e in later if e.type == "turn.done"], "a cancelled answer never completes"
        assert not [e for e in later if e.type == "answer.delta" and e.turn_id == first.turn_id]
        assert not [e for e in later if e.type == "audio"], "none of its audio follows the stop"
        if stopped.type == "audio.stop":
            assert [e for e in seen if e.type == "turn.done" and e.turn_id == first.turn_id]
        after = await text_turn(client, "Say yes.")  # the session goes on
    assert after.answer.strip() and after.turn_id != first.turn_id


async def _talk_over_a_long_answer(
    stack: Stack, token: str, speech: np.ndarray
) -> tuple[Event, list[Event], TurnResult]:
    """Ask for a long story, and speak (at real time) as soon as its audio starts."""
    async with session(stack, token, max_tokens=200) as client:
        await client.text(LONG_ANSWER)
        first, _ = await _until(client, "audio.start", timeout=90)
        seen: list[Event] = []
        result = await voice_turn(
            client, pcm16(speech), pace=1.0, commit=False, trailing_silence_s=SILENCE_S,
            on_event=seen.append,
        )  # fmt: skip
    return first, seen, result


async def test_speech_over_the_answer_interrupts_it_and_is_answered(
    june_stack: Stack, token: str
) -> None:
    clip = load_clip(QUESTION)
    first, seen, result = await _talk_over_a_long_answer(june_stack, token, clip.pcm)
    # Still being written, the answer is cancelled; already complete but still playing
    # (synthesis runs ahead of playback), its playback is stopped. Either way once.
    stops = [
        e for e in seen if e.type in ("turn.cancelled", "audio.stop") and e.turn_id == first.turn_id
    ]
    assert len(stops) == 1 and stops[0].get("reason") == "barge_in", [e.data for e in stops]
    after = seen[seen.index(stops[0]) + 1 :]
    # nothing of the interrupted answer after its stop: no text, no ending, no audio frame
    # before the next answer's audio.start
    assert not [e for e in after if e.turn_id == first.turn_id], [e.data for e in after]
    next_start = next((i for i, e in enumerate(after) if e.type == "audio.start"), len(after))
    assert not [e for e in after[:next_start] if e.type == "audio"]
    assert wer(clip.text, result.transcript) <= 0.2, result.transcript
    assert result.answer.strip() and result.turn_id != first.turn_id


# ---------------------------------------------------------------------------- auth
@pytest.mark.parametrize("via", ["query", "subprotocol"])
async def test_the_token_may_come_as_a_query_parameter_or_a_subprotocol(
    june_stack: Stack, token: str, via: str
) -> None:
    async with RealtimeClient(june_stack.base_url, token, token_via=via) as client:  # type: ignore[arg-type]
        assert client.session["session_id"]
        assert client.subprotocol == "june.v1"
        await client.ping()
        await client.wait_for("pong", timeout=10)


def _ws_url(stack: Stack, query: str = "") -> str:
    return f"{stack.ws_url}/v1/realtime{query}"


async def _refusal(
    url: str, headers: dict[str, str] | None = None
) -> tuple[dict[str, object], int]:
    """The error event and the close code of a refused socket."""
    async with connect(url, additional_headers=headers or {}, proxy=None) as ws:
        event = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code is not None
        return event, ws.close_code


@pytest.mark.parametrize("bearer", [None, "not-a-token", "june_" + "x" * 43])
async def test_no_or_a_bad_token_gets_an_auth_error_and_4401(
    june_stack: Stack, bearer: str | None
) -> None:
    headers = auth_header(bearer) if bearer else None
    event, code = await _refusal(_ws_url(june_stack), headers)
    assert event["type"] == "error" and event["stage"] == "auth", event
    assert event["message"]
    assert code == 4401


@pytest.mark.parametrize("conversation", [str(uuid.uuid4()), "not-a-uuid"])
async def test_an_unknown_conversation_closes_with_4404(
    june_stack: Stack, token: str, conversation: str
) -> None:
    event, code = await _refusal(
        _ws_url(june_stack, f"?conversation_id={conversation}"), auth_header(token)
    )
    assert event["type"] == "error" and event["stage"] == "session", event
    assert code == 4404


# ------------------------------------------------------------------ bad messages
async def test_bad_frames_get_an_error_and_the_session_goes_on(
    june_stack: Stack, token: str
) -> None:
    async with session(june_stack, token, max_tokens=12) as client:
        for frame in ("{not json", json.dumps({"type": "shout"}), json.dumps([1, 2])):
            await client.send_raw(frame)
            error, _ = await _until(client, "error", timeout=10)
            assert error.get("stage") == "session" and error.get("code") == "invalid_message"
        await client.send_raw(bytes(1_048_577))  # one byte over the frame limit
        error, _ = await _until(client, "error", timeout=10)
        assert error.get("code") == "frame_too_large" and "limit" in str(error.get("message"))
        await client.send_json({"type": "session.update", "max_tokens": -1})
        error, _ = await _until(client, "error", timeout=10)
        assert "max_tokens" in str(error.get("message"))
        result = await text_turn(client, "Say hello.")
    assert result.answer.strip()


async def test_ping_is_answered_with_pong(june_stack: Stack, token: str) -> None:
    async with RealtimeClient(june_stack.base_url, token) as client:
        await client.ping()
        pong = await client.wait_for("pong", timeout=10)
    assert pong.type == "pong"


# ------------------------------------------------------------------- reconnecting
async def test_reconnecting_with_the_conversation_id_continues_it(
    june_stack: Stack, token: str
) -> None:
    async with session(june_stack, token, max_tokens=12) as client:
        first = await text_turn(client, "My name is Ada.")
    assert first.conversation_id
    async with session(
        june_stack, token, max_tokens=12, conversation_id=first.conversation_id
    ) as client:
        assert client.session["conversation_id"] == first.conversation_id
        second = await text_turn(client, "What is my name?")
    assert second.conversation_id == first.conversation_id
    response = httpx.get(
        f"{june_stack.base_url}/v1/conversations/{first.conversation_id}",
        headers=auth_header(token),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    messages = [(m["role"], m["text"]) for m in response.json()["messages"]]
    assert messages[0] == ("user", "My name is Ada.")
    assert ("user", "What is my name?") in messages
    assert [role for role, _ in messages] == ["user", "assistant", "user", "assistant"], messages


# ------------------------------------------------------------ a service that dies
async def _answers_again(client: RealtimeClient) -> TurnResult:
    result = await text_turn(client, "Say hello.")
    assert result.answer.strip() and result.audio
    return result


async def test_inference_killed_mid_answer_gives_an_llm_error_and_the_session_recovers(
    june_stack: Stack, token: str
) -> None:
    try:
        async with session(june_stack, token, max_tokens=200) as client:
            await client.text(LONG_ANSWER)
            await _until(client, "answer.delta", timeout=60)
            june_stack.services["inference"].proc.send_signal(signal.SIGKILL)
            error, _ = await _until(client, "error", timeout=30)
            assert error.get("stage") == "llm" and "unavailable" in str(error.get("message")), (
                error.data
            )
            await client.ping()  # the session is still open
            await client.wait_for("pong", timeout=10)
            await asyncio.to_thread(june_stack.restart, "inference")
            await _answers_again(client)
    finally:
        june_stack.restart("inference")


async def test_stt_killed_mid_speech_gives_an_stt_error_and_the_session_recovers(
    june_stack: Stack, token: str
) -> None:
    clip = load_clip(QUESTION)
    try:
        async with session(june_stack, token, max_tokens=SHORT) as client:
            sending = asyncio.create_task(send_pcm(client, pcm16(clip.pcm), pace=1.0))
            await _until(client, "transcript.partial", timeout=30)
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            await client.ping()  # answered once the gateway has handled every frame before it,
            await client.wait_for("pong", timeout=10)  # so no audio reaches a dead stt
            june_stack.services["stt"].proc.send_signal(signal.SIGKILL)
            error, _ = await _until(client, "error", timeout=30)
            assert error.get("stage") == "stt" and "unavailable" in str(error.get("message")), (
                error.data
            )
            await client.ping()
            await client.wait_for("pong", timeout=10)
            await asyncio.to_thread(june_stack.restart, "stt")
            await client.update(vad=False)
            again = await voice_turn(client, pcm16(clip.pcm), pace=0.0, commit=True)
        assert wer(clip.text, again.transcript) <= 0.2, again.transcript
        assert again.answer.strip()
    finally:
        june_stack.restart("stt")


async def test_committed_audio_that_is_not_audio_gets_an_stt_error(
    june_stack: Stack, token: str
) -> None:
    """Bad input gets an error that names the stage (DESIGN.md, docs/realtime.md), not silence.

    Encoded input FFmpeg cannot read, then ``input_audio.commit``: the client
    must learn that the stt stage failed (or timed out), within the stage
    timeout (30 s), and the session must go on.
    """
    async with session(june_stack, token, max_tokens=12) as client:
        await client.update(input={"format": "encoded"}, vad=False)
        await client.send_audio(b"this is a text file, not a recording\n" * 200)
        await client.commit()
        error, _ = await _until(client, "error", timeout=45)
        assert error.get("stage") == "stt", error.data
        assert str(stage_failed(error)).startswith("stt failed")
        await client.update(input={"format": "pcm16"})
        await _answers_again(client)


def test_the_turn_helper_raises_stage_errors_except_tts_whose_text_completes() -> None:
    """How ``voice_turn``/``text_turn`` read an ``error`` event (no server needed)."""
    from june.client.turns import _Collector

    collector = _Collector()
    collector.see(Event("transcript.final", 1.0, {"type": "transcript.final", "turn_id": "t"}))
    tts = {"type": "error", "stage": "tts", "code": "unavailable", "message": "x", "turn_id": "t"}
    collector.see(Event("error", 1.1, tts))  # kept: the text answer still completes
    assert [e.stage for e in collector.errors] == ["tts"]
    llm = {**tts, "stage": "llm", "message": "language model is unavailable"}
    with pytest.raises(StageFailed) as failed:
        collector.see(Event("error", 1.2, llm))
    assert failed.value.stage == "llm" and failed.value.code == "unavailable"
    assert str(failed.value) == "llm failed (unavailable): language model is unavailable"


# ------------------------------------------------------------------------- sources
async def test_an_answer_names_the_documents_it_was_given_and_keeps_them(
    june_stack: Stack,
) -> None:
    """The chunks retrieved for a question come with ``turn.done`` and stay on the stored
    answer, so the person sees which of their documents June used, then and later."""
    name = f"sources-{uuid.uuid4().hex[:8]}"
    token = user_token(june_stack, name)
    note = "# Shed\nThe key of the garden shed hangs on the hook behind the kitchen door.\n"
    uploaded = httpx.post(
        f"{june_stack.base_url}/v1/documents",
        files={"file": ("shed-notes.md", note.encode(), "text/markdown")},
        headers=auth_header(token),
        timeout=120,
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    document_id = uploaded.json()["id"]
    async with session(june_stack, token) as client:
        await client.text("Where is the key of the garden shed?")
        done, _ = await _until(client, "turn.done", timeout=120)
    sources = done.get("sources")
    assert sources and {s["document_name"] for s in sources} == {"shed-notes.md"}, sources
    assert all(s["document_id"] == document_id and 0 < s["score"] <= 1 for s in sources)
    stored = httpx.get(
        f"{june_stack.base_url}/v1/conversations/{done.get('conversation_id')}/messages",
        headers=auth_header(token),
        timeout=30,
    ).json()["data"]
    answer = next(m for m in stored if m["id"] == done.get("message_id"))
    assert answer["sources"] == sources
    question = next(m for m in stored if m["role"] == "user")
    assert question["sources"] == []
