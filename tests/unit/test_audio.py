"""june.audio on real speech: every input format decodes, every output format round-trips,
streams decode as they arrive, and bad input is refused with a clear AudioError.

Test inputs are made here with PyAV from the committed speech fixtures (no extra
files): the JFK clip (44.1 kHz stereo 24-bit FLAC, 11.0 s) re-encoded into each
container/codec a user or Telegram sends. Lossless formats must match the
reference waveform; lossy ones its energy envelope. No Whisper here.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from functools import cache
from pathlib import Path

import av
import numpy as np
import pytest

from june.audio import (
    OUTPUT_FORMATS,
    SAMPLE_RATE,
    AudioError,
    AudioLimits,
    StreamDecoder,
    StreamEncoder,
    content_type,
    decode_audio,
    decode_file,
    encode_audio,
    file_extension,
    is_silent,
    output_sample_rate,
    parse_output_format,
    pcm_to_float,
    wav_header,
)
from june.audio.decode import iter_decode

SPEECH = Path(__file__).parents[1] / "fixtures" / "speech"
JFK = SPEECH / "jfk.flac"  # 44.1 kHz, stereo, 24-bit, 11.0 s
LIBRI = SPEECH / "1089-134686-0001.flac"  # 16 kHz mono, 3.275 s
LJ = SPEECH / "LJ001-0002.wav"  # 22.05 kHz mono, 1.9 s
JFK_S = 11.0
FRAME = 320  # 20 ms at 16 kHz: the envelope resolution, and one Opus frame


# ------------------------------------------------------------------ helpers
@cache
def source(path: Path) -> tuple[np.ndarray, int]:
    """A fixture as PyAV reads it: float32 (channels, samples) at its own rate."""
    with av.open(str(path)) as box:
        stream = box.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=stream.rate)
        frames = [f for fr in box.decode(stream) for f in resampler.resample(fr)]
        frames += resampler.resample(None)
        return np.concatenate([f.to_ndarray() for f in frames], axis=1), stream.rate


class WriteOnly:
    """A sink without seek, like a browser's MediaRecorder: no duration, no index."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def pyav_encode(
    path: Path,
    container: str,
    codec: str,
    sample_fmt: str,
    rate: int,
    layout: str,
    seekable: bool = True,
) -> bytes:
    """Re-encode a speech fixture with PyAV the way a client would send it."""
    pcm, src_rate = source(path)
    src_layout = "stereo" if pcm.shape[0] == 2 else "mono"
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(pcm.T).reshape(1, -1), format="flt", layout=src_layout
    )
    frame.sample_rate = src_rate
    sink: io.BytesIO | WriteOnly = io.BytesIO() if seekable else WriteOnly()
    with av.open(sink, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        stream.codec_context.format = sample_fmt
        out.start_encoding()
        resampler = av.AudioResampler(
            format=sample_fmt,
            layout=layout,
            rate=rate,
            frame_size=stream.codec_context.frame_size or None,
            options={"rematrix_maxval": "1.0"},
        )
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    return sink.getvalue()


@cache
def reference(path: Path, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The expected signal: the fixture averaged to mono and resampled by PyAV directly."""
    pcm, src_rate = source(path)
    layout = "stereo" if pcm.shape[0] == 2 else "mono"
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(pcm.T).reshape(1, -1), format="flt", layout=layout
    )
    frame.sample_rate = src_rate
    resampler = av.AudioResampler(
        format="flt", layout="mono", rate=rate, options={"rematrix_maxval": "1.0"}
    )
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in out])


def waveform_corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def envelope(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME * FRAME
    return np.sqrt(np.mean(x[:n].reshape(-1, FRAME) ** 2, axis=1))


def envelope_corr(a: np.ndarray, b: np.ndarray, max_shift: int = 2400) -> float:
    """Correlation of 20 ms RMS envelopes, after undoing up to 0.15 s of codec delay."""
    n = min(len(a), len(b))
    spectrum = np.fft.rfft(a[:n], 2 * n) * np.conj(np.fft.rfft(b[:n], 2 * n))
    xcorr = np.fft.irfft(spectrum)
    lags = np.r_[xcorr[: max_shift + 1], xcorr[-max_shift:]]
    shift = int(np.argmax(lags))
    shift = shift if shift <= max_shift else shift - len(lags)
    a, b = (a[shift:], b) if shift >= 0 else (a, b[-shift:])
    ea, eb = envelope(a), envelope(b)
    m = min(len(ea), len(eb))
    return float(np.corrcoef(ea[:m], eb[:m])[0, 1])


def seconds(pcm: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    return len(pcm) / rate


def declared_rate(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as box:
        return box.streams.audio[0].rate


def refused(data: bytes, limits: AudioLimits = AudioLimits()) -> AudioError:
    with pytest.raises(AudioError) as info:
        decode_audio(data, limits)
    return info.value


@pytest.fixture
def count_decoded(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Seconds of decoded audio that reach the resampler (proves where decoding stopped)."""
    counted = {"s": 0.0}
    real = av.AudioResampler

    class Counting:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self._inner = real(*args, **kwargs)

        def resample(self, frame: av.AudioFrame | None) -> list[av.AudioFrame]:
            if frame is not None:
                counted["s"] += frame.samples / frame.sample_rate
            return self._inner.resample(frame)

    monkeypatch.setattr(av, "AudioResampler", Counting)
    return counted


# ------------------------------------------------- every input format decodes
# (id, container, codec, sample format, rate, layout, lossless, seekable)
INPUTS = [
    ("wav-u8-8k-mono", "wav", "pcm_u8", "u8", 8000, "mono", False, True),
    ("wav-s16-22k-mono", "wav", "pcm_s16le", "s16", 22050, "mono", True, True),
    ("wav-s24-44k-stereo", "wav", "pcm_s24le", "s32", 44100, "stereo", True, True),
    ("wav-s32-48k-stereo", "wav", "pcm_s32le", "s32", 48000, "stereo", True, True),
    ("wav-f32-16k-mono", "wav", "pcm_f32le", "flt", 16000, "mono", True, True),
    ("flac-48k-stereo", "flac", "flac", "s16", 48000, "stereo", True, True),
    ("mp3-44k-stereo", "mp3", "libmp3lame", "fltp", 44100, "stereo", False, True),
    ("ogg-opus-48k-mono-telegram", "ogg", "libopus", "flt", 48000, "mono", False, True),
    ("webm-opus-48k-mono-mediarecorder", "webm", "libopus", "flt", 48000, "mono", False, False),
    ("m4a-aac-44k-mono", "ipod", "aac", "fltp", 44100, "mono", False, True),
]


@pytest.mark.parametrize(
    ("container", "codec", "sample_fmt", "rate", "layout", "lossless", "seekable"),
    [case[1:] for case in INPUTS],
    ids=[case[0] for case in INPUTS],
)
def test_every_input_format_decodes_real_speech(
    container: str,
    codec: str,
    sample_fmt: str,
    rate: int,
    layout: str,
    lossless: bool,
    seekable: bool,
) -> None:
    data = pyav_encode(JFK, container, codec, sample_fmt, rate, layout, seekable)
    pcm = decode_audio(data)
    ref = reference(JFK)
    assert pcm.dtype == np.float32 and pcm.ndim == 1
    assert np.abs(pcm).max() <= 1.0
    assert abs(seconds(pcm) - JFK_S) < 0.05
    if lossless:
        assert waveform_corr(pcm, ref) > 0.999
    else:  # unrelated speech scores about 0.1
        assert envelope_corr(pcm, ref) > 0.98


def test_original_fixtures_decode_to_their_stated_duration() -> None:
    rows = [json.loads(line) for line in (SPEECH / "index.jsonl").read_text().splitlines()]
    for row in rows:
        pcm = decode_file(SPEECH / row["audio"])
        assert abs(seconds(pcm) - row["duration_s"]) < 0.05, row["id"]
    # 16 kHz mono FLAC needs no resampling: the samples come through exactly.
    assert np.array_equal(decode_file(LIBRI), reference(LIBRI))
    assert waveform_corr(decode_file(JFK), reference(JFK)) > 0.999


def test_stereo_is_averaged_not_summed() -> None:
    speech = 0.9 * reference(LIBRI) / np.abs(reference(LIBRI)).max()
    for right, gain in ((speech, 1.0), (np.zeros_like(speech), 0.5)):
        stereo = np.stack([speech, right], axis=1).astype("<f4").tobytes()
        raw = pcm_to_float(stereo, "f32le", SAMPLE_RATE, channels=2)
        assert np.allclose(raw, gain * speech, atol=1e-4)
        data = encode_wav_f32_stereo(speech, right)
        assert np.allclose(decode_audio(data), gain * speech, atol=1e-4)


def encode_wav_f32_stereo(left: np.ndarray, right: np.ndarray) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="wav") as box:
        stream = box.add_stream("pcm_f32le", rate=SAMPLE_RATE, layout="stereo")
        frame = av.AudioFrame.from_ndarray(
            np.stack([left, right]).astype(np.float32), format="fltp", layout="stereo"
        )
        frame.sample_rate = SAMPLE_RATE
        box.mux(stream.encode(frame))
        box.mux(stream.encode(None))
    return out.getvalue()


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_keeps_pitch_level_and_length(rate: int) -> None:
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype("<f4")
    pcm = pcm_to_float(tone.tobytes(), "f32le", rate)
    assert abs(len(pcm) - SAMPLE_RATE) <= 2
    spectrum = np.abs(np.fft.rfft(pcm[1000:-1000] * np.hanning(len(pcm) - 2000)))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / (len(pcm) - 2000)
    assert abs(peak_hz - 1000) < 2
    rms = float(np.sqrt(np.mean(pcm[1000:-1000] ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


# --------------------------------------------------------------------- raw PCM
def test_raw_pcm_s16le_and_f32le() -> None:
    ref = reference(LIBRI)
    s16 = np.round(ref * 32767).astype("<i2").tobytes()
    assert np.allclose(pcm_to_float(s16, "s16le", SAMPLE_RATE), ref, atol=1 / 16384)
    stereo_48k = pyav_encode(JFK, "wav", "pcm_f32le", "flt", 48000, "stereo")
    raw = stereo_48k[stereo_48k.index(b"data") + 8 :]
    pcm = pcm_to_float(raw, "f32le", 48000, channels=2)
    assert abs(seconds(pcm) - JFK_S) < 0.01
    assert waveform_corr(pcm, reference(JFK)) > 0.99


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((b"", "s16le", 16000), "empty"),
        ((b"\x00" * 1001, "s16le", 16000), "bad_format"),
        ((b"\x00" * 12, "f32le", 16000, 2), "bad_format"),
        ((b"\x00" * 16, "u8", 16000), "bad_format"),
        ((b"\x00" * 16, "s16le", 0), "bad_format"),
        ((b"\x00" * 16, "s16le", 16000, 0), "bad_format"),
    ],
)
def test_raw_pcm_refuses_bad_parameters(args: tuple, code: str) -> None:
    with pytest.raises(AudioError) as info:
        pcm_to_float(*args)
    assert info.value.code == code and not info.value.exhausted


def test_raw_pcm_limits() -> None:
    one_minute = b"\x00\x00" * 16000 * 60
    with pytest.raises(AudioError) as info:
        pcm_to_float(one_minute, "s16le", 16000, limits=AudioLimits(max_duration_s=30))
    assert info.value.code == "too_long" and info.value.exhausted
    assert str(info.value) == "the audio is 1.0 min long; the limit is 30.0 s"


# ------------------------------------------------------------------ bad input
@cache
def whole(kind: str) -> bytes:
    """Complete files as a seekable writer leaves them (with length headers)."""
    specs = {
        "flac": ("flac", "flac", "s16", 16000, "mono"),
        "mp3": ("mp3", "libmp3lame", "fltp", 16000, "mono"),
        "ogg": ("ogg", "libopus", "flt", 48000, "mono"),
        "wav": ("wav", "pcm_s16le", "s16", 16000, "mono"),
        "m4a": ("ipod", "aac", "fltp", 16000, "mono"),
        "webm": ("webm", "libopus", "flt", 48000, "mono"),
    }
    return pyav_encode(JFK, *specs[kind])


def test_empty_upload() -> None:
    error = refused(b"")
    assert (error.code, str(error)) == ("empty", "the audio is empty (0 bytes)")


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"Hello June, this is a note, not a voice message.\n" * 40, "a text file"),
        (b'{"audio": "none", "list": [1, 2, 3]}', "JSON or other text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "a PNG image"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 8, "a PDF document"),
        (np.random.default_rng(7).bytes(50_000), "unrecognised binary data"),
    ],
    ids=["text", "json", "png", "pdf", "random-bytes"],
)
def test_not_audio_is_named(data: bytes, named: str) -> None:
    error = refused(data)
    assert error.code == "not_audio" and not error.exhausted
    assert str(error) == f"this is not audio: no audio stream found (got {named})"


@pytest.mark.parametrize("kind", ["flac", "mp3", "wav", "webm"])
def test_file_cut_in_half_is_refused_as_truncated(kind: str) -> None:
    """These containers state their length, so a cut upload is known to be cut."""
    data = whole(kind)
    error = refused(data[: len(data) // 2])
    assert error.code == "truncated" and not error.exhausted
    assert str(error).startswith("the audio is truncated: the file says it is 11.0 s long")


def test_ogg_cut_in_half_decodes_what_is_there() -> None:
    """OGG states no length: a cut file is indistinguishable from a shorter recording."""
    data = whole("ogg")
    pcm = decode_audio(data[: len(data) // 2])
    assert 4.0 < seconds(pcm) < 7.0
    assert envelope_corr(pcm, reference(JFK)[: len(pcm)]) > 0.95


@pytest.mark.parametrize("kind", ["flac", "mp3", "ogg", "wav", "m4a", "webm"])
def test_file_cut_inside_its_header_is_an_error(kind: str) -> None:
    error = refused(whole(kind)[:40])
    assert error.code in ("corrupt", "truncated") and not error.exhausted
    assert str(error).startswith(("the audio is corrupt or truncated", "the audio is truncated"))


def test_mostly_garbage_after_a_valid_header_is_corrupt() -> None:
    data = whole("mp3")[:2000] + np.random.default_rng(3).bytes(60_000)
    error = refused(data)
    assert error.code == "corrupt"
    assert "packets could not be decoded" in str(error)


def test_a_damaged_stretch_is_skipped_not_fatal() -> None:
    data = bytearray(whole("mp3"))
    data[30_000:31_000] = np.random.default_rng(5).bytes(1000)
    pcm = decode_audio(bytes(data))
    assert seconds(pcm) > 10.0


def test_ffmpeg_says_nothing_on_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """FFmpeg's complaints about bad input reach the user as June's answer, not as noise."""
    data = bytearray(whole("m4a"))
    data[20_000:30_000] = np.random.default_rng(1).bytes(10_000)
    assert 8.0 < seconds(decode_audio(bytes(data))) < JFK_S  # the damaged stretch is skipped
    truncated = refused(whole("flac")[:50_000])
    assert truncated.code == "truncated"
    assert str(truncated).startswith("the audio is truncated: the file says it is 11.0 s long")
    garbage = refused(b"garbage" * 100)
    assert garbage.code == "not_audio"
    assert str(garbage) == "this is not audio: no audio stream found (got a text file)"
    assert capfd.readouterr().err == ""


# -------------------------------------------------------------------- limits
def test_over_the_byte_limit_is_refused_before_decoding(count_decoded: dict[str, float]) -> None:
    error = refused(JFK.read_bytes(), AudioLimits(max_bytes=1_000_000))
    assert (error.code, error.exhausted) == ("too_large", True)
    assert str(error) == "the upload is 1.2 MB; the limit is 1.0 MB"
    error = refused(bytes(61_200_000))
    assert str(error) == "the upload is 61.2 MB; the limit is 50.0 MB"
    assert count_decoded["s"] == 0


def test_stated_length_over_the_limit_is_refused_without_decoding(
    count_decoded: dict[str, float],
) -> None:
    error = refused(JFK.read_bytes(), AudioLimits(max_duration_s=5))
    assert (error.code, error.exhausted) == ("too_long", True)
    assert str(error) == "the audio is 11.0 s long; the limit is 5.0 s"
    sixteen_minutes = wav_header(16000, 16 * 60 * 32000) + bytes(32000)
    assert str(refused(sixteen_minutes)) == "the audio is 16.0 min long; the limit is 15.0 min"
    assert count_decoded["s"] == 0


def test_decoding_stops_as_soon_as_the_duration_limit_is_passed(
    count_decoded: dict[str, float],
) -> None:
    """A streamed WAV states no length: ten minutes of it, and a 30 s limit."""
    speech = np.round(reference(LIBRI) * 32767).astype("<i2").tobytes()
    data = wav_header(8000, None) + speech * 92  # 8 kHz: 6.55 s per copy, 10 min
    limits = AudioLimits(max_duration_s=30)
    error = refused(data, limits)
    assert (error.code, error.exhausted) == ("too_long", True)
    assert str(error) == "the audio is longer than 30.0 s; the limit is 30.0 s"
    assert 29 < count_decoded["s"] <= 30  # not a frame past the limit, let alone ten minutes

    class Counting(io.BytesIO):
        """The input as FFmpeg reads it, remembering how far it got."""

        furthest = 0

        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            self.furthest = max(self.furthest, self.tell())
            return chunk

    source = Counting(data)
    with pytest.raises(AudioError, match=r"longer than 30\.0 s"):
        for _ in iter_decode(source, lambda: data, limits):
            pass
    # Reading stopped at the limit too: about 30 s of the 10 min (16,000 bytes a second)
    assert 30 * 16_000 < source.furthest < 40 * 16_000 < len(data)


# ------------------------------------------------------------------- silence
def test_is_silent() -> None:
    speech = reference(LIBRI)
    assert is_silent(np.zeros(16000, np.float32))
    assert is_silent(np.zeros(0, np.float32))
    assert not is_silent(speech)
    assert is_silent(speech * 10 ** (-50 / 20))  # speech at about -70 dBFS
    assert is_silent(np.random.default_rng(0).normal(0, 1e-4, 16000).astype(np.float32))
    word_in_silence = np.zeros(16000 * 10, np.float32)
    word_in_silence[80_000:84_000] = speech[20_000:24_000]
    assert not is_silent(word_in_silence)
    assert not is_silent((speech * 32767).astype(np.int16))


# -------------------------------------------------------------------- output
@pytest.mark.parametrize("fmt", OUTPUT_FORMATS)
@pytest.mark.parametrize("rate", [16000, 22050])
def test_every_output_format_decodes_back(fmt: str, rate: int) -> None:
    pcm = reference(LJ, rate)
    data = encode_audio(pcm, rate, fmt)  # type: ignore[arg-type]
    if fmt == "pcm_s16le":
        assert len(data) == 2 * len(pcm)
        back = pcm_to_float(data, "s16le", rate, target_rate=rate)
        assert np.allclose(back, pcm, atol=1 / 16384)
        return
    assert declared_rate(data) == output_sample_rate(fmt, rate)  # type: ignore[arg-type]
    back = decode_audio(data)
    assert abs(seconds(back) - seconds(pcm, rate)) < 0.05
    if fmt in ("wav", "flac"):
        assert waveform_corr(back, reference(LJ)) > 0.999
    else:
        assert envelope_corr(back, reference(LJ)) > 0.98


def test_output_rates_types_and_names() -> None:
    assert output_sample_rate("ogg_opus", 22050) == 48000
    assert output_sample_rate("mp3", 22050) == 22050
    assert output_sample_rate("mp3", 20000) == 22050
    assert output_sample_rate("mp3", 96000) == 48000
    assert output_sample_rate("wav", 22050) == 22050
    assert content_type("ogg_opus") == "audio/ogg; codecs=opus"
    assert content_type("mp3") == "audio/mpeg"
    assert content_type("wav") == "audio/wav"
    assert file_extension("ogg_opus") == ".ogg"
    assert parse_output_format("OGG") == "ogg_opus"
    assert parse_output_format(".mp3") == "mp3"
    assert parse_output_format("pcm") == "pcm_s16le"
    with pytest.raises(AudioError) as info:
        parse_output_format("aiff")
    assert info.value.code == "bad_format" and "choose one of" in str(info.value)


def test_encode_accepts_int16_and_refuses_stereo() -> None:
    pcm = (reference(LIBRI) * 32767).astype(np.int16)
    assert decode_audio(encode_audio(pcm, SAMPLE_RATE, "wav")).size == pcm.size
    assert decode_audio(encode_audio(pcm[:, None], SAMPLE_RATE, "flac")).size == pcm.size
    with pytest.raises(AudioError) as info:
        encode_audio(np.zeros((100, 2), np.float32), SAMPLE_RATE, "wav")
    assert info.value.code == "bad_format"
    with pytest.raises(AudioError):
        encode_audio(pcm, SAMPLE_RATE, "aiff")  # type: ignore[arg-type]


# ------------------------------------------------------------ stream decoding
@cache
def opus_stream(container: str) -> bytes:
    """OGG/Opus, and WebM/Opus as MediaRecorder writes it (no duration, no cues)."""
    return pyav_encode(JFK, container, "libopus", "flt", 48000, "mono", seekable=False)


@pytest.mark.parametrize("container", ["webm", "ogg"])
def test_stream_decoder_is_incremental_and_complete(container: str) -> None:
    data = opus_stream(container)
    pieces = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    chunks: list[np.ndarray] = []
    first_after: int | None = None
    with StreamDecoder() as decoder:
        for n, piece in enumerate(pieces, 1):
            decoder.feed(piece)
            if first_after is None:
                try:
                    chunks.append(decoder.read(timeout=0.5))  # type: ignore[arg-type]
                    first_after = n
                except TimeoutError:
                    pass
        assert first_after is not None and first_after < len(pieces)  # before end(), not at it
        decoder.end()
        while (chunk := decoder.read(timeout=10)) is not None:
            chunks.append(chunk)
    streamed = np.concatenate(chunks)
    assert streamed.dtype == np.float32
    assert abs(len(streamed) - len(decode_audio(data))) <= FRAME
    assert abs(seconds(streamed) - JFK_S) < 0.05


async def test_stream_decoder_aread_does_not_block_the_loop() -> None:
    data = opus_stream("webm")
    decoder = StreamDecoder()
    ticks = 0

    async def send() -> None:
        for i in range(0, len(data), 4096):
            decoder.feed(data[i : i + 4096])
            await asyncio.sleep(0.005)
        decoder.end()

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    sender, ticker = asyncio.create_task(send()), asyncio.create_task(tick())
    total = 0
    while (chunk := await decoder.aread()) is not None:
        total += len(chunk)
    await sender
    ticker.cancel()
    decoder.close()
    assert abs(total - len(decode_audio(data))) <= FRAME
    assert ticks > 10


def test_stream_decoder_refuses_garbage_and_its_thread_ends() -> None:
    decoder = StreamDecoder()
    decoder.feed(np.random.default_rng(11).bytes(40_000))
    decoder.end()
    with pytest.raises(AudioError) as info:
        decoder.read(timeout=10)
    assert info.value.code == "not_audio"
    deadline = time.monotonic() + 5
    while decoder.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not decoder.running
    with pytest.raises(AudioError):
        decoder.feed(b"more")
    with pytest.raises(AudioError):
        decoder.read(timeout=1)  # the error stays


def test_stream_decoder_empty_stream() -> None:
    with StreamDecoder() as decoder:
        decoder.end()
        with pytest.raises(AudioError) as info:
            decoder.read(timeout=10)
    assert str(info.value) == "the audio is empty (0 bytes)"


def test_stream_decoder_limits() -> None:
    data = opus_stream("ogg")
    decoder = StreamDecoder(AudioLimits(max_bytes=10_000))
    with pytest.raises(AudioError) as info:
        for i in range(0, len(data), 4096):
            decoder.feed(data[i : i + 4096])
    assert (info.value.code, info.value.exhausted) == ("too_large", True)
    assert str(info.value) == "the upload is 12.3 kB so far; the limit is 10.0 kB"
    decoder.close()

    decoder = StreamDecoder(AudioLimits(max_duration_s=3))
    decoded = 0
    with pytest.raises(AudioError) as info:
        for i in range(0, len(data), 4096):
            decoder.feed(data[i : i + 4096])
            time.sleep(0.01)
        decoder.end()
        while (chunk := decoder.read(timeout=10)) is not None:
            decoded += len(chunk)
    assert (info.value.code, info.value.exhausted) == ("too_long", True)
    assert decoded <= 3 * SAMPLE_RATE
    decoder.close()
    assert not decoder.running


def test_stream_decoder_close_is_always_safe() -> None:
    idle = StreamDecoder()
    idle.close()
    idle.close()
    assert not idle.running
    busy = StreamDecoder()
    busy.feed(opus_stream("webm")[:5000])
    busy.close()
    assert not busy.running
    while busy.read(timeout=1) is not None:  # whatever was decoded before close, then the end
        pass


# ------------------------------------------------------------ stream encoding
@pytest.mark.parametrize(
    ("fmt", "tolerance_s"),
    [("ogg_opus", 0.05), ("mp3", 0.12), ("wav", 0.001), ("flac", 0.001), ("pcm_s16le", 0.001)],
)
def test_stream_encoder_output_is_one_valid_file(fmt: str, tolerance_s: float) -> None:
    rate = 22050  # Piper's medium voices
    pcm = reference(LJ, rate)
    encoder = StreamEncoder(fmt, rate)  # type: ignore[arg-type]
    step = rate // 4
    parts = [encoder.push(pcm[i : i + step]) for i in range(0, len(pcm), step)]
    assert parts[0], "the first push already gives bytes to send"
    parts.append(encoder.finish())
    data = b"".join(parts)
    if fmt == "pcm_s16le":
        assert len(data) == 2 * len(pcm)
        return
    if fmt == "wav":
        assert data[4:8] == b"\xff\xff\xff\xff" and data[40:44] == b"\xff\xff\xff\xff"
    assert declared_rate(data) == encoder.sample_rate == output_sample_rate(fmt, rate)  # type: ignore[arg-type]
    back = decode_audio(data)
    assert abs(seconds(back) - seconds(pcm, rate)) < tolerance_s + 1 / rate
    assert envelope_corr(back, reference(LJ)) > 0.98
    with pytest.raises(RuntimeError):
        encoder.push(pcm[:100])
    assert encoder.finish() == b""
