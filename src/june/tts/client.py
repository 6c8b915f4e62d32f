"""A client of the tts service, used by the command line, the benchmarks and other services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from june.protos import tts_pb2, tts_pb2_grpc
from june.services.local import channel


@dataclass
class SynthesisResult:
    """Everything one call returned, with arrival times (perf_counter) of the audio chunks."""

    audio: bytes = b""
    format: int = 0
    sample_rate_hz: int = 0
    sentences: list[str] = field(default_factory=list)
    summary: tts_pb2.SynthesisSummary | None = None
    started_at: float = 0.0
    chunk_times: list[float] = field(default_factory=list)

    @property
    def first_chunk_s(self) -> float:
        """Client-side time from the call to the first audio bytes."""
        return self.chunk_times[0] - self.started_at if self.chunk_times else 0.0


class TtsClient:
    def __init__(self, address: str) -> None:
        self.address = address
        self._channel = channel(address)
        self.stub = tts_pb2_grpc.SynthesizerStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> TtsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def synthesize(
        self, text: str, config: tts_pb2.SynthesisConfig | None = None, timeout: float = 300
    ) -> SynthesisResult:
        result = SynthesisResult(started_at=time.perf_counter())
        request = tts_pb2.SynthesizeRequest(text=text, config=config or tts_pb2.SynthesisConfig())
        async for response in self.stub.Synthesize(request, timeout=timeout):
            _collect(result, response)
        return result

    async def synthesize_stream(
        self,
        deltas: Iterable[str],
        config: tts_pb2.SynthesisConfig | None = None,
        interval_s: float = 0.0,
    ) -> SynthesisResult:
        """Send ``deltas`` one by one (``interval_s`` apart, as an LLM would), then end."""
        result = SynthesisResult()

        async def requests() -> AsyncIterator[tts_pb2.SynthesizeStreamRequest]:
            yield tts_pb2.SynthesizeStreamRequest(config=config or tts_pb2.SynthesisConfig())
            result.started_at = time.perf_counter()
            for delta in deltas:
                yield tts_pb2.SynthesizeStreamRequest(text=delta)
                if interval_s:
                    await asyncio.sleep(interval_s)
            yield tts_pb2.SynthesizeStreamRequest(end=tts_pb2.EndOfInput())

        async for response in self.stub.SynthesizeStream(requests()):
            _collect(result, response)
        return result

    async def voices(self, language: str = "") -> list[tts_pb2.Voice]:
        response = await self.stub.ListVoices(tts_pb2.ListVoicesRequest(language=language))
        return list(response.voices)


def _collect(result: SynthesisResult, response: tts_pb2.SynthesizeResponse) -> None:
    if response.audio:
        result.chunk_times.append(time.perf_counter())
        result.audio += response.audio
    result.format = response.format
    result.sample_rate_hz = response.sample_rate_hz
    if response.sentence:
        result.sentences.append(response.sentence)
    if response.HasField("summary"):
        result.summary = response.summary
