"""The stt service for real: `june serve stt` in a subprocess, over gRPC, with real speech."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest

from june.protos import asr_pb2
from june.stt.client import SttClient
from tests.processes import Running, launch, service_env, wait_healthy
from tests.speech import clip_ids, encode, load_clip, wer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def stt_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("stt-service")
    env = service_env(
        tmp,
        tmp / "models",
        JUNE_STT_MAX_CONCURRENCY="6",
        JUNE_STT_MAX_AUDIO_BYTES="3000000",
        JUNE_STT_MAX_AUDIO_S="60",
    )
    running = launch("stt", env, tmp)
    wait_healthy(running)
    yield running
    assert running.stop() == 0


@pytest.fixture
async def client(stt_service: Running) -> AsyncIterator[SttClient]:
    async with SttClient(f"127.0.0.1:{stt_service.ports.grpc}") as c:
        yield c


FORMATS = {
    "wav 16 kHz s16": ("wav", "pcm_s16le", 16_000, 1, None),
    "wav 8 kHz u8": ("wav", "pcm_u8", 8_000, 1, None),
    "wav 44.1 kHz s24 stereo": ("wav", "pcm_s24le", 44_100, 2, None),
    "wav 48 kHz s32": ("wav", "pcm_s32le", 48_000, 1, None),
    "wav 22.05 kHz float": ("wav", "pcm_f32le", 22_050, 1, None),
    "flac": ("flac", "flac", 16_000, 1, None),
    "mp3": ("mp3", "libmp3lame", 44_100, 1, None),
    "ogg/opus (Telegram voice)": ("ogg", "libopus", 48_000, 1, None),
    "webm/opus (browser)": ("webm", "libopus", 48_000, 1, None),
    "m4a/aac": ("mp4", "aac", 44_100, 1, None),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
async def test_every_input_format_is_transcribed(client: SttClient, fmt: str) -> None:
    clip = load_clip("1089-134686-0010")
    container, codec, rate, channels, sample_fmt = FORMATS[fmt]
    data = encode(clip.pcm, container, codec, rate, channels, sample_fmt)
    response = await client.recognize(data)
    assert wer(clip.text, response.transcript.text) <= 0.2, response.transcript.text
    assert response.timing.audio_s == pytest.approx(len(clip.pcm) / 16_000, abs=0.1)
    assert response.model == "whisper-tiny.en"


async def test_raw_pcm_at_any_rate(client: SttClient) -> None:
    clip = load_clip("6930-75918-0000")
    import av

    frame = av.AudioFrame.from_ndarray(clip.pcm[None, :], format="flt", layout="mono")
    frame.sample_rate = 16_000
    resampler = av.AudioResampler(format="s16", layout="stereo", rate=44_100)
    pcm = np.concatenate(
        [f.to_ndarray() for f in [*resampler.resample(frame), *resampler.resample(None)]], axis=1
    )
    config = asr_pb2.RecognitionConfig(
        encoding=asr_pb2.AUDIO_ENCODING_PCM_S16LE, sample_rate_hz=44_100, channels=2
    )
    response = await client.recognize(pcm.astype("<i2").tobytes(), config)
    assert wer(clip.text, response.transcript.text) <= 0.2


async def test_word_timestamps_and_confidence(client: SttClient) -> None:
    clip = load_clip("jfk")
    config = asr_pb2.RecognitionConfig(word_timestamps=True)
    response = await client.recognize(clip.path.read_bytes(), config)
    transcript = response.transcript
    words = [w for s in transcript.segments for w in s.words]
    assert transcript.language == "en" and 0 < transcript.confidence <= 1
    assert [w.start_s for w in words] == sorted(w.start_s for w in words)
    assert words[0].word.lower().startswith("and") and words[-1].end_s <= 11.1


BAD_INPUTS = {
    "empty": (b"", grpc.StatusCode.INVALID_ARGUMENT, "empty"),
    "text file": (b"hello, this is not a sound\n" * 40, grpc.StatusCode.INVALID_ARGUMENT, "audio"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(2000), grpc.StatusCode.INVALID_ARGUMENT, "audio"),
    "too large": (b"RIFF" + bytes(3_100_000), grpc.StatusCode.RESOURCE_EXHAUSTED, "limit"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_bad_audio_is_refused_and_the_service_goes_on(client: SttClient, case: str) -> None:
    data, code, words = BAD_INPUTS[case]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.recognize(data)
    assert refused.value.code() == code
    assert words in refused.value.details().lower()
    clip = load_clip("1089-134686-0001")
    ok = await client.recognize(clip.path.read_bytes())  # still serving
    assert wer(clip.text, ok.transcript.text) <= 0.25


async def test_truncated_corrupt_silent_and_too_long_audio(client: SttClient) -> None:
    clip = load_clip("jfk")
    whole = clip.path.read_bytes()
    header_only = whole[:60]
    with pytest.raises(grpc.aio.AioRpcError) as cut:
        await client.recognize(header_only)
    assert cut.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    scrambled = whole[:4096] + bytes(np.random.default_rng(1).integers(0, 256, 50_000, np.uint8))
    with pytest.raises(grpc.aio.AioRpcError) as corrupt:
        await client.recognize(scrambled)
    assert corrupt.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    silence = encode(np.zeros(16_000 * 3, np.float32), "wav", "pcm_s16le")
    with pytest.raises(grpc.aio.AioRpcError) as silent:
        await client.recognize(silence)
    assert silent.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "silent" in silent.value.details()

    long = encode(np.tile(clip.pcm, 7), "ogg", "libopus", 48_000)  # 77 s > the 60 s limit
    with pytest.raises(grpc.aio.AioRpcError) as too_long:
        await client.recognize(long)
    assert too_long.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit" in too_long.value.details()


async def test_concurrent_requests_get_their_own_transcripts(client: SttClient) -> None:
    ids = [i for i in clip_ids() if i != "jfk"]
    clips = [load_clip(i) for i in ids]
    responses = await asyncio.gather(*(client.recognize(c.path.read_bytes()) for c in clips))
    for clip, response in zip(clips, responses, strict=True):
        assert wer(clip.text, response.transcript.text) <= 0.25, (clip.id, response.transcript.text)


async def test_stream_gives_partials_before_the_final(client: SttClient) -> None:
    clip = load_clip("jfk")
    result = await client.stream_pcm(clip.pcm, chunk_ms=100, realtime=0.5)  # twice real time
    assert result.partials, "no partial hypothesis while audio was arriving"
    assert result.partial_times[0] < result.final_times[0]
    assert result.partial_times[0] < result.end_sent_at  # while the person is still talking
    assert wer(clip.text, result.text) <= 0.15, result.text
    assert result.done is not None and result.done.utterances == len(result.finals) >= 1
    indices = [f.utterance_index for f in result.finals]
    assert indices == sorted(indices)


async def test_stream_of_several_utterances_with_pauses(client: SttClient) -> None:
    a, b = load_clip("1089-134686-0001"), load_clip("6930-75918-0000")
    pause = np.zeros(32_000, np.float32)  # 2 s: past the 1 s end-point
    result = await client.stream_pcm(np.concatenate([a.pcm, pause, b.pcm, pause]), realtime=0)
    assert len(result.finals) == 2
    assert wer(a.text, result.finals[0].text) <= 0.25
    assert wer(b.text, result.finals[1].text) <= 0.25
    assert result.finals[0].end_s <= result.finals[1].start_s


@dataclass
class _Held:
    """What a held stream got: every event, in order, and the speculative partials."""

    events: list[asr_pb2.RecognizeStreamResponse] = field(default_factory=list)

    @property
    def partials(self) -> list[asr_pb2.PartialTranscript]:
        return [e.partial for e in self.events if e.WhichOneof("event") == "partial"]

    @property
    def finals(self) -> list[asr_pb2.Transcript]:
        return [e.final for e in self.events if e.WhichOneof("event") == "final"]

    def speculative_count(self) -> int:
        return sum(p.speculative for p in self.partials)


async def _stream_holding(
    client: SttClient, segments: list[np.ndarray], endpoint_silence_ms: int
) -> _Held:
    """Stream ``segments`` at real time; after each but the last, send nothing more until
    a speculative final has come for it.

    Each hold point lies in a pause, past the speculative point (200 ms) and short
    of the end-point. The service decides on the audio it has received, not on the
    clock, so holding the rest of the pause back gives the speculative decode all
    the time it needs: the test does not depend on how fast Whisper runs here.
    """
    held = _Held()
    arrived = asyncio.Condition()

    async def requests() -> AsyncIterator[asr_pb2.RecognizeStreamRequest]:
        config = asr_pb2.RecognitionConfig(
            encoding=asr_pb2.AUDIO_ENCODING_PCM_S16LE, sample_rate_hz=16_000, channels=1
        )
        yield asr_pb2.RecognizeStreamRequest(
            config=asr_pb2.StreamConfig(
                config=config, interim_results=True, endpoint_silence_ms=endpoint_silence_ms
            )
        )
        for i, segment in enumerate(segments):
            data = (np.clip(segment, -1, 1) * 32767).astype("<i2").tobytes()
            start = time.perf_counter()
            for n, offset in enumerate(range(0, len(data), 3200)):  # 100 ms chunks
                await asyncio.sleep(max(0.0, start + n * 0.1 - time.perf_counter()))
                yield asr_pb2.RecognizeStreamRequest(audio=data[offset : offset + 3200])
            if i < len(segments) - 1:
                async with arrived:
                    await asyncio.wait_for(
                        arrived.wait_for(lambda i=i: held.speculative_count() > i), 60
                    )
        yield asr_pb2.RecognizeStreamRequest(end=asr_pb2.EndOfInput())

    async for response in client.stub.RecognizeStream(requests()):
        async with arrived:
            held.events.append(response)
            arrived.notify_all()
    return held


def _trimmed(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two clips without their own silences at the joint (100 ms of each kept)."""
    loud_a, loud_b = np.flatnonzero(np.abs(a) > 0.02), np.flatnonzero(np.abs(b) > 0.02)
    return a[: loud_a[-1] + 1600], b[max(0, loud_b[0] - 1600) :]


def _zeros(seconds: float) -> np.ndarray:
    return np.zeros(int(16_000 * seconds), np.float32)


async def test_a_speculative_final_comes_early_and_matches_the_final(client: SttClient) -> None:
    """A silence begins: the utterance is decoded then, long before the end-point (2 s),
    and the final that the end-point brings says exactly the same.

    The stream is held 0.5 s into each pause until the speculative final has come
    (it would wait for ever otherwise: the end-point is 1.5 s of audio further on).
    """
    a, b = load_clip("1089-134686-0001"), load_clip("6930-75918-0000")
    first, second = _trimmed(a.pcm, b.pcm)
    # each speculative final is awaited 0.5 s into a 2.5 s pause
    segments = [
        np.concatenate([first, _zeros(0.4)]),
        np.concatenate([_zeros(2.0), second, _zeros(0.4)]),
        _zeros(2.1),
    ]
    held = await _stream_holding(client, segments, endpoint_silence_ms=2000)
    assert len(held.finals) == 2
    for final in held.finals:
        guesses = [
            p for p in held.partials if p.utterance_index == final.utterance_index and p.speculative
        ]
        assert guesses, f"no speculative final for utterance {final.utterance_index}"
        assert guesses[-1].text == final.text
    assert wer(a.text, held.finals[0].text) <= 0.25 and wer(b.text, held.finals[1].text) <= 0.25


async def test_speech_resuming_after_a_speculative_final_is_announced_at_once(
    client: SttClient,
) -> None:
    """A client answering the speculative final must learn at once that the person went on."""
    a, b = load_clip("6930-75918-0000"), load_clip("1089-134686-0001")
    first, second = _trimmed(a.pcm, b.pcm)
    # a 0.9 s pause: past the speculative point, not the end-point; held 0.4 s into it
    segments = [
        np.concatenate([first, _zeros(0.4)]),
        np.concatenate([_zeros(0.5), second, _zeros(1.5)]),
    ]
    held = await _stream_holding(client, segments, endpoint_silence_ms=1500)
    result = held
    assert len(result.finals) == 1
    spec = next(i for i, p in enumerate(result.partials) if p.speculative)
    resumed = result.partials[spec + 1]
    assert not resumed.speculative and resumed.text == result.partials[spec].text
    assert resumed.end_s > result.partials[spec].end_s
    assert resumed.end_s == pytest.approx(len(first) / 16_000 + 1.0, abs=0.25)
    assert wer(f"{a.text} {b.text}", result.finals[0].text) <= 0.25, result.finals[0].text


async def test_stream_of_encoded_webm_chunks(client: SttClient) -> None:
    clip = load_clip("1089-134686-0010")
    data = encode(clip.pcm, "webm", "libopus", 48_000)
    chunks = [data[i : i + 4000] for i in range(0, len(data), 4000)]
    result = await client.stream(chunks, asr_pb2.RecognitionConfig(), interval_s=0.0)
    assert wer(clip.text, result.text) <= 0.2, result.text


async def test_stream_must_start_with_config(client: SttClient) -> None:
    async def requests() -> AsyncIterator[asr_pb2.RecognizeStreamRequest]:
        yield asr_pb2.RecognizeStreamRequest(audio=b"\x00\x00" * 1600)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for _ in client.stub.RecognizeStream(requests()):
            pass
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "config" in refused.value.details()


async def test_stream_of_garbage_is_refused(client: SttClient) -> None:
    chunks = [b"this is not audio at all " * 200] * 3
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.stream(chunks, asr_pb2.RecognitionConfig())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_busy_service_says_so(tmp_path: Path) -> None:
    env = service_env(tmp_path, tmp_path / "models", JUNE_STT_MAX_CONCURRENCY="1")
    running = launch("stt", env, tmp_path)
    try:
        wait_healthy(running)
        async with SttClient(f"127.0.0.1:{running.ports.grpc}") as c:
            clip = load_clip("jfk")
            holding = asyncio.ensure_future(c.stream_pcm(clip.pcm, realtime=1.0))
            await asyncio.sleep(1.0)  # the stream holds the only slot
            with pytest.raises(grpc.aio.AioRpcError) as busy:
                await c.recognize(load_clip("1089-134686-0001").path.read_bytes())
            assert busy.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "busy" in busy.value.details()
            assert wer(clip.text, (await holding).text) <= 0.15
    finally:
        assert running.stop() == 0


async def test_metrics_count_audio_and_errors(stt_service: Running, client: SttClient) -> None:
    """A request shows in the service's metrics: its audio, its processing, its refusal."""
    from prometheus_client.parser import text_string_to_metric_families

    def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        text = httpx.get(f"{stt_service.base_url}/metrics", timeout=5).text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    clip = load_clip("1089-134686-0010")
    before = scrape()
    await client.recognize(clip.path.read_bytes())
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.recognize(b"this is not audio at all " * 200)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    unary = {"method": "Recognize"}
    assert grew("june_stt_requests_total", **unary) == 2
    assert grew("june_stt_audio_seconds_total", **unary) == pytest.approx(
        len(clip.pcm) / 16_000, abs=0.1
    )
    assert grew("june_stt_processing_seconds_total", **unary) > 0
    assert grew("june_stt_real_time_factor_count", **unary) == 1  # the refused one has none
    assert grew("june_stt_errors_total", code="INVALID_ARGUMENT", **unary) == 1
