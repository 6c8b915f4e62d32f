"""One turn over a realtime session, measured from the client's side.

:func:`voice_turn` sends speech (16 kHz mono pcm16), ends it the way a client
would (``input_audio.commit`` for push-to-talk, or silence for the server's
end-pointing), and collects the answer; :func:`text_turn` does the same for a
typed message. The result holds what a person got — transcript, answer text,
answer audio — the server's own ``timings`` and the latencies a person would
feel, measured here: from the end of speech (when the last chunk of speech was
sent) to the first answer audio frame received, and to ``turn.done``.

Only the last turn the server started is the answer: with end-pointing on, a
pause in the speech may start an earlier turn that the rest of the speech then
interrupts (``turn.cancelled``), and its audio is dropped as a player would.
"""

from __future__ import annotations

import asyncio
import io
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from june.client.errors import SessionClosed, StageFailed, TurnTimeout
from june.client.realtime import Event, RealtimeClient, stage_failed

SAMPLE_RATE = 16_000
CHUNK_S = 0.1
#: After the end of speech, a transcript must come within this long (else: nothing was heard).
TRANSCRIPT_TIMEOUT_S = 30.0


@dataclass
class TurnResult:
    turn_id: str
    transcript: str
    answer: str
    conversation_id: str
    message_id: str
    #: Answer audio as received: its format (``pcm16``, ``wav``, ``opus``, ``mp3``) and rate.
    audio: bytes
    audio_format: str
    sample_rate: int
    channels: int
    #: The server's ``turn.done`` timings (seconds; see docs/realtime.md).
    timings: dict[str, float]
    #: perf_counter when the speech ended (last speech chunk sent) or the text was sent.
    speech_end_at: float
    #: Client-side seconds from ``speech_end_at`` to each step (None: it never came).
    transcript_s: float | None
    first_text_s: float | None
    first_audio_s: float | None
    done_s: float
    #: Non-fatal stage errors (tts failing leaves the text answer complete).
    errors: list[StageFailed] = field(default_factory=list)
    #: Turns the server started and cancelled on the way (barge-in by a pause in the speech).
    cancelled: list[str] = field(default_factory=list)

    def client_timings(self) -> dict[str, float | None]:
        return {
            "transcript_s": self.transcript_s,
            "first_text_s": self.first_text_s,
            "first_audio_s": self.first_audio_s,
            "done_s": self.done_s,
        }

    def wav(self) -> bytes:
        """The answer audio as a WAV file (pcm16 is wrapped; a ``wav`` answer is kept)."""
        if self.audio_format == "wav":
            return self.audio
        if self.audio_format != "pcm16":
            raise ValueError(f"the answer audio is {self.audio_format}, not pcm16")
        return pcm16_wav(self.audio, self.sample_rate or 22_050, self.channels or 1)


def pcm16(pcm: np.ndarray) -> bytes:
    """float32 in [-1, 1] → s16le bytes."""
    return (np.clip(pcm, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def pcm16_wav(data: bytes, sample_rate: int, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(data)
    return buffer.getvalue()


async def send_pcm(
    client: RealtimeClient,
    data: bytes,
    *,
    pace: float = 0.0,
    chunk_s: float = CHUNK_S,
    sample_rate: int = SAMPLE_RATE,
) -> float:
    """Send s16le mono ``data`` in ``chunk_s`` chunks; ``pace`` 1 = real time, 0 = at once.

    At real time a chunk leaves once all of it has been "spoken" (as a
    microphone would deliver it). Returns perf_counter after the last chunk.
    """
    step = max(2, int(sample_rate * chunk_s) * 2)
    start = time.perf_counter()
    for i, offset in enumerate(range(0, len(data), step)):
        if pace > 0:
            delay = start + (i + 1) * chunk_s * pace - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await client.send_audio(data[offset : offset + step])
    return time.perf_counter()


class _Collector:
    """Follows the events of a turn (and of any turn it replaced) until its ``turn.done``."""

    def __init__(self) -> None:
        self.finals: dict[str, Event] = {}
        self.latest = ""
        self.text: dict[str, list[str]] = {}
        self.first_text: dict[str, float] = {}
        self.audio: dict[str, list[bytes]] = {}
        self.first_audio: dict[str, float] = {}
        self.audio_start: dict[str, Event] = {}
        self.cancelled: list[str] = []
        self.done: dict[str, Event] = {}
        self.errors: list[StageFailed] = []
        self._audio_turn = ""

    def see(self, event: Event) -> None:
        kind, turn = event.type, event.turn_id
        if kind == "transcript.final":
            self.finals[turn] = event
            self.latest = turn
        elif kind == "answer.delta":
            self.text.setdefault(turn, []).append(str(event.get("text", "")))
            self.first_text.setdefault(turn, event.at)
        elif kind == "audio.start":
            self.audio_start[turn] = event
            self._audio_turn = turn
        elif kind == "audio":
            if self._audio_turn:
                self.audio.setdefault(self._audio_turn, []).append(event.audio)
                self.first_audio.setdefault(self._audio_turn, event.at)
        elif kind == "turn.cancelled":
            self.cancelled.append(turn)
            if turn == self._audio_turn:
                self._audio_turn = ""  # what is still queued of it is dropped
        elif kind == "audio.stop" and turn == self._audio_turn:
            self._audio_turn = ""  # an answer already done, stopped while it played
        elif kind == "turn.done":
            self.done[turn] = event
        elif kind == "error":
            failure = stage_failed(event)
            if failure.stage != "tts":
                raise failure  # no turn.done follows an stt, llm or session failure
            self.errors.append(failure)
        elif kind == "session.closed":
            raise SessionClosed(event.get("code"), event.get("reason", ""))

    def result(self, speech_end_at: float) -> TurnResult:
        turn = self.latest
        done = self.done[turn]
        start = self.audio_start.get(turn)

        def since(at: float | None) -> float | None:
            return None if at is None else round(at - speech_end_at, 4)

        final = self.finals.get(turn)
        timings = {k: float(v) for k, v in (done.get("timings") or {}).items()}
        return TurnResult(
            turn_id=turn,
            transcript=str(done.get("transcript", final.get("text", "") if final else "")),
            answer=str(done.get("text", "")) or "".join(self.text.get(turn, [])),
            conversation_id=str(done.get("conversation_id", "")),
            message_id=str(done.get("message_id", "")),
            audio=b"".join(self.audio.get(turn, [])),
            audio_format=str(start.get("format", "")) if start else "",
            sample_rate=int(start.get("sample_rate", 0)) if start else 0,
            channels=int(start.get("channels", 1)) if start else 1,
            timings=timings,
            speech_end_at=speech_end_at,
            transcript_s=since(final.at if final else None),
            first_text_s=since(self.first_text.get(turn)),
            first_audio_s=since(self.first_audio.get(turn)),
            done_s=round(done.at - speech_end_at, 4),
            errors=list(self.errors),
            cancelled=[t for t in self.cancelled if t != turn],
        )


async def _collect(
    client: RealtimeClient,
    collector: _Collector,
    sent: asyncio.Future[float],
    timeout_s: float,
    on_event: Callable[[Event], Any] | None,
) -> TurnResult:
    """Read events until the latest turn is done and all input has been sent."""
    deadline = time.monotonic() + timeout_s
    while True:
        failed = sent.exception() if sent.done() else None
        if failed is not None:
            raise failed
        if sent.done() and collector.latest and collector.latest in collector.done:
            return collector.result(sent.result())
        if sent.done() and not collector.latest:
            waited = time.perf_counter() - sent.result()
            if waited > TRANSCRIPT_TIMEOUT_S:
                raise TurnTimeout(
                    f"no transcript {TRANSCRIPT_TIMEOUT_S:g} s after the end of speech: "
                    "was anything said?"
                )
        if time.monotonic() > deadline:
            raise TurnTimeout(f"the turn did not complete within {timeout_s:g} s")
        try:
            event = await client.next(0.1)
        except TurnTimeout:
            continue
        if on_event is not None:
            on_event(event)
        collector.see(event)


async def voice_turn(
    client: RealtimeClient,
    speech: bytes,
    *,
    pace: float = 0.0,
    commit: bool = True,
    trailing_silence_s: float = 0.0,
    chunk_s: float = CHUNK_S,
    timeout_s: float = 180.0,
    on_event: Callable[[Event], Any] | None = None,
) -> TurnResult:
    """Speak ``speech`` (16 kHz mono s16le) and return the answer to it.

    ``commit``: send ``input_audio.commit`` right after the last chunk
    (push-to-talk released). ``trailing_silence_s``: then send that much
    silence at the same pace, for the server's end-pointing to end the
    utterance. The end of speech is when the last chunk of ``speech`` went
    out. Raises :class:`StageFailed` on an stt/llm/session ``error`` event
    (a tts failure is kept in ``errors``: the text answer still completes).
    """
    collector = _Collector()
    sent: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def send() -> None:
        try:
            end = await send_pcm(client, speech, pace=pace, chunk_s=chunk_s)
            if commit:
                await client.commit()
            if trailing_silence_s > 0:
                silence = bytes(2 * int(SAMPLE_RATE * trailing_silence_s))
                await send_pcm(client, silence, pace=pace, chunk_s=chunk_s)
        except Exception as exc:  # the socket went away: the reader says how it closed
            sent.set_exception(SessionClosed(None, f"sending failed: {exc}"))
            return
        sent.set_result(end)

    sender = asyncio.create_task(send(), name="voice-turn-send")
    try:
        return await _collect(client, collector, sent, timeout_s, on_event)
    finally:
        if not sender.done():
            sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)


async def text_turn(
    client: RealtimeClient,
    text: str,
    *,
    timeout_s: float = 180.0,
    on_event: Callable[[Event], Any] | None = None,
) -> TurnResult:
    """Send a typed message and return the answer (``on_event`` sees deltas as they come)."""
    collector = _Collector()
    sent: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    await client.text(text)
    sent.set_result(time.perf_counter())
    return await _collect(client, collector, sent, timeout_s, on_event)
