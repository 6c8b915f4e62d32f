"""``june.tts.v1.Synthesizer``: text → audio, sentence by sentence, as soon as each sentence exists.

Both RPCs run the same pipeline: sentences (from the splitter) → Piper in a
worker thread → the stream encoder → one response per sentence. Synthesis of
the next sentence overlaps with sending the previous one, and
``SynthesizeStream`` starts speaking the first sentence while the client (the
LLM) is still writing the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import numpy as np
import structlog

from june.audio import OutputFormat, StreamEncoder
from june.models.resolve import ModelNotInstalledError, UnknownModelError
from june.protos import tts_pb2, tts_pb2_grpc
from june.services.requests import (
    ConcurrencyLimit,
    InvalidRequest,
    first_message,
    invalid,
    refuse,
)
from june.settings import TtsSettings
from june.tasks import stop
from june.tts import metrics
from june.tts.engine import LoadedVoice, PiperEngine, SynthesisOptions, UnknownSpeakerError
from june.tts.resample import StreamResampler
from june.tts.text import SentenceSplitter, normalize_for_speech, split_sentences
from june.tts.voices import VoiceCatalog

log = structlog.get_logger(__name__)

FORMATS: dict[int, OutputFormat] = {
    tts_pb2.AUDIO_FORMAT_UNSPECIFIED: "wav",
    tts_pb2.AUDIO_FORMAT_WAV: "wav",
    tts_pb2.AUDIO_FORMAT_PCM_S16LE: "pcm_s16le",
    tts_pb2.AUDIO_FORMAT_OGG_OPUS: "ogg_opus",
    tts_pb2.AUDIO_FORMAT_MP3: "mp3",
}
PROTO_FORMAT = {v: k for k, v in FORMATS.items() if k != tts_pb2.AUDIO_FORMAT_UNSPECIFIED}


@dataclass(frozen=True)
class Plan:
    """What one request asked for, validated."""

    voice: LoadedVoice
    options: SynthesisOptions
    fmt: OutputFormat
    sample_rate: int  # rate fed to the encoder (the voice's, or the one asked for)
    normalize: bool


class SynthesizerServicer(tts_pb2_grpc.SynthesizerServicer):
    def __init__(self, engine: PiperEngine, catalog: VoiceCatalog, settings: TtsSettings) -> None:
        self.engine = engine
        self.catalog = catalog
        self.settings = settings
        self._limit = ConcurrencyLimit("tts", settings.max_concurrency, metrics.IN_FLIGHT)

    # ------------------------------------------------------------------- RPCs
    async def Synthesize(
        self, request: tts_pb2.SynthesizeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[tts_pb2.SynthesizeResponse]:
        method = "Synthesize"
        metrics.REQUESTS.labels(method).inc()
        started = time.perf_counter()
        try:
            async with self._limit.slot():
                plan = await self._plan(request.config)
                text = self._check_text(request.text)
                # Split the raw text (markdown line structure marks sentences), then
                # normalise each piece; pieces with nothing to say (a rule, an emoji) drop out.
                sentences = [
                    spoken
                    for piece in split_sentences(text)
                    if (spoken := self._spoken(piece, plan))
                ]
                if not sentences:
                    raise invalid("the text has nothing to read aloud (only markup or emoji)")
                async for response in self._speak(_aiter(sentences), plan, started, method):
                    yield response
        except InvalidRequest as error:
            await refuse(context, "tts", method, error, metrics.ERRORS)

    async def SynthesizeStream(
        self,
        request_iterator: AsyncIterator[tts_pb2.SynthesizeStreamRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[tts_pb2.SynthesizeResponse]:
        method = "SynthesizeStream"
        metrics.REQUESTS.labels(method).inc()
        requests = request_iterator.__aiter__()
        try:
            first = await first_message(requests, "config", method)
            async with self._limit.slot():
                plan = await self._plan(first.config)
                sentences: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
                reader = asyncio.ensure_future(self._read(requests, plan, sentences))
                try:
                    async for response in self._speak(_drain(sentences), plan, None, method):
                        yield response
                finally:
                    await stop(reader)
        except InvalidRequest as error:
            await refuse(context, "tts", method, error, metrics.ERRORS)

    async def ListVoices(
        self, request: tts_pb2.ListVoicesRequest, context: grpc.aio.ServicerContext
    ) -> tts_pb2.ListVoicesResponse:
        voices = await asyncio.to_thread(self.catalog.voices, request.language)
        return tts_pb2.ListVoicesResponse(
            voices=[
                tts_pb2.Voice(
                    id=v.id,
                    name=v.name,
                    language=v.language,
                    sample_rate_hz=v.sample_rate,
                    quality=v.quality,
                    speakers=list(v.speakers),
                    is_default=v.id == self.engine.default_voice,
                    installed=v.installed,
                )
                for v in voices
            ]
        )

    # -------------------------------------------------------------- pipeline
    async def _read(
        self,
        requests: AsyncIterator[tts_pb2.SynthesizeStreamRequest],
        plan: Plan,
        out: asyncio.Queue[str | BaseException | None],
    ) -> None:
        """Text deltas → complete sentences (normalised) → ``out``; None at the end."""
        splitter = SentenceSplitter(
            first_max_chars=self.settings.stream_first_max_chars,
            first_clause_chars=self.settings.stream_first_clause_chars,
        )
        total = 0

        def emit(sentences: list[str]) -> None:
            for sentence in sentences:
                if spoken := self._spoken(sentence, plan):
                    out.put_nowait(spoken)

        try:
            async for request in requests:
                kind = request.WhichOneof("request")
                if kind == "text":
                    total += len(request.text)
                    if total > self.settings.max_text_chars:
                        raise invalid(
                            f"the text is longer than the limit of "
                            f"{self.settings.max_text_chars} characters"
                        )
                    emit(splitter.push(request.text))
                elif kind == "flush":
                    emit(splitter.flush())
                elif kind == "end":
                    break
                else:
                    raise InvalidRequest(
                        grpc.StatusCode.FAILED_PRECONDITION,
                        "`config` may be sent only once, as the first message",
                    )
            emit(splitter.flush())
            out.put_nowait(None)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            out.put_nowait(exc)

    async def _speak(
        self,
        sentences: AsyncIterator[str],
        plan: Plan,
        started: float | None,
        method: str,
    ) -> AsyncIterator[tts_pb2.SynthesizeResponse]:
        """Synthesise sentence by sentence; the next one is made while this one is sent.

        A producer task takes each sentence as soon as it exists and synthesises
        it (one at a time: two Piper runs at once would only slow the first);
        this generator sends each result the moment it is ready.
        """
        done: asyncio.Queue[tuple[str, np.ndarray, float, float] | BaseException | None]
        done = asyncio.Queue()
        producer = asyncio.ensure_future(self._produce(sentences, plan, done))
        encoder = StreamEncoder(plan.fmt, plan.sample_rate)
        resampler = StreamResampler(plan.voice.info.sample_rate, plan.sample_rate)
        audio_s = processing_s = 0.0
        count = chars = 0
        first_chunk_s: float | None = None
        try:
            while (item := await done.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                sentence, pcm, seconds, ready_at = item
                pcm = resampler.push(pcm)
                chunk = encoder.push(pcm)
                duration = len(pcm) / plan.sample_rate
                if first_chunk_s is None:
                    first_chunk_s = time.perf_counter() - (started or ready_at)
                    metrics.TIME_TO_FIRST_CHUNK.labels(method).observe(first_chunk_s)
                yield tts_pb2.SynthesizeResponse(
                    audio=chunk,
                    format=PROTO_FORMAT[plan.fmt],
                    sample_rate_hz=encoder.sample_rate,
                    channels=1,
                    sentence_index=count,
                    sentence=sentence,
                    start_s=audio_s,
                    duration_s=duration,
                )
                audio_s += duration
                processing_s += seconds
                count += 1
                chars += len(sentence)
        finally:
            await stop(producer)
        tail = encoder.push(resampler.flush()) + encoder.finish()
        voice = plan.voice.info.id
        metrics.CHARACTERS.labels(voice).inc(chars)
        metrics.AUDIO_SECONDS.labels(voice).inc(audio_s)
        if audio_s:
            metrics.REAL_TIME_FACTOR.labels(voice).observe(processing_s / audio_s)
        yield tts_pb2.SynthesizeResponse(
            audio=tail,
            format=PROTO_FORMAT[plan.fmt],
            sample_rate_hz=encoder.sample_rate,
            channels=1,
            sentence_index=count,
            start_s=audio_s,
            summary=tts_pb2.SynthesisSummary(
                characters=chars,
                sentences=count,
                audio_s=audio_s,
                processing_s=processing_s,
                real_time_factor=processing_s / audio_s if audio_s else 0.0,
                time_to_first_chunk_s=first_chunk_s or 0.0,
                voice=voice,
            ),
        )

    async def _produce(
        self,
        sentences: AsyncIterator[str],
        plan: Plan,
        out: asyncio.Queue[tuple[str, np.ndarray, float, float] | BaseException | None],
    ) -> None:
        try:
            async for sentence in sentences:
                ready_at = time.perf_counter()
                try:
                    pcm, seconds = await self._synthesize(plan, sentence)
                except UnknownSpeakerError as exc:
                    raise invalid(str(exc)) from None
                out.put_nowait((sentence, pcm, seconds, ready_at))
            out.put_nowait(None)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            out.put_nowait(exc)

    async def _synthesize(self, plan: Plan, sentence: str) -> tuple[np.ndarray, float]:
        def run() -> tuple[np.ndarray, float]:
            began = time.perf_counter()
            parts = list(plan.voice.synthesize(sentence, plan.options))
            audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
            return audio, time.perf_counter() - began

        return await asyncio.to_thread(run)

    @staticmethod
    def _spoken(piece: str, plan: Plan) -> str:
        """What Piper gets for one piece: normalised, or as written but never markup-only."""
        spoken = normalize_for_speech(piece, plan.voice.info.language)
        return spoken if plan.normalize else (piece.strip() if spoken else "")

    # ------------------------------------------------------------ validation
    def _check_text(self, text: str) -> str:
        if not text.strip():
            raise invalid("the text is empty")
        if len(text) > self.settings.max_text_chars:
            raise invalid(
                f"the text is {len(text)} characters; the limit is {self.settings.max_text_chars}"
            )
        return text

    async def _plan(self, config: tts_pb2.SynthesisConfig) -> Plan:
        if config.format not in FORMATS:
            raise invalid(
                f"unknown audio format {config.format}; use PCM_S16LE, WAV, OGG_OPUS or MP3"
            )
        fmt = FORMATS[config.format]
        voice_id = config.voice or self.engine.default_voice
        try:
            voice = await asyncio.to_thread(self.engine.voice, voice_id)
        except (UnknownModelError, ModelNotInstalledError) as exc:
            raise invalid(f"unknown voice {voice_id!r}: {exc}") from None
        for name, value, low, high in (
            ("length_scale", config.length_scale, 0.1, 5.0),
            ("noise_scale", config.noise_scale, 0.0, 2.0),
            ("noise_w", config.noise_w, 0.0, 2.0),
        ):
            if value and not low <= value <= high:
                raise invalid(f"{name} must be between {low} and {high}, not {value:g}")
        if config.speaker and config.speaker not in voice.info.speakers:
            known = ", ".join(voice.info.speakers) or "none: it has a single speaker"
            raise invalid(f"voice {voice_id!r} has no speaker {config.speaker!r} ({known})")
        rate = config.sample_rate_hz or voice.info.sample_rate
        if not 8_000 <= rate <= 48_000:
            raise invalid(f"sample_rate_hz must be between 8000 and 48000, not {rate}")
        options = SynthesisOptions(
            speaker=config.speaker or None,
            length_scale=config.length_scale or None,
            noise_scale=config.noise_scale or None,
            noise_w=config.noise_w or None,
        )
        normalize = (
            config.normalize_text
            if config.HasField("normalize_text")
            else (self.settings.normalize_text)
        )
        return Plan(voice, options, fmt, rate, normalize)


async def _aiter(items: list[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


async def _drain(queue: asyncio.Queue[str | BaseException | None]) -> AsyncIterator[str]:
    while True:
        item = await queue.get()
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield item
