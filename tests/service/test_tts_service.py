"""The tts service for real: `june serve tts` in a subprocess, over gRPC, checked by ear (STT)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import av
import grpc
import numpy as np
import pytest

from june.audio import decode_audio
from june.protos import tts_pb2
from june.stt.engine import WhisperEngine
from june.stt.server import load_engine as load_stt
from june.tts.client import TtsClient
from tests.cli import run_june as _june
from tests.conftest import make_settings
from tests.processes import Metrics, Running, launch, service_env, wait_healthy
from tests.speech import wer

FIVE = (
    "Good morning! The meeting starts at 10:30 in room 4. Dr. Smith will present the results. "
    "The budget grew by 15% to $1.2 million. Please bring your notes, e.g. the summary."
)


@pytest.fixture(scope="module")
def tts_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("tts-service")
    env = service_env(tmp, tmp / "models", JUNE_TTS_MAX_TEXT_CHARS="2000")
    running = launch("tts", env, tmp)
    wait_healthy(running)
    yield running
    assert running.stop() == 0


@pytest.fixture
async def client(tts_service: Running) -> AsyncIterator[TtsClient]:
    async with TtsClient(f"127.0.0.1:{tts_service.ports.grpc}") as c:
        yield c


@pytest.fixture(scope="module")
def stt(tmp_path_factory: pytest.TempPathFactory) -> WhisperEngine:
    return load_stt(make_settings(tmp_path_factory.mktemp("tts-stt")))


def probe(data: bytes) -> tuple[int, float]:
    """(declared sample rate, duration in seconds) of an encoded file, read back with FFmpeg."""
    with av.open(io.BytesIO(data)) as box:
        stream = box.streams.audio[0]
        samples = sum(frame.samples for frame in box.decode(stream))
        return stream.rate, samples / stream.rate


@pytest.mark.parametrize(
    ("fmt", "rate"),
    [
        (tts_pb2.AUDIO_FORMAT_WAV, 22_050),
        (tts_pb2.AUDIO_FORMAT_PCM_S16LE, 22_050),
        (tts_pb2.AUDIO_FORMAT_OGG_OPUS, 48_000),
        (tts_pb2.AUDIO_FORMAT_MP3, 22_050),
    ],
)
async def test_every_format_decodes_to_the_stated_rate_and_duration(
    client: TtsClient, fmt: int, rate: int
) -> None:
    result = await client.synthesize(FIVE, tts_pb2.SynthesisConfig(format=fmt))
    assert result.summary is not None and result.summary.sentences == 5
    assert result.sample_rate_hz == rate
    if fmt == tts_pb2.AUDIO_FORMAT_PCM_S16LE:
        declared, seconds = rate, len(result.audio) / 2 / rate
    else:
        declared, seconds = probe(result.audio)
    assert declared == rate
    assert seconds == pytest.approx(result.summary.audio_s, abs=0.15)
    assert 6 < seconds < 20


async def test_a_requested_sample_rate_is_honoured(client: TtsClient) -> None:
    config = tts_pb2.SynthesisConfig(format=tts_pb2.AUDIO_FORMAT_WAV, sample_rate_hz=16_000)
    result = await client.synthesize("Sixteen kilohertz, please.", config)
    rate, seconds = probe(result.audio)
    assert rate == 16_000 and result.sample_rate_hz == 16_000
    assert seconds == pytest.approx(result.summary.audio_s, abs=0.05)  # type: ignore[union-attr]


async def test_speech_is_intelligible(client: TtsClient, stt: WhisperEngine) -> None:
    text = "The quick brown fox jumps over the lazy dog near the river."
    result = await client.synthesize(text)
    heard = stt.transcribe(decode_audio(result.audio), stt.default_options())
    assert wer(text, heard.text) <= 0.2, heard.text


async def test_numbers_and_markdown_are_read_as_a_listener_expects(
    client: TtsClient, stt: WhisperEngine
) -> None:
    result = await client.synthesize("**Total:** 42 apples 🍎")
    assert result.sentences == ["Total: forty-two apples"] or "forty" in " ".join(result.sentences)
    heard = stt.transcribe(decode_audio(result.audio), stt.default_options())
    assert "42" in heard.text or "forty" in heard.text.lower()
    assert "star" not in heard.text.lower() and "apple" in heard.text.lower()


async def test_one_chunk_per_sentence_in_order(client: TtsClient) -> None:
    result = await client.synthesize(
        FIVE, tts_pb2.SynthesisConfig(format=tts_pb2.AUDIO_FORMAT_PCM_S16LE)
    )
    assert len(result.sentences) == 5
    assert result.sentences[2].startswith("Doctor Smith")
    assert len(result.chunk_times) >= 5


async def test_stream_speaks_the_first_sentence_before_the_rest_is_written(
    client: TtsClient,
) -> None:
    """The client withholds the second sentence until it has heard the first: no deadlock."""
    outbox: asyncio.Queue[tts_pb2.SynthesizeStreamRequest | None] = asyncio.Queue()

    async def requests() -> AsyncIterator[tts_pb2.SynthesizeStreamRequest]:
        while (message := await outbox.get()) is not None:
            yield message

    config = tts_pb2.SynthesisConfig(format=tts_pb2.AUDIO_FORMAT_OGG_OPUS)
    outbox.put_nowait(tts_pb2.SynthesizeStreamRequest(config=config))
    for delta in ["Hel", "lo the", "re. ", "How"]:  # an LLM's token stream
        outbox.put_nowait(tts_pb2.SynthesizeStreamRequest(text=delta))
    call = client.stub.SynthesizeStream(requests())
    first = await asyncio.wait_for(call.read(), timeout=30)
    assert first.sentence == "Hello there." and first.audio and first.sentence_index == 0
    for delta in [" are you", " today?"]:
        outbox.put_nowait(tts_pb2.SynthesizeStreamRequest(text=delta))
    outbox.put_nowait(tts_pb2.SynthesizeStreamRequest(end=tts_pb2.EndOfInput()))
    outbox.put_nowait(None)
    rest = []
    while (response := await call.read()) is not grpc.aio.EOF:
        rest.append(response)
    assert [r.sentence for r in rest if r.sentence] == ["How are you today?"]
    audio = first.audio + b"".join(r.audio for r in rest)
    assert probe(audio)[1] == pytest.approx(rest[-1].summary.audio_s, abs=0.15)


BAD = {
    "empty text": (tts_pb2.SynthesizeRequest(text="   "), "empty"),
    "only emoji": (tts_pb2.SynthesizeRequest(text="🎉🎉"), "nothing to read"),
    "too long": (tts_pb2.SynthesizeRequest(text="word " * 500), "limit"),
    "unknown voice": (
        tts_pb2.SynthesizeRequest(text="Hi.", config=tts_pb2.SynthesisConfig(voice="nobody")),
        "unknown voice",
    ),
    "unknown format": (
        tts_pb2.SynthesizeRequest(text="Hi.", config=tts_pb2.SynthesisConfig(format=9)),
        "format",
    ),
    "bad speed": (
        tts_pb2.SynthesizeRequest(text="Hi.", config=tts_pb2.SynthesisConfig(length_scale=40)),
        "length_scale",
    ),
    "unknown speaker": (
        tts_pb2.SynthesizeRequest(text="Hi.", config=tts_pb2.SynthesisConfig(speaker="bob")),
        "speaker",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
async def test_bad_requests_are_refused_and_the_service_goes_on(
    client: TtsClient, case: str
) -> None:
    request, words = BAD[case]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for _ in client.stub.Synthesize(request):
            pass
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in refused.value.details()
    ok = await client.synthesize("Still here.")
    assert ok.summary is not None and ok.summary.audio_s > 0.3


async def test_stream_must_start_with_config(client: TtsClient) -> None:
    async def requests() -> AsyncIterator[tts_pb2.SynthesizeStreamRequest]:
        yield tts_pb2.SynthesizeStreamRequest(text="Hello.")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for _ in client.stub.SynthesizeStream(requests()):
            pass
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_voices_are_listed(client: TtsClient) -> None:
    voices = await client.voices()
    default = [v for v in voices if v.is_default]
    assert [v.id for v in default] == ["piper-en_US-joe-medium"]
    assert default[0].installed and default[0].sample_rate_hz == 22_050
    assert default[0].language == "en_US"
    assert await client.voices(language="de") == []


async def test_metrics_count_characters_and_first_chunk(
    tts_service: Running, client: TtsClient
) -> None:
    """A synthesis shows in the service's metrics: its characters, audio and first chunk."""
    before = Metrics(tts_service.base_url)
    said = await client.synthesize("Good morning. The weather is bright and calm today.")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.synthesize("   ")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    after = Metrics(tts_service.base_url)

    def grew(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert said.summary is not None and len(said.sentences) == 2
    voice = {"voice": said.summary.voice}
    assert voice == {"voice": "piper-en_US-joe-medium"}
    assert grew("june_tts_requests_total", method="Synthesize") == 2
    assert grew("june_tts_characters_total", **voice) == sum(map(len, said.sentences)) > 40
    assert grew("june_tts_audio_seconds_total", **voice) == pytest.approx(said.summary.audio_s)
    assert said.summary.audio_s > 2.0
    assert grew("june_tts_real_time_factor_count", **voice) == 1
    assert grew("june_tts_time_to_first_chunk_seconds_count", method="Synthesize") == 1
    assert grew("june_tts_errors_total", code="INVALID_ARGUMENT", method="Synthesize") == 1


def test_june_say_writes_a_playable_file(tmp_path: Path, stt: WhisperEngine) -> None:
    out = tmp_path / "hello.ogg"
    result = _june(tmp_path, "say", "Hello from June. It is 9:05 am.", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rate, seconds = probe(out.read_bytes())
    assert rate == 48_000 and seconds > 1.5
    heard = stt.transcribe(decode_audio(out.read_bytes()), stt.default_options()).text
    assert "june" in heard.lower()


def test_june_say_refuses_empty_text(tmp_path: Path) -> None:
    result = _june(tmp_path, "say", "", "--out", str(tmp_path / "x.wav"))
    assert result.returncode == 2 and "empty" in result.stderr
    assert not (tmp_path / "x.wav").exists()


def test_june_voices_json(tmp_path: Path) -> None:
    result = _june(tmp_path, "voices", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert any(r["id"] == "piper-en_US-joe-medium" and r["default"] for r in rows)


async def test_a_one_word_answer_is_audible(client: TtsClient) -> None:
    config = tts_pb2.SynthesisConfig(format=tts_pb2.AUDIO_FORMAT_PCM_S16LE)
    pcm = np.frombuffer((await client.synthesize("Yes.", config)).audio, "<i2")
    assert len(pcm) > 2_000 and np.abs(pcm).max() > 1_000
