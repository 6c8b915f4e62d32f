"""A voice session: the person's audio in, turn after turn of answers out.

Used by every transport (the WebSocket route, the Telegram bot): they feed it
audio, commits, typed text and cancels, and send on the events it emits.

One stt stream stays open for the session, so Whisper decodes the utterance
while it is spoken and only its tail remains at the end of speech. The stt
service sends a *speculative* transcript 200 ms into a silence; the session
starts answering it at once, held (nothing reaches the client), and confirms
it when the final transcript says the same — or drops it when speech resumes
or the final differs. So the answer's first audio can be ready the moment the
end-point is reached, not an LLM and a TTS latency later.

Speech over June's answer is a barge-in only when :class:`BargeInPolicy` says
so (long enough, and not a backchannel); then the answer stops at once and the
new utterance is answered.
"""

from __future__ import annotations

import asyncio
import bisect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import grpc
import structlog

from june.protos import asr_pb2, llm_pb2
from june.stt.client import SttClient
from june.tasks import join, stop
from june.voice import metrics
from june.voice.bargein import BargeInPolicy
from june.voice.events import (
    SpeechStarted,
    StageError,
    TranscriptFinal,
    TranscriptPartial,
    VoiceEvent,
)
from june.voice.turn import (
    Backends,
    Emit,
    OutputSpec,
    Recorder,
    TurnRequest,
    VoiceTurn,
    default_first_piece,
    stage_error,
)

log = structlog.get_logger(__name__)

#: An end-point so long that only ``input_audio.commit`` ends an utterance (vad off).
_NO_ENDPOINT_MS = 3_600_000
_NO_SPEECH = "no speech was heard before the commit"


class SessionBackends(Backends, Protocol):
    stt: SttClient


@dataclass(frozen=True)
class InputSpec:
    #: ``pcm16``: s16le at ``sample_rate`` / ``channels``; ``encoded``: any container the
    #: stt service decodes (WebM/Opus from MediaRecorder, OGG/Opus ...), detected from the bytes.
    format: Literal["pcm16", "encoded"] = "pcm16"
    sample_rate: int = 16_000
    channels: int = 1

    def config(self) -> asr_pb2.RecognitionConfig:
        if self.format == "encoded":
            return asr_pb2.RecognitionConfig(encoding=asr_pb2.AUDIO_ENCODING_UNSPECIFIED)
        return asr_pb2.RecognitionConfig(
            encoding=asr_pb2.AUDIO_ENCODING_PCM_S16LE,
            sample_rate_hz=self.sample_rate,
            channels=self.channels,
        )

    def duration_s(self, nbytes: int) -> float | None:
        if self.format != "pcm16":
            return None
        return nbytes / (2 * self.channels * self.sample_rate)


@dataclass
class SessionConfig:
    user_id: str
    conversation_id: str = ""
    input: InputSpec = field(default_factory=InputSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    #: True: the stt service's end-pointing ends utterances; False: only commit does.
    vad: bool = True
    #: Start answering on the speculative transcript (see the module docstring).
    speculative: bool = True
    #: Raw PCM only: play a speculative answer once the silence lasts this long, before the
    #: final confirms it (0: wait for the final). If the person goes on, it stops.
    release_after_s: float = 0.6
    #: The stt service's tail: a transcript's ``end_s`` lies this far past the speech.
    stt_tail_s: float = 0.2
    barge_in: BargeInPolicy = field(default_factory=BargeInPolicy)
    stage_timeout_s: float = 30.0
    options: llm_pb2.ChatOptions = field(default_factory=llm_pb2.ChatOptions)
    #: The tts service's (first clause chars, first max chars), see ``TurnRequest.first_piece``.
    first_piece: tuple[int, int] = field(default_factory=lambda: default_first_piece())


class _SttStream:
    """The session's RecognizeStream: audio in through a queue, events to ``on_event``."""

    def __init__(
        self,
        client: SttClient,
        config: SessionConfig,
        on_event: Callable[[asr_pb2.RecognizeStreamResponse], Awaitable[None]],
        on_error: Callable[[grpc.aio.AioRpcError], Awaitable[None]],
    ) -> None:
        self.input = config.input
        self._queue: asyncio.Queue[asr_pb2.RecognizeStreamRequest | None] = asyncio.Queue()
        self._on_event, self._on_error = on_event, on_error
        #: (seconds of audio received, perf_counter on arrival), for raw PCM input.
        self._clock: list[tuple[float, float]] = []
        self.received_s = 0.0
        stream_config = asr_pb2.StreamConfig(
            config=config.input.config(),
            interim_results=True,
            endpoint_silence_ms=0 if config.vad else _NO_ENDPOINT_MS,
        )
        self._queue.put_nowait(asr_pb2.RecognizeStreamRequest(config=stream_config))
        self._call = client.stub.RecognizeStream(self._requests())
        self.task = asyncio.create_task(self._run(), name="stt-stream")

    async def _requests(self) -> AsyncIterator[asr_pb2.RecognizeStreamRequest]:
        while (request := await self._queue.get()) is not None:
            yield request

    async def _run(self) -> None:
        try:
            async for response in self._call:
                try:
                    await self._on_event(response)
                except Exception:  # one bad event must not end the session's recognition
                    log.exception("voice.stt_event_failed", event=response.WhichOneof("event"))
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                await self._on_error(error)

    @property
    def alive(self) -> bool:
        return not self.task.done()

    def audio(self, data: bytes) -> None:
        duration = self.input.duration_s(len(data))
        if duration is not None:
            self.received_s += duration
            self._clock.append((self.received_s, time.perf_counter()))
        self._queue.put_nowait(asr_pb2.RecognizeStreamRequest(audio=data))

    def flush(self) -> None:
        self._queue.put_nowait(asr_pb2.RecognizeStreamRequest(flush=asr_pb2.Flush()))

    def end(self) -> None:
        """No more audio on this stream: the service finishes it (final, or an error) and
        closes it; the reader goes on until then."""
        self._queue.put_nowait(asr_pb2.RecognizeStreamRequest(end=asr_pb2.EndOfInput()))
        self._queue.put_nowait(None)

    def spoken_at(self, audio_s: float) -> float | None:
        """When the sample at ``audio_s`` was spoken (perf_counter), for raw PCM input.

        A chunk arrives once its last sample is captured, so a sample ``d`` seconds
        before a chunk's end was spoken ``d`` seconds before the chunk arrived.
        """
        if not self._clock:
            return None
        i = bisect.bisect_left(self._clock, (audio_s, 0.0))
        end_s, arrived = self._clock[min(i, len(self._clock) - 1)]
        return arrived - max(0.0, end_s - audio_s)

    async def close(self) -> None:
        self._queue.put_nowait(asr_pb2.RecognizeStreamRequest(end=asr_pb2.EndOfInput()))
        self._queue.put_nowait(None)
        await join(self.task, timeout=2.0)  # its last events, if the service sends them soon
        self._call.cancel()
        await stop(self.task)


class VoiceSession:
    def __init__(
        self,
        backends: SessionBackends,
        config: SessionConfig,
        emit: Emit,
        recorder: Recorder | None = None,
    ) -> None:
        self.backends = backends
        self.config = config
        self._emit = emit
        self._recorder = recorder
        self.conversation_id = config.conversation_id
        self._lock = asyncio.Lock()
        self._stt: _SttStream | None = None
        self._active: VoiceTurn | None = None
        self._speculative: VoiceTurn | None = None
        self._speculative_at: tuple[int, float] = (-1, 0.0)  # utterance, end_s
        #: A speculative answer released before its final (see ``release_after_s``).
        self._provisional: VoiceTurn | None = None
        self._provisional_utterance = -1
        self._utterance_start: dict[int, float] = {}
        self._committed_at = 0.0
        self._in_utterance = False
        #: The stream a commit ended, whose final (or "nothing heard") is due.
        self._awaiting: _SttStream | None = None
        self._stt_deadline: asyncio.Task[None] | None = None
        self.turns = 0

    # ------------------------------------------------------------ client side
    async def audio(self, data: bytes) -> None:
        if not data:
            return
        async with self._lock:
            if self._stt is None or not self._stt.alive:
                self._stt = _SttStream(
                    self.backends.stt, self.config, self._on_stt_event, self._on_stt_error
                )
            self._stt.audio(data)
            await self._release_if_silent()

    async def commit(self) -> None:
        """End of speech now (push-to-talk released): finish the utterance and answer it.

        The stt stream is ended, not just flushed: the service then decodes all
        it was sent (an encoded recording is finished, or found not to be audio)
        and says ``done``, so "nothing was heard" is known for sure (an ``error``
        with code ``no_speech``). The next audio opens a new stream.
        """
        async with self._lock:
            stt = self._stt
            if stt is None or not stt.alive:
                await self._emit(StageError("stt", "no_speech", _NO_SPEECH))
                return
            self._committed_at = time.perf_counter()
            stt.end()
            self._stt = None
            self._awaiting = stt
            self._arm_stt_deadline()

    async def text(self, text: str) -> None:
        """A typed message, answered like a spoken one (no stt stage)."""
        now = time.perf_counter()
        async with self._lock:
            await self._drop_speculative()
            if self._active is not None and not self._active.done:
                await self._active.cancel("replaced")
            await self._start_turn(text.strip(), speech_end_at=now, transcript_at=now)

    async def cancel(self) -> None:
        async with self._lock:
            await self._drop_speculative()
            if self._active is not None:
                await self._active.cancel("client")
                self._active = None

    async def reconfigure(self, config: SessionConfig) -> None:
        """New input/output settings: the next audio opens a new stt stream with them."""
        async with self._lock:
            self.config = config
            stt, self._stt = self._stt, None
        if stt is not None:  # outside the lock: its last events take the lock
            await stt.close()

    async def close(self) -> None:
        """The client went away: drop speculation, let a confirmed answer finish and be stored."""
        async with self._lock:
            await self._drop_speculative()
            provisional, self._provisional = self._provisional, None
            if provisional is not None:  # the answer playing stays: the client is gone anyway
                await provisional.settle(time.perf_counter())
            if self._stt_deadline is not None:
                self._stt_deadline.cancel()
            stt, self._stt = self._stt, None
            awaiting, self._awaiting = self._awaiting, None
            active = self._active
        for stream in (stt, awaiting):
            if stream is not None:
                await stream.close()
        if stt is not None:
            await self._drop_speculative()  # one its last events may have started
        if active is not None:
            await active.detach()
            await active.wait()

    @property
    def speculating(self) -> bool:
        """An answer to a speculative transcript is being prepared, held back from the client.

        What a client sees of it comes only later (when it is released), so this is
        how a caller, a test above all, knows that the early answer exists without
        racing the speed of the stt decode.
        """
        return self._speculative is not None

    async def wait_idle(self) -> None:
        """Until the current answer (if any) is complete: for tests and one-shot clients."""
        if self._active is not None:
            await self._active.wait()

    # -------------------------------------------------------------- stt side
    async def _on_stt_event(self, response: asr_pb2.RecognizeStreamResponse) -> None:
        kind = response.WhichOneof("event")
        async with self._lock:
            if kind == "speech_started":
                started = response.speech_started
                self._utterance_start[started.utterance_index] = started.start_s
                self._in_utterance = True
                await self._emit(SpeechStarted(started.utterance_index))
            elif kind == "partial":
                await self._on_partial(response.partial)
            elif kind == "final":
                self._in_utterance = False
                if self._stt_deadline is not None:
                    self._stt_deadline.cancel()
                await self._on_final(response.final)
                if response.final.text.strip():
                    self._awaiting = None
            elif kind == "done" and self._awaiting is not None:
                self._awaiting = None
                if self._stt_deadline is not None:
                    self._stt_deadline.cancel()
                await self._emit(StageError("stt", "no_speech", _NO_SPEECH))

    async def _on_stt_error(self, error: grpc.aio.AioRpcError) -> None:
        async with self._lock:
            await self._drop_speculative()
            self._stt = None  # the next audio opens a new stream (e.g. after a restart)
            self._awaiting = None
            if self._stt_deadline is not None:
                self._stt_deadline.cancel()
            failure = stage_error("stt", error)
            metrics.STAGE_ERRORS.labels(failure.stage, failure.code).inc()
            await self._emit(failure)

    def _speaking(self) -> bool:
        return self._active is not None and self._active.speaking(time.perf_counter())

    def _speech_s(self, utterance: int, end_s: float) -> float:
        return end_s - self._utterance_start.get(utterance, end_s)

    async def _on_partial(self, partial: asr_pb2.PartialTranscript) -> None:
        text = partial.text.strip()
        utterance, end_s = self._speculative_at
        same = partial.utterance_index == utterance
        if not partial.speculative and same and partial.end_s >= end_s:
            await self._drop_speculative()  # the person went on speaking
            await self._drop_provisional()
        if self._speaking():
            speech_s = self._speech_s(partial.utterance_index, partial.end_s)
            if self.config.barge_in.interrupts(speech_s, text):
                await self._interrupt()
        if not partial.speculative:
            await self._emit(TranscriptPartial(text, partial.utterance_index))
            return
        if self._speaking() or not self.config.speculative or not text:
            return
        if self._speculative is not None:
            if self._speculative.request.transcript == text:
                return
            await self._drop_speculative()
        self._speculative_at = (partial.utterance_index, partial.end_s)
        self._speculative = await self._start_turn(
            text,
            speech_end_at=self._spoken_at(partial.end_s),
            transcript_at=time.perf_counter(),
            held=True,
        )

    async def _release_if_silent(self) -> None:
        """Play the held speculative answer once the silence has lasted ``release_after_s``."""
        spec, stt = self._speculative, self._stt
        if spec is None or stt is None or not self.config.release_after_s:
            return
        if stt.input.format != "pcm16":  # no clock before decoding: wait for the final
            return
        utterance, end_s = self._speculative_at
        silent_s = stt.received_s - (end_s - self.config.stt_tail_s)
        if silent_s < self.config.release_after_s:
            return
        self._speculative = None
        self._provisional, self._provisional_utterance = spec, utterance
        self._active = spec
        self.turns += 1
        await spec.release(time.perf_counter())

    async def _drop_provisional(self) -> None:
        """The person went on after a speculative answer started playing: stop it."""
        turn, self._provisional = self._provisional, None
        if turn is not None:
            if self._active is turn:
                self._active = None
            await turn.cancel("resumed")

    async def _on_final(self, final: asr_pb2.Transcript) -> None:
        text = final.text.strip()
        now = time.perf_counter()
        provisional = self._provisional
        if provisional is not None and final.utterance_index == self._provisional_utterance:
            self._provisional = None
            if provisional.request.transcript == text:
                await provisional.settle(now)  # the answer already playing was right
                return
            if self._active is provisional:
                self._active = None
            await provisional.cancel("resumed")
        if self._speaking():
            if not self.config.barge_in.interrupts(final.end_s - final.start_s, text):
                await self._drop_speculative()  # a backchannel or a noise: June goes on
                return
            await self._interrupt()
        speculative = self._speculative
        same = (
            speculative is not None
            and self._speculative_at[0] == final.utterance_index
            and speculative.request.transcript == text
        )
        if speculative is not None and same:
            self._speculative = None
            self._active = speculative
            self.turns += 1
            if self._awaiting is not None and self._committed_at:  # push-to-talk: see below
                speculative.request.speech_end_at = self._committed_at
            await speculative.confirm(now)
            return
        await self._drop_speculative()
        if not text:
            return
        # Push-to-talk: the release is the end of speech the person chose (and what a
        # client measures from); hands-free: when the voice stopped, from the PCM clock.
        committed = self._awaiting is not None and self._committed_at
        speech_end = self._committed_at if committed else self._spoken_at(final.end_s)
        await self._start_turn(text, speech_end_at=speech_end, transcript_at=now)

    def _spoken_at(self, audio_s: float) -> float:
        """When the speech of a transcript ending at ``audio_s`` (tail included) ended: from
        the PCM clock, else the commit or now (encoded input has no clock before decoding)."""
        speech_end_s = max(0.0, audio_s - self.config.stt_tail_s)
        stream = self._awaiting or self._stt  # a committed stream's events come last
        spoken = stream.spoken_at(speech_end_s) if stream is not None else None
        if spoken is not None:
            return spoken
        committed, self._committed_at = self._committed_at, 0.0
        return committed or time.perf_counter()

    def _arm_stt_deadline(self) -> None:
        if self._stt_deadline is not None:
            self._stt_deadline.cancel()
        timeout = self.config.stage_timeout_s

        async def expire() -> None:
            await asyncio.sleep(timeout)
            message = f"speech recognition did not answer within {timeout:g} s"
            await self._emit(StageError("stt", "timeout", message))

        self._stt_deadline = asyncio.create_task(expire())

    # ----------------------------------------------------------------- turns
    async def _interrupt(self) -> None:
        if self._active is not None:
            log.info("voice.barge_in", turn_id=self._active.turn_id)
            await self._active.cancel("barge_in")
            self._active = None

    async def _drop_speculative(self) -> None:
        speculative, self._speculative = self._speculative, None
        if speculative is not None:
            await speculative.cancel()

    def _adopt_conversation(self, conversation_id: str) -> None:
        if conversation_id:
            self.conversation_id = conversation_id

    async def _start_turn(
        self, text: str, *, speech_end_at: float, transcript_at: float, held: bool = False
    ) -> VoiceTurn:
        turn_id = uuid.uuid4().hex[:16]
        request = TurnRequest(
            turn_id=turn_id,
            user_id=self.config.user_id,
            transcript=text,
            conversation_id=self.conversation_id,
            output=self.config.output,
            options=self.config.options,
            speech_end_at=speech_end_at,
            transcript_at=transcript_at,
            stage_timeout_s=self.config.stage_timeout_s,
            first_piece=self.config.first_piece,
        )
        turn = VoiceTurn(
            self.backends,
            request,
            self._emit,
            held=held,
            recorder=self._recorder,
            on_stored=self._adopt_conversation,
        )
        if not held:
            await self._emit(TranscriptFinal(turn_id, text))
            self._active = turn
            self.turns += 1
        return turn.start()


__all__ = ["InputSpec", "SessionConfig", "VoiceEvent", "VoiceSession"]
