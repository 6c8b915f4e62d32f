"""One answer of a voice turn: transcript → inference (token stream) → tts (audio stream).

The two stages overlap: every text delta of the answer goes to the tts
service's ``SynthesizeStream`` as it arrives, and the tts service cuts it into
sentences (the first at a clause boundary), so the first audio exists as soon
as the first clause of the answer is written. A local :class:`SentenceSplitter`
(the same rules) only marks *when* the first sentence was complete, which is
what the tts stage's own latency is measured from.

A turn may start *held* — on a speculative transcript, before the person's
silence has lasted the end-point: its events are buffered, not sent, until
:meth:`VoiceTurn.confirm`; :meth:`VoiceTurn.cancel` drops it. A cancelled turn
stops generation and synthesis at once (the gRPC calls are cancelled); an
answer the inference service had already stored is forgotten when the turn
was never confirmed, so speculation leaves nothing in the conversation.

Each stage that fails or goes silent for ``stage_timeout_s`` gives one
:class:`StageError` naming it; the text of the answer still completes when
only tts fails.

A turn ends exactly once, whatever the timing: with ``turn.done``, with
``turn.cancelled``, or with the ``error`` of its llm stage. The end is
decided without an await between the check and the decision, so a cancel
that arrives at any await point of the turn either stops it (``turn.cancelled``,
nothing after it) or finds it already ended; an answer that has ended but
may still be playing at the client is then stopped with ``audio.stop``. A
provisional turn (released before its final) keeps its ``turn.done`` until the
final settles it, so one that is dropped ends ``turn.cancelled`` alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import grpc
import structlog

from june.inference.chat import source_record
from june.inference.client import InferenceClient
from june.protos import llm_pb2, tts_pb2
from june.settings import TtsSettings
from june.tasks import join
from june.tts.client import TtsClient
from june.tts.text import SentenceSplitter
from june.voice import metrics
from june.voice.events import (
    AnswerDelta,
    AudioChunk,
    AudioStart,
    AudioStop,
    StageError,
    TranscriptFinal,
    TurnCancelled,
    TurnDone,
    VoiceEvent,
)

log = structlog.get_logger(__name__)

Emit = Callable[[VoiceEvent], Awaitable[None]]

#: How a turn ended: its ``turn.done``, its ``turn.cancelled``, or its llm stage's ``error``.
Ending = Literal["done", "cancelled", "failed"]

#: Output formats by their protocol names.
OUTPUT_FORMATS: dict[str, int] = {
    "pcm16": tts_pb2.AUDIO_FORMAT_PCM_S16LE,
    "wav": tts_pb2.AUDIO_FORMAT_WAV,
    "opus": tts_pb2.AUDIO_FORMAT_OGG_OPUS,
    "mp3": tts_pb2.AUDIO_FORMAT_MP3,
}
FORMAT_NAMES = {value: name for name, value in OUTPUT_FORMATS.items()}


class Backends(Protocol):
    """The clients a turn needs (``june.gateway.context.Backends`` is one)."""

    inference: InferenceClient
    tts: TtsClient


class Recorder(Protocol):
    """Where a turn's timings are kept, and a speculative answer forgotten."""

    async def add_timings(self, message_id: str, timings: dict[str, float]) -> None: ...

    async def forget(self, message_id: str) -> None: ...


def default_first_piece() -> tuple[int, int]:
    """The tts service's default cut of a streamed text's first piece (clause, max chars)."""
    fields = TtsSettings.model_fields
    clause, limit = fields["stream_first_clause_chars"], fields["stream_first_max_chars"]
    return int(clause.default), int(limit.default)


@dataclass(frozen=True)
class OutputSpec:
    format: str = "pcm16"
    #: 0: the voice's own rate.
    sample_rate: int = 0
    #: Empty: the tts service's default voice.
    voice: str = ""

    def config(self) -> tts_pb2.SynthesisConfig:
        return tts_pb2.SynthesisConfig(
            voice=self.voice, format=OUTPUT_FORMATS[self.format], sample_rate_hz=self.sample_rate
        )


@dataclass
class TurnRequest:
    turn_id: str
    user_id: str
    transcript: str
    conversation_id: str = ""
    output: OutputSpec = field(default_factory=OutputSpec)
    options: llm_pb2.ChatOptions = field(default_factory=llm_pb2.ChatOptions)
    #: perf_counter at the end of the person's speech (or of a typed message).
    speech_end_at: float = 0.0
    #: perf_counter when the transcript this turn answers was known.
    transcript_at: float = 0.0
    #: False: text only (no tts stage).
    speak: bool = True
    stage_timeout_s: float = 30.0
    #: How the tts service cuts the first piece of streamed text (``TtsSettings.stream_first_*``),
    #: mirrored here only to time when that piece was complete.
    first_piece: tuple[int, int] = field(default_factory=lambda: default_first_piece())


class VoiceTurn:
    def __init__(
        self,
        backends: Backends,
        request: TurnRequest,
        emit: Emit,
        *,
        held: bool = False,
        recorder: Recorder | None = None,
        on_stored: Callable[[str], None] | None = None,
    ) -> None:
        self.backends = backends
        self.request = request
        self.turn_id = request.turn_id
        self._emit_to = emit
        self._held = held
        #: Answering a transcript no final has confirmed yet (see :meth:`release`).
        self.provisional = held
        self._buffer: list[VoiceEvent] = []
        self._emit_lock = asyncio.Lock()
        self._recorder = recorder
        self._on_stored = on_stored
        self._task: asyncio.Task[None] | None = None
        self._tts_task: asyncio.Task[None] | None = None
        self._tts_queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._detached = False
        self._llm_finished = False
        self.cancelled = False
        #: Decided once (see the module docstring); None while the turn is running.
        self._ended: Ending | None = None
        #: The last event of a turn whose generation ended while it was still provisional.
        self._pending: TurnDone | StageError | None = None
        #: Its playback was stopped (``audio.stop``): it is not speaking any more.
        self._stopped = False
        self.conversation_id = request.conversation_id
        self.message_id = ""
        self.text = ""
        #: The document chunks the answer was given from (the inference service's ``sources``).
        self.sources: list[dict[str, Any]] = []
        #: Seconds of answer audio sent, and when its first chunk went out (playback estimate).
        self.audio_s = 0.0
        self.first_audio_at = 0.0
        self._marks: dict[str, float] = {}

    # ----------------------------------------------------------------- control
    @property
    def held(self) -> bool:
        return self._held

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    @property
    def ended(self) -> Ending | None:
        return self._ended

    def start(self) -> VoiceTurn:
        self._task = asyncio.create_task(self._run(), name=f"turn-{self.turn_id}")
        return self

    async def wait(self) -> None:
        """Until the turn's work is over (its own cancellation is no error here)."""
        if self._task is not None:
            await join(self._task)

    async def release(self, transcript_at: float) -> None:
        """Send ``transcript.final`` and what is buffered, and go on sending.

        Called when the final transcript confirms the speculative one, or earlier,
        when the silence has lasted long enough to answer (the turn stays
        :attr:`provisional` until :meth:`settle`, and is forgotten if cancelled).
        """
        async with self._emit_lock:
            if not self._held:
                return
            self.request.transcript_at = transcript_at
            self._held = False
            await self._emit_to(TranscriptFinal(self.turn_id, self.request.transcript))
            buffered, self._buffer = self._buffer, []
            for event in buffered:
                await self._emit_to(event)

    async def settle(self, final_at: float) -> None:
        """The final transcript says what this turn answered: it is no longer provisional,
        and if its answer is already complete, it ends now."""
        self.provisional = False
        self._marks["final"] = final_at
        pending, self._pending = self._pending, None
        if pending is not None:
            await self._end(pending)

    async def confirm(self, final_at: float) -> None:
        """The final transcript confirms a held turn: release and settle it."""
        await self.release(final_at)
        await self.settle(final_at)

    async def cancel(self, reason: str | None = None) -> None:
        """Stop generation and synthesis now; tell the client unless the turn was held.

        A turn that has already ended is not cancelled: if the client may still
        be playing its audio, it is told to stop (``audio.stop``) instead.
        """
        if self.cancelled:
            return
        if self._ended is not None:
            if reason is not None and self.speaking(time.perf_counter()):
                self._stopped = True
                await self._emit(AudioStop(self.turn_id, reason))  # type: ignore[arg-type]
            return
        self._ended = "cancelled"  # decided before any await: nothing else can end it now
        self.cancelled = True
        was_held, provisional = self._held, self.provisional
        self._pending = None
        for task in (self._tts_task, self._task):
            if task is not None:
                task.cancel()
        for task in (self._tts_task, self._task):
            if task is not None:
                await join(task)
        metrics.TURNS.labels("dropped" if provisional else "cancelled").inc()
        if provisional and self.message_id and self._llm_finished and self._recorder is not None:
            await self._recorder.forget(self.message_id)  # a stored speculative answer
        if not was_held and reason is not None:
            await self._emit_to(TurnCancelled(self.turn_id, reason))  # type: ignore[arg-type]

    async def detach(self) -> None:
        """The client went away: stop speaking, but let the answer finish and be stored."""
        if self._held:
            await self.cancel()
            return
        self._detached = True
        if self._tts_task is not None and not self._tts_task.done():
            self._tts_task.cancel()

    def speaking(self, now: float) -> bool:
        """Whether the person is (probably) still hearing this answer."""
        if self.cancelled or self._held or self._stopped:
            return False
        if not self.done:
            return True
        return bool(self.first_audio_at) and now < self.first_audio_at + self.audio_s

    # ---------------------------------------------------------------- the turn
    async def _emit(self, event: VoiceEvent) -> None:
        async with self._emit_lock:
            await self._deliver(event)

    async def _deliver(self, event: VoiceEvent) -> None:
        """Send (or, while held, buffer) an event; the caller holds the emit lock."""
        if isinstance(event, StageError):
            metrics.STAGE_ERRORS.labels(event.stage, event.code).inc()
        if self._detached:
            return
        if self._held:
            self._buffer.append(event)
        else:
            await self._emit_to(event)

    async def _run(self) -> None:
        request = self.request
        marks = self._marks
        marks["llm_request"] = time.perf_counter()
        clause_chars, max_chars = request.first_piece
        splitter = SentenceSplitter(first_max_chars=max_chars, first_clause_chars=clause_chars)
        chat_request = llm_pb2.ChatRequest(
            user_id=request.user_id,
            conversation_id=request.conversation_id,
            messages=[llm_pb2.Message(role=llm_pb2.ROLE_USER, content=request.transcript)],
            options=request.options,
        )
        metadata = (("x-request-id", request.turn_id),)
        call = self.backends.inference.stub.Chat(chat_request, metadata=metadata)
        done: llm_pb2.ChatDone | None = None
        failure: StageError | None = None
        try:
            while True:
                response = await self._read(call, request.stage_timeout_s, "llm")
                if response is None:
                    break
                kind = response.WhichOneof("event")
                if kind == "started":
                    self.conversation_id = response.started.conversation_id
                    self.message_id = response.started.message_id
                elif kind == "delta" and response.delta.text:
                    delta = response.delta.text
                    marks.setdefault("first_token", time.perf_counter())
                    self.text += delta
                    await self._emit(AnswerDelta(self.turn_id, delta))
                    if splitter.push(delta):
                        marks.setdefault("first_sentence", time.perf_counter())
                    if request.speak and not self._detached:
                        self._speak(delta)
                elif kind == "sources":
                    self.sources = [source_record(source) for source in response.sources.sources]
                elif kind == "done":
                    done = response.done
        except _StageFailed as error:
            failure = error.error
        except asyncio.CancelledError:
            call.cancel()  # stops the model at its next token
            raise
        finally:
            self._llm_finished = done is not None
            self._tts_queue.put_nowait(None)
        marks.setdefault("first_sentence", time.perf_counter())
        if self._tts_task is not None:
            # The rest of the answer is spoken before the turn ends. The turn's own
            # cancellation propagates from here; the tts task's (a detach) does not.
            await join(self._tts_task)
        marks["done"] = time.perf_counter()
        if done is None:  # the llm stage failed: its error is the turn's last event
            failure = failure or StageError(
                "llm", "failed", "the language model ended without an answer", self.turn_id
            )
            await self._end(failure)
            return
        self.text = done.message.content or self.text
        if self._on_stored is not None:  # the conversation exists now (see ChatService.turn)
            self._on_stored(self.conversation_id)
        last = TurnDone(self.turn_id, self.conversation_id, self.message_id, request.transcript, "")
        if self.provisional:
            self._pending = last  # ended by settle(), or replaced by turn.cancelled
            return
        await self._end(last)

    async def _end(self, last: TurnDone | StageError) -> None:
        """Send the turn's last event, unless the turn has already ended."""
        if self._ended is not None:
            return
        self._ended = "failed" if isinstance(last, StageError) else "done"
        if isinstance(last, StageError):
            await self._emit(last)
            return
        timings = self.timings()
        metrics.observe_done(timings)
        # Under the emit lock, so an audio.stop of this turn can only follow its turn.done.
        async with self._emit_lock:
            if self._recorder is not None and self.message_id:
                try:
                    await self._recorder.add_timings(self.message_id, timings)
                except Exception as exc:  # the answer is stored; its timings are a nicety
                    log.warning("voice.timings_not_stored", error=str(exc))
            await self._deliver(
                TurnDone(
                    self.turn_id,
                    self.conversation_id,
                    self.message_id,
                    last.transcript,
                    self.text,
                    timings,
                    self.sources,
                )
            )

    def _speak(self, delta: str) -> None:
        self._tts_queue.put_nowait(delta)
        if self._tts_task is None:
            self._marks["tts_request"] = time.perf_counter()
            self._tts_task = asyncio.create_task(self._synthesize(), name=f"tts-{self.turn_id}")

    async def _synthesize(self) -> None:
        request = self.request

        async def requests() -> AsyncIterator[tts_pb2.SynthesizeStreamRequest]:
            yield tts_pb2.SynthesizeStreamRequest(config=request.output.config())
            while (text := await self._tts_queue.get()) is not None:
                yield tts_pb2.SynthesizeStreamRequest(text=text)
            yield tts_pb2.SynthesizeStreamRequest(end=tts_pb2.EndOfInput())

        metadata = (("x-request-id", request.turn_id),)
        call = self.backends.tts.stub.SynthesizeStream(requests(), metadata=metadata)
        try:
            while True:
                # Audio may rightly wait for the model's text; once that is complete,
                # the tts stage has stage_timeout_s to finish.
                timeout = request.stage_timeout_s if self._llm_finished else None
                response = await self._read(call, timeout, "tts")
                if response is None:
                    return
                if not response.audio:
                    continue
                if not self.first_audio_at:
                    self.first_audio_at = self._marks["first_audio"] = time.perf_counter()
                    await self._emit(
                        AudioStart(
                            self.turn_id,
                            FORMAT_NAMES.get(response.format, "pcm16"),
                            response.sample_rate_hz,
                            response.channels or 1,
                        )
                    )
                self.audio_s += response.duration_s
                await self._emit(AudioChunk(self.turn_id, response.audio, response.duration_s))
        except _StageFailed as failure:
            await self._emit(failure.error)
        except asyncio.CancelledError:
            call.cancel()
            raise

    async def _read(self, call: object, timeout: float | None, stage: str) -> object | None:
        """The next message of a streaming call, None at its end; _StageFailed on error."""
        try:
            response = await asyncio.wait_for(call.read(), timeout)  # type: ignore[attr-defined]
        except TimeoutError:
            call.cancel()  # type: ignore[attr-defined]
            what = "language model" if stage == "llm" else "speech synthesis"
            raise _StageFailed(
                StageError(
                    stage,  # type: ignore[arg-type]
                    "timeout",
                    f"the {what} did not answer within {timeout:g} s",
                    self.turn_id,
                )
            ) from None
        except grpc.aio.AioRpcError as error:
            raise _StageFailed(stage_error(stage, error, self.turn_id)) from None
        if response is grpc.aio.EOF:
            return None
        return response

    def timings(self) -> dict[str, float]:
        """Seconds from the end of speech to each step, and each stage's own latency."""
        m, r = self._marks, self.request
        end = r.speech_end_at or m["llm_request"]

        def since(mark: str, origin: float = end) -> float:
            return round(max(0.0, m[mark] - origin), 4) if mark in m else 0.0

        timings = {
            "transcript_s": round(max(0.0, (r.transcript_at or end) - end), 4),
            "first_token_s": since("first_token"),
            "first_audio_s": since("first_audio"),
            "done_s": since("done"),
            "stt_final_s": round(max(0.0, m.get("final", r.transcript_at or end) - end), 4),
            "llm_first_token_s": since("first_token", m["llm_request"]),
            "llm_first_sentence_s": since("first_sentence", m["llm_request"]),
            "speculative": 1.0 if "final" in m else 0.0,
            #: the answer was released before the final transcript confirmed it
            "early": 1.0 if m.get("final", 0.0) > (r.transcript_at or 0.0) else 0.0,
        }
        if "first_audio" in m:
            sentence_at = max(m.get("first_sentence", 0.0), m.get("tts_request", 0.0))
            timings["tts_first_chunk_s"] = round(max(0.0, m["first_audio"] - sentence_at), 4)
        return timings


class _StageFailed(Exception):
    def __init__(self, error: StageError) -> None:
        super().__init__(error.message)
        self.error = error


_STAGE_NAMES = {"stt": "speech recognition", "llm": "language model", "tts": "speech synthesis"}


def stage_error(stage: str, error: grpc.aio.AioRpcError, turn_id: str = "") -> StageError:
    """A gRPC failure of ``stage`` as the client should read it."""
    code = error.code()
    detail = error.details() or code.name
    service = {"stt": "stt", "llm": "inference", "tts": "tts"}.get(stage, stage)
    what = _STAGE_NAMES.get(stage, stage)
    if code == grpc.StatusCode.UNAVAILABLE:
        message, kind = f"{what} is unavailable (the {service} service: {detail})", "unavailable"
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        message, kind = f"{what} timed out", "timeout"
    elif code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        message, kind = f"the {service} service is busy: {detail}", "busy"
    elif code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
        message, kind = detail, "invalid_request"
    else:
        message, kind = f"{what} failed: {detail}", "failed"
    return StageError(stage, kind, message, turn_id)  # type: ignore[arg-type]
