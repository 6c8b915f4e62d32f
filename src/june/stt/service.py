"""``june.asr.v1.Recognizer``: unary ``Recognize`` and bidirectional ``RecognizeStream``.

Bad audio never reaches the engine and never takes the service down: it is
answered with INVALID_ARGUMENT (corrupt, empty, silent, not audio, bad config)
or RESOURCE_EXHAUSTED (over the size/duration limits, or the service already
serving ``max_concurrency`` requests) and a message that names the problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import grpc
import numpy as np
import structlog

from june.audio import AudioError, AudioLimits, decode_audio, is_silent
from june.protos import asr_pb2, asr_pb2_grpc
from june.services.requests import ConcurrencyLimit, InvalidRequest, first_message, refuse
from june.settings import SttSettings
from june.stt import metrics
from june.stt.convert import timing_message, transcript_message
from june.stt.engine import SAMPLE_RATE, TranscribeOptions, WhisperEngine
from june.stt.input import StreamInput, pcm_input
from june.stt.streaming import Final, Partial, SpeechStarted, StreamEvent, StreamingRecognizer
from june.stt.streaming import StreamOptions as RecognizerOptions
from june.tasks import stop

log = structlog.get_logger(__name__)

ENCODINGS = {
    asr_pb2.AUDIO_ENCODING_PCM_S16LE: "s16le",
    asr_pb2.AUDIO_ENCODING_PCM_F32LE: "f32le",
}


class RecognizerServicer(asr_pb2_grpc.RecognizerServicer):
    def __init__(self, engine: WhisperEngine, settings: SttSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.limits = AudioLimits(settings.max_audio_bytes, settings.max_audio_s)
        self._limit = ConcurrencyLimit("stt", settings.max_concurrency, metrics.IN_FLIGHT)

    # ------------------------------------------------------------------ unary
    async def Recognize(
        self, request: asr_pb2.RecognizeRequest, context: grpc.aio.ServicerContext
    ) -> asr_pb2.RecognizeResponse:
        method = "Recognize"
        metrics.REQUESTS.labels(method).inc()
        async with self._slot(context, method):
            try:
                options = self._options(request.config)
                started = time.perf_counter()
                audio = await asyncio.to_thread(self._decode_whole, request)
                result = await asyncio.to_thread(self.engine.transcribe, audio, options)
            except InvalidRequest as exc:
                await self._abort(context, method, exc)
            processing_s = time.perf_counter() - started
            self._observe(method, result.audio_s, processing_s)
            log.info(
                "stt.recognized",
                audio_s=round(result.audio_s, 2),
                rtf=round(processing_s / max(result.audio_s, 1e-6), 3),
            )
            return asr_pb2.RecognizeResponse(
                transcript=transcript_message(result),
                timing=timing_message(result.audio_s, processing_s),
                model=self.engine.model_name,
            )

    def _decode_whole(self, request: asr_pb2.RecognizeRequest) -> np.ndarray:
        config = request.config
        if not request.audio:
            raise InvalidRequest(grpc.StatusCode.INVALID_ARGUMENT, "the audio is empty (0 bytes)")
        try:
            if config.encoding in ENCODINGS:
                convert = pcm_input(
                    ENCODINGS[config.encoding],
                    config.sample_rate_hz,
                    config.channels or 1,
                    self.limits,
                )
                audio = convert(request.audio, final=True)
            else:
                audio = decode_audio(request.audio, self.limits)
        except AudioError as exc:
            raise _audio_error(exc) from None
        if is_silent(audio):
            raise InvalidRequest(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the audio is silent ({len(audio) / SAMPLE_RATE:.1f} s with no sound)",
            )
        return audio

    # -------------------------------------------------------------- streaming
    async def RecognizeStream(
        self,
        request_iterator: AsyncIterator[asr_pb2.RecognizeStreamRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[asr_pb2.RecognizeStreamResponse]:
        method = "RecognizeStream"
        metrics.REQUESTS.labels(method).inc()
        requests = request_iterator.__aiter__()
        try:
            first = await first_message(requests, "config", method)
        except InvalidRequest as error:
            await self._abort(context, method, error)
        async with self._slot(context, method):
            try:
                options, source = self._stream_setup(first.config)
            except InvalidRequest as exc:
                await self._abort(context, method, exc)
            events: asyncio.Queue[StreamEvent | BaseException | None] = asyncio.Queue()
            recognizer = StreamingRecognizer(
                self.engine, self.engine.vad, options, events.put_nowait
            )
            reader = asyncio.ensure_future(self._read(requests, source, recognizer, events))
            started = time.perf_counter()
            try:
                while True:
                    event = await events.get()
                    if event is None:
                        break
                    if isinstance(event, BaseException):
                        error = _as_invalid(event)
                        await self._abort(context, method, error)
                    yield _event_message(event)
            finally:
                await stop(reader)
                await recognizer.finish()
                source.close()
            audio_s = recognizer.received / SAMPLE_RATE
            self._observe(method, audio_s, recognizer.processing_s)
            log.info(
                "stt.stream_done",
                audio_s=round(audio_s, 2),
                utterances=recognizer.utterances,
                wall_s=round(time.perf_counter() - started, 2),
            )
            yield asr_pb2.RecognizeStreamResponse(
                done=asr_pb2.StreamDone(
                    timing=timing_message(audio_s, recognizer.processing_s),
                    utterances=recognizer.utterances,
                    model=self.engine.model_name,
                )
            )

    def _stream_setup(self, config: asr_pb2.StreamConfig) -> tuple[RecognizerOptions, StreamInput]:
        transcribe = self._options(config.config)
        rec = config.config
        if rec.encoding in ENCODINGS:
            source = StreamInput.pcm(
                ENCODINGS[rec.encoding], rec.sample_rate_hz, rec.channels or 1, self.limits
            )
        else:
            source = StreamInput.encoded(self.limits)
        options = RecognizerOptions(
            transcribe=transcribe,
            interim_results=config.interim_results,
            endpoint_silence_ms=config.endpoint_silence_ms or self.settings.endpoint_silence_ms,
            partial_interval_ms=self.settings.partial_interval_ms,
            pre_roll_ms=self.settings.pre_roll_ms,
            speculative_after_ms=self.settings.tail_ms,
        )
        return options, source

    async def _read(
        self,
        requests: AsyncIterator[asr_pb2.RecognizeStreamRequest],
        source: StreamInput,
        recognizer: StreamingRecognizer,
        events: asyncio.Queue[StreamEvent | BaseException | None],
    ) -> None:
        """Client messages → audio → recognizer; ends the event queue with None or an error."""
        pump = asyncio.ensure_future(_pump(source, recognizer))
        try:
            async for request in requests:
                kind = request.WhichOneof("request")
                if kind == "audio":
                    source.feed(request.audio)
                elif kind == "flush":
                    await source.drain()
                    await recognizer.flush()
                elif kind == "end":
                    break
                else:
                    raise InvalidRequest(
                        grpc.StatusCode.FAILED_PRECONDITION,
                        "`config` may be sent only once, as the first message",
                    )
                if pump.done():
                    pump.result()  # surfaces a decoding error now
            source.end()
            await pump
            await recognizer.flush()
            events.put_nowait(None)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            events.put_nowait(exc)
        finally:
            pump.cancel()

    # ---------------------------------------------------------------- helpers
    def _options(self, config: asr_pb2.RecognitionConfig) -> TranscribeOptions:
        if config.model and config.model != self.engine.model_name:
            raise InvalidRequest(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"model {config.model!r} is not loaded by this service "
                f"(it runs {self.engine.model_name!r})",
            )
        if config.beam_size < 0 or config.beam_size > 20:
            raise InvalidRequest(grpc.StatusCode.INVALID_ARGUMENT, "beam_size must be 0..20")
        defaults = self.engine.default_options()
        return TranscribeOptions(
            language=config.language or defaults.language,
            beam_size=config.beam_size or defaults.beam_size,
            word_timestamps=config.word_timestamps,
            vad=config.vad if config.HasField("vad") else True,
            initial_prompt=config.initial_prompt or None,
        )

    @contextlib.asynccontextmanager
    async def _slot(self, context: grpc.aio.ServicerContext, method: str) -> AsyncIterator[None]:
        """One of the ``max_concurrency`` slots; any InvalidRequest in the block aborts the call."""
        try:
            async with self._limit.slot():
                yield
        except InvalidRequest as error:
            await self._abort(context, method, error)

    async def _abort(
        self, context: grpc.aio.ServicerContext, method: str, error: InvalidRequest
    ) -> None:
        await refuse(context, "stt", method, error, metrics.ERRORS)

    @staticmethod
    def _observe(method: str, audio_s: float, processing_s: float) -> None:
        metrics.AUDIO_SECONDS.labels(method).inc(audio_s)
        metrics.PROCESSING_SECONDS.labels(method).inc(processing_s)
        if audio_s > 0:
            metrics.REAL_TIME_FACTOR.labels(method).observe(processing_s / audio_s)


async def _pump(source: StreamInput, recognizer: StreamingRecognizer) -> None:
    """Decoded audio → recognizer, until the source is exhausted."""
    while True:
        pcm = await source.read()
        if pcm is None:
            return
        await recognizer.push(pcm)


def _audio_error(exc: AudioError) -> InvalidRequest:
    code = grpc.StatusCode.RESOURCE_EXHAUSTED if exc.exhausted else grpc.StatusCode.INVALID_ARGUMENT
    return InvalidRequest(code, str(exc))


def _as_invalid(exc: BaseException) -> InvalidRequest:
    if isinstance(exc, InvalidRequest):
        return exc
    if isinstance(exc, AudioError):
        return _audio_error(exc)
    log.error("stt.stream_failed", error=repr(exc))
    return InvalidRequest(grpc.StatusCode.INTERNAL, f"recognition failed: {exc}")


def _event_message(event: StreamEvent) -> asr_pb2.RecognizeStreamResponse:
    if isinstance(event, SpeechStarted):
        return asr_pb2.RecognizeStreamResponse(
            speech_started=asr_pb2.SpeechStarted(
                utterance_index=event.utterance, start_s=event.start_s
            )
        )
    if isinstance(event, Partial):
        return asr_pb2.RecognizeStreamResponse(
            partial=asr_pb2.PartialTranscript(
                utterance_index=event.utterance,
                text=event.text,
                start_s=event.start_s,
                end_s=event.end_s,
                speculative=event.speculative,
            )
        )
    assert isinstance(event, Final)
    metrics.FINAL_LATENCY.observe(event.latency_s)
    message = transcript_message(event.result, event.utterance)
    message.start_s, message.end_s = event.start_s, event.end_s
    return asr_pb2.RecognizeStreamResponse(final=message)
