"""A client of the stt service, used by the command line, the benchmarks and other services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np

from june.protos import asr_pb2, asr_pb2_grpc
from june.services.local import channel


@dataclass
class StreamResult:
    """What a client saw on one RecognizeStream call, with arrival times (perf_counter)."""

    finals: list[asr_pb2.Transcript] = field(default_factory=list)
    partials: list[asr_pb2.PartialTranscript] = field(default_factory=list)
    done: asr_pb2.StreamDone | None = None
    final_times: list[float] = field(default_factory=list)
    partial_times: list[float] = field(default_factory=list)
    #: When the first audio chunk was sent (real-time pacing counts from here).
    audio_started_at: float = 0.0
    end_sent_at: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(f.text for f in self.finals if f.text).strip()


class SttClient:
    def __init__(self, address: str) -> None:
        self.address = address
        self._channel = channel(address)
        self.stub = asr_pb2_grpc.RecognizerStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> SttClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def recognize(
        self,
        audio: bytes,
        config: asr_pb2.RecognitionConfig | None = None,
        timeout: float | None = 300,
        request_id: str | None = None,
    ) -> asr_pb2.RecognizeResponse:
        metadata = (("x-request-id", request_id),) if request_id else None
        return await self.stub.Recognize(
            asr_pb2.RecognizeRequest(config=config or asr_pb2.RecognitionConfig(), audio=audio),
            timeout=timeout,
            metadata=metadata,
        )

    async def stream_pcm(
        self,
        pcm: np.ndarray,
        chunk_ms: int = 100,
        realtime: float = 1.0,
        interim_results: bool = True,
        config: asr_pb2.RecognitionConfig | None = None,
        on_event: Callable[[asr_pb2.RecognizeStreamResponse], None] | None = None,
        endpoint_silence_ms: int = 0,
    ) -> StreamResult:
        """Send 16 kHz mono float32 ``pcm`` as s16le chunks, paced at ``realtime`` times real time.

        ``realtime=0`` sends as fast as possible.
        """
        rec = config or asr_pb2.RecognitionConfig()
        rec.encoding = asr_pb2.AUDIO_ENCODING_PCM_S16LE
        rec.sample_rate_hz, rec.channels = 16_000, 1
        samples = (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()
        step = 16_000 * chunk_ms // 1000 * 2
        chunks = [samples[i : i + step] for i in range(0, len(samples), step)]
        return await self.stream(
            chunks,
            rec,
            chunk_ms / 1000 * realtime,
            interim_results,
            endpoint_silence_ms=endpoint_silence_ms,
            on_event=on_event,
        )

    async def stream(
        self,
        chunks: list[bytes],
        config: asr_pb2.RecognitionConfig,
        interval_s: float = 0.0,
        interim_results: bool = True,
        endpoint_silence_ms: int = 0,
        on_event: Callable[[asr_pb2.RecognizeStreamResponse], None] | None = None,
    ) -> StreamResult:
        result = StreamResult()

        async def requests() -> AsyncIterator[asr_pb2.RecognizeStreamRequest]:
            yield asr_pb2.RecognizeStreamRequest(
                config=asr_pb2.StreamConfig(
                    config=config,
                    interim_results=interim_results,
                    endpoint_silence_ms=endpoint_silence_ms,
                )
            )
            start = result.audio_started_at = time.perf_counter()
            for i, chunk in enumerate(chunks):
                if interval_s:
                    delay = start + i * interval_s - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                yield asr_pb2.RecognizeStreamRequest(audio=chunk)
            if interval_s:  # the last chunk also takes its time to be spoken
                delay = start + len(chunks) * interval_s - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            result.end_sent_at = time.perf_counter()
            yield asr_pb2.RecognizeStreamRequest(end=asr_pb2.EndOfInput())

        async for response in self.stub.RecognizeStream(requests()):
            now = time.perf_counter()
            kind = response.WhichOneof("event")
            if kind == "final":
                result.finals.append(response.final)
                result.final_times.append(now)
            elif kind == "partial":
                result.partials.append(response.partial)
                result.partial_times.append(now)
            elif kind == "done":
                result.done = response.done
            if on_event is not None:
                on_event(response)
        return result
