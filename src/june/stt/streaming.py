"""Streaming recognition: partial hypotheses while someone speaks, a final per utterance.

Audio is pushed as it arrives. Silero VAD (window by window, see :mod:`vad`)
finds where an utterance starts and ends. While speech goes on, a greedy
partial decode runs every ``partial_interval_ms`` — only when no other decode
of this stream is running, so partials never queue up behind each other.

The final transcript is started *speculatively*: as soon as a short silence
(``speculative_after_ms``) follows speech, the utterance so far is decoded with
final settings. If the person goes on speaking that result is dropped; if the
silence lasts until the end-point (``endpoint_silence_ms``), it is the final
transcript, so most of the decode has happened before the end-point fires and
only its tail remains. That is what makes end of speech → final short.

Events come out through the ``emit`` callback in order: ``SpeechStarted``,
``Partial`` …, ``Final`` for utterance 0, then the same for utterance 1, ….
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from june.stt.engine import SAMPLE_RATE, SpeechToText, TranscribeOptions, TranscriptResult
from june.stt.vad import (
    WINDOW,
    Segmenter,
    SegmenterConfig,
    SilenceStart,
    SileroVad,
    SpeechEnd,
    SpeechResumed,
    SpeechStart,
    StreamingVad,
)
from june.tasks import join


@dataclass(frozen=True)
class StreamOptions:
    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)
    interim_results: bool = True
    endpoint_silence_ms: int = 1000
    partial_interval_ms: int = 600
    #: Silence after speech before the speculative final decode starts; also the tail kept.
    speculative_after_ms: int = 200
    #: Audio kept before the detected start of speech (soft onsets are easy to clip).
    pre_roll_ms: int = 600
    #: An utterance longer than this is finalised anyway (Whisper's window is 30 s).
    max_utterance_s: float = 28.0


@dataclass(frozen=True)
class SpeechStarted:
    utterance: int
    start_s: float


@dataclass(frozen=True)
class Partial:
    utterance: int
    text: str
    start_s: float
    end_s: float
    #: The speculative final: what the final will say if the silence that began lasts.
    speculative: bool = False


@dataclass(frozen=True)
class Final:
    utterance: int
    result: TranscriptResult
    start_s: float
    end_s: float
    #: From the moment the utterance was known to be over to this event (decode left to do).
    latency_s: float


StreamEvent = SpeechStarted | Partial | Final


#: Decodes running per engine (one engine serves every stream of a process).
_DECODING: dict[int, int] = {}


def _samples(ms: float) -> int:
    return int(ms * SAMPLE_RATE / 1000)


@dataclass
class _Utterance:
    index: int
    start: int  # stream sample where its audio begins (pre-roll included)
    silence: int | None = None  # stream sample where the current silence began
    last_partial_end: int = 0
    speculative: tuple[int, asyncio.Task[TranscriptResult]] | None = None  # (end sample, decode)
    partial_task: asyncio.Task[None] | None = None
    finals: list[asyncio.Task[None]] = field(default_factory=list)
    #: The text of the speculative final sent for the current silence, if one was sent.
    announced: str | None = None


class StreamingRecognizer:
    def __init__(
        self,
        engine: SpeechToText,
        vad: SileroVad,
        options: StreamOptions,
        emit: Callable[[StreamEvent], None],
    ) -> None:
        self.engine = engine
        self.options = options
        self.emit = emit
        self.vad = StreamingVad(vad)
        self.segmenter = Segmenter(SegmenterConfig(end_silence_ms=options.endpoint_silence_ms))
        self.received = 0  # samples pushed so far
        self.processing_s = 0.0  # time spent in the engine
        self.utterances = 0
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # stream sample of self._buffer[0]
        self._utt: _Utterance | None = None
        self._last_final: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    # ------------------------------------------------------------------ input
    async def push(self, pcm: np.ndarray) -> None:
        """Take the next 16 kHz mono float32 samples; returns at once, decoding goes on behind."""
        if len(pcm) == 0:
            return
        self._buffer = np.concatenate([self._buffer, pcm.astype(np.float32, copy=False)])
        self.received += len(pcm)
        for event in self.segmenter.feed(self.vad.push(pcm)):
            self._on_vad(event)
        utt = self._utt
        if utt is None:
            self._trim()
            return
        opts = self.options
        if self.received - utt.start >= _samples(opts.max_utterance_s * 1000):
            self.segmenter.force_end()
            self._finalise(self.received)
        elif utt.silence is not None:
            tail = _samples(opts.speculative_after_ms)
            if utt.speculative is None and self.received >= utt.silence + tail:
                end = utt.silence + tail
                decode = self._decode(utt.start, end, final=True)
                utt.speculative = (end, decode)
                self._spawn(self._announce(utt, end, decode))
        elif (
            opts.interim_results
            and self._idle(utt)
            and self.received - max(utt.last_partial_end, utt.start)
            >= _samples(opts.partial_interval_ms)
        ):
            utt.last_partial_end = self.received
            utt.partial_task = self._spawn(self._partial(utt, self.received))

    async def flush(self) -> None:
        """End the utterance in progress now and wait for its final transcript."""
        utt = self._utt
        if utt is not None:
            self.segmenter.force_end()
            end = utt.silence + _samples(self.options.speculative_after_ms) if utt.silence else None
            self._finalise(min(end, self.received) if end else self.received)
        if self._last_final is not None:
            await self._last_final

    async def finish(self) -> None:
        """No more audio: finalise, then stop what is still running."""
        await self.flush()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            await join(task)

    # -------------------------------------------------------------- internals
    def _on_vad(self, event: object) -> None:
        if isinstance(event, SpeechStart):
            start = max(
                self._buffer_start, event.window * WINDOW - _samples(self.options.pre_roll_ms)
            )
            self._utt = _Utterance(index=self.utterances, start=start)
            self.utterances += 1
            self.emit(SpeechStarted(self._utt.index, start / SAMPLE_RATE))
        elif self._utt is None:
            return
        elif isinstance(event, SilenceStart):
            self._utt.silence = event.window * WINDOW
        elif isinstance(event, SpeechResumed):
            utt = self._utt
            utt.silence = None
            utt.speculative = None  # the person went on: that guess is stale
            if utt.announced is not None:  # say so at once: a client may be answering it
                resumed_s = event.window * WINDOW / SAMPLE_RATE
                self.emit(Partial(utt.index, utt.announced, utt.start / SAMPLE_RATE, resumed_s))
                utt.announced = None
        elif isinstance(event, SpeechEnd):
            tail = _samples(self.options.speculative_after_ms)
            self._finalise(min(event.window * WINDOW + tail, self.received))

    def _idle(self, utt: _Utterance) -> bool:
        """Whether a partial may be decoded now: not while this stream decodes, nor while the
        engine decodes for another stream (finals first: partials only use spare time)."""
        partial_busy = utt.partial_task is not None and not utt.partial_task.done()
        final_busy = self._last_final is not None and not self._last_final.done()
        engine_busy = _DECODING.get(id(self.engine), 0) > 0
        return not partial_busy and not final_busy and not engine_busy

    def _finalise(self, end: int) -> None:
        utt, self._utt = self._utt, None
        if utt is None:
            return
        spec = utt.speculative
        decode = spec[1] if spec is not None and spec[0] == end else None
        if decode is None:
            decode = self._decode(utt.start, end, final=True)
        final = self._emit_final(utt, end, decode, self._last_final, time.perf_counter())
        self._last_final = self._spawn(final)

    async def _emit_final(
        self,
        utt: _Utterance,
        end: int,
        decode: asyncio.Task[TranscriptResult],
        previous: asyncio.Task[None] | None,
        decided_at: float,
    ) -> None:
        result = await decode
        if previous is not None:
            await previous  # finals leave in utterance order
        latency = time.perf_counter() - decided_at
        self.emit(Final(utt.index, result, utt.start / SAMPLE_RATE, end / SAMPLE_RATE, latency))

    async def _announce(
        self, utt: _Utterance, end: int, decode: asyncio.Task[TranscriptResult]
    ) -> None:
        """Emit the speculative final as soon as it is decoded, if it is still the current guess."""
        result = await decode
        spec = utt.speculative
        if self._utt is utt and spec is not None and spec[1] is decode and result.text:
            start_s = utt.start / SAMPLE_RATE
            self.emit(Partial(utt.index, result.text, start_s, end / SAMPLE_RATE, True))
            utt.announced = result.text

    async def _partial(self, utt: _Utterance, end: int) -> None:
        result = await self._decode(utt.start, end, final=False)
        if self._utt is utt and utt.silence is None and result.text:
            self.emit(Partial(utt.index, result.text, utt.start / SAMPLE_RATE, end / SAMPLE_RATE))

    def _decode(self, start: int, end: int, final: bool) -> asyncio.Task[TranscriptResult]:
        audio = self._buffer[start - self._buffer_start : end - self._buffer_start].copy()
        options = replace(self.options.transcribe, vad=False)
        if not final:
            options = replace(options, beam_size=1, word_timestamps=False)
        return self._spawn(self._run(audio, options, start / SAMPLE_RATE))

    async def _run(
        self, audio: np.ndarray, options: TranscribeOptions, offset_s: float
    ) -> TranscriptResult:
        key = id(self.engine)
        _DECODING[key] = _DECODING.get(key, 0) + 1
        try:
            result = await asyncio.to_thread(self.engine.transcribe, audio, options)
        finally:
            _DECODING[key] -= 1
        self.processing_s += result.processing_s
        return shift(result, offset_s)

    def _spawn(self, coro):  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _trim(self) -> None:
        """Between utterances keep only the pre-roll, so memory stays flat on long streams."""
        keep = _samples(self.options.pre_roll_ms) + WINDOW
        excess = len(self._buffer) - keep
        if excess > 0:  # decodes work on copies, so this never pulls audio from under them
            self._buffer = self._buffer[excess:]
            self._buffer_start += excess


def shift(result: TranscriptResult, offset_s: float) -> TranscriptResult:
    """The same transcript with its times moved by ``offset_s`` (piece → stream time)."""
    if not offset_s:
        return result
    segments = [
        replace(
            s,
            start_s=s.start_s + offset_s,
            end_s=s.end_s + offset_s,
            words=[
                replace(w, start_s=w.start_s + offset_s, end_s=w.end_s + offset_s) for w in s.words
            ],
        )
        for s in result.segments
    ]
    return replace(result, segments=segments)
