"""Mono PCM → the bytes a listener's player or Telegram takes: PCM, WAV, OGG/Opus, MP3, FLAC.

Whole files (:func:`encode_audio`) and streams (:class:`StreamEncoder`, for TTS
that is sent while it is synthesised) share one encoder path. Choices a listener can notice:

* **OGG/Opus is always 48 kHz.** Opus encodes only at 8/12/16/24/48 kHz and
  every decoder plays it back at 48 kHz, so the voice (22.05 kHz for Piper's
  medium voices) is resampled to 48 kHz and the stream declares 48000. Mono,
  32 kbit/s: what Telegram voice notes use, and transparent for speech.
* **MP3** keeps the input rate where MPEG audio has it (8 to 48 kHz), else the
  next higher MPEG rate; 64 kbit/s mono via libmp3lame. A whole MP3 file has
  a Xing/LAME header, so players trim the encoder delay; a streamed MP3 cannot
  (the header would have to be rewritten at the end) and is up to ~0.1 s
  longer: encoder delay at the start, padding of the last frame at the end.
* **WAV** and **PCM** are 16-bit little-endian at the input rate, no
  resampling. **FLAC** is 16-bit at the input rate.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, get_args

import av
import numpy as np

from june.audio.errors import AudioError

OutputFormat = Literal["pcm_s16le", "wav", "ogg_opus", "mp3", "flac"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = get_args(OutputFormat)

OPUS_SAMPLE_RATE = 48_000
_MP3_RATES = (8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)


@dataclass(frozen=True)
class _Spec:
    content_type: str
    extension: str
    container: str | None = None
    codec: str | None = None
    sample_format: str = "s16"
    bit_rate: int | None = None


_SPECS: dict[str, _Spec] = {
    "pcm_s16le": _Spec("audio/pcm", ".pcm"),
    "wav": _Spec("audio/wav", ".wav"),
    "ogg_opus": _Spec("audio/ogg; codecs=opus", ".ogg", "ogg", "libopus", "flt", 32_000),
    "mp3": _Spec("audio/mpeg", ".mp3", "mp3", "libmp3lame", "fltp", 64_000),
    "flac": _Spec("audio/flac", ".flac", "flac", "flac", "s16"),
}

_ALIASES = {
    "pcm": "pcm_s16le",
    "raw": "pcm_s16le",
    "s16le": "pcm_s16le",
    "ogg": "ogg_opus",
    "opus": "ogg_opus",
    "oga": "ogg_opus",
    "mpeg": "mp3",
    "wave": "wav",
}


def parse_output_format(name: str) -> OutputFormat:
    """A format name from a user (``"ogg"``, ``".mp3"``, ``"PCM"``) → an :data:`OutputFormat`."""
    key = name.strip().lower().lstrip(".")
    key = _ALIASES.get(key, key)
    if key not in _SPECS:
        raise AudioError(
            "bad_format",
            f"unknown audio format {name!r}; choose one of: {', '.join(OUTPUT_FORMATS)}",
        )
    return key  # type: ignore[return-value]


def available_output_formats() -> tuple[OutputFormat, ...]:
    """The formats this FFmpeg build can encode (all five with PyAV's wheels)."""
    return tuple(f for f in OUTPUT_FORMATS if _SPECS[f].codec in (None, *av.codecs_available))


def content_type(fmt: OutputFormat) -> str:
    """The HTTP ``Content-Type`` of ``fmt`` (raw PCM is ``audio/pcm``: s16le, mono)."""
    return _spec(fmt).content_type


def file_extension(fmt: OutputFormat) -> str:
    """The usual file extension of ``fmt``, with its dot."""
    return _spec(fmt).extension


def output_sample_rate(fmt: OutputFormat, sample_rate: int) -> int:
    """The rate the encoded stream declares: 48000 for Opus, an MPEG rate for MP3."""
    _spec(fmt)
    _check_rate(sample_rate)
    if fmt == "ogg_opus":
        return OPUS_SAMPLE_RATE
    if fmt == "mp3":
        return next((r for r in _MP3_RATES if r >= sample_rate), _MP3_RATES[-1])
    return sample_rate


def encode_audio(pcm: np.ndarray, sample_rate: int, fmt: OutputFormat) -> bytes:
    """float32 in [-1, 1] (or int16) mono → a complete file in ``fmt``.

    The result decodes at :func:`output_sample_rate` with the input's duration.
    """
    spec = _spec(fmt)
    _check_rate(sample_rate)
    samples = as_float_mono(pcm)
    if spec.codec is None:
        data = to_s16le(samples)
        return wav_header(sample_rate, len(data)) + data if fmt == "wav" else data
    sink = io.BytesIO()
    encoder = CodecEncoder(fmt, sample_rate, sink, streaming=False)
    encoder.push(samples)
    encoder.finish()
    return sink.getvalue()


def as_float_mono(pcm: np.ndarray) -> np.ndarray:
    """Accept float (any width) or int16, 1-D or one-channel 2-D; give float32 in [-1, 1]."""
    x = np.asarray(pcm)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise AudioError("bad_format", f"expected mono PCM (one channel), got shape {x.shape}")
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    if not np.issubdtype(x.dtype, np.floating):
        raise AudioError("bad_format", f"expected float or int16 PCM, got {x.dtype}")
    x = np.nan_to_num(x.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(x, -1.0, 1.0)


def to_s16le(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()


def wav_header(sample_rate: int, data_bytes: int | None) -> bytes:
    """A 44-byte header for 16-bit mono PCM; ``None`` sizes mean "unknown, read to the end".

    A streamed WAV cannot know its length when its header is sent, so both
    RIFF and data sizes are 0xFFFFFFFF, the value FFmpeg, browsers and
    ``soundfile`` read as "until the data ends".
    """
    data_size = 0xFFFFFFFF if data_bytes is None else data_bytes
    riff_size = 0xFFFFFFFF if data_bytes is None else 36 + data_bytes
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", riff_size, b"WAVE", b"fmt ", 16,
        1, 1, sample_rate, sample_rate * 2, 2, 16,
        b"data", data_size,
    )  # fmt: skip


class CodecEncoder:
    """PyAV encoder + muxer for the compressed formats, writing to ``sink``.

    With ``streaming`` the sink is written front to back only (no header
    rewrites), and OGG pages close every 100 ms of audio instead of every
    second, so bytes reach the listener as soon as they exist.
    """

    def __init__(self, fmt: OutputFormat, sample_rate: int, sink: Any, streaming: bool) -> None:
        spec = _spec(fmt)
        assert spec.codec is not None and spec.container is not None
        if spec.codec not in av.codecs_available:
            raise AudioError(
                "unsupported", f"this FFmpeg has no {spec.codec} encoder, so {fmt} is unavailable"
            )
        self._in_rate = sample_rate
        self._in_samples = 0
        out_rate = output_sample_rate(fmt, sample_rate)
        options = {"page_duration": "100000"} if streaming and spec.container == "ogg" else {}
        self._container = av.open(sink, "w", format=spec.container, container_options=options)
        self._stream = self._container.add_stream(spec.codec, rate=out_rate, layout="mono")
        ctx = self._stream.codec_context
        ctx.format = spec.sample_format
        if spec.bit_rate:
            ctx.bit_rate = spec.bit_rate
        self._container.start_encoding()
        self._resampler = av.AudioResampler(
            format=spec.sample_format,
            layout="mono",
            rate=out_rate,
            frame_size=ctx.frame_size or None,
        )

    def push(self, samples: np.ndarray) -> None:
        if not samples.size:
            return
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self._in_rate
        frame.time_base = Fraction(1, self._in_rate)
        frame.pts = self._in_samples
        self._in_samples += samples.size
        self._encode(self._resampler.resample(frame))

    def finish(self) -> None:
        self._encode(self._resampler.resample(None))
        self._encode([None])
        self._container.close()

    def _encode(self, frames: list[Any]) -> None:
        for frame in frames:
            self._container.mux(self._stream.encode(frame))


class StreamEncoder:
    """Incremental encoder for streamed TTS: ``push(pcm)`` → bytes ready so far, ``finish()``.

    Concatenated, the returned bytes are one valid file/stream. ``pcm_s16le``
    is raw samples. ``wav`` starts with a header whose sizes are 0xFFFFFFFF
    ("unknown": the length is not known when the header goes out), which
    FFmpeg, browsers and soundfile read to the end of the data. ``ogg_opus``
    and ``mp3`` hold back at most ~0.1 s (an OGG page, an encoder frame) until
    the next push or ``finish``. ``sample_rate`` is the rate the output
    declares (48000 for Opus).
    """

    def __init__(self, fmt: OutputFormat, sample_rate: int) -> None:
        spec = _spec(fmt)
        self.format = fmt
        self.sample_rate = output_sample_rate(fmt, sample_rate)
        self.content_type = content_type(fmt)
        self._done = False
        self._pending = wav_header(sample_rate, None) if fmt == "wav" else b""
        self._sink: _ByteSink | None = None
        self._encoder: CodecEncoder | None = None
        if spec.codec is not None:
            self._sink = _ByteSink()
            self._encoder = CodecEncoder(fmt, sample_rate, self._sink, streaming=True)

    def push(self, pcm: np.ndarray) -> bytes:
        """Encode the next samples (float32 in [-1, 1] or int16, mono)."""
        if self._done:
            raise RuntimeError("StreamEncoder.push() after finish()")
        samples = as_float_mono(pcm)
        if self._encoder is None:
            out, self._pending = self._pending + to_s16le(samples), b""
            return out
        self._encoder.push(samples)
        assert self._sink is not None
        return self._sink.take()

    def finish(self) -> bytes:
        """The rest of the stream; the encoder is closed afterwards."""
        if self._done:
            return b""
        self._done = True
        if self._encoder is None:
            out, self._pending = self._pending, b""
            return out
        self._encoder.finish()
        assert self._sink is not None
        return self._sink.take()


class _ByteSink:
    """A write-only file for PyAV's muxer: collects bytes until taken (not seekable)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _spec(fmt: str) -> _Spec:
    if fmt not in _SPECS:
        raise AudioError(
            "bad_format",
            f"unknown audio format {fmt!r}; choose one of: {', '.join(OUTPUT_FORMATS)}",
        )
    return _SPECS[fmt]


def _check_rate(sample_rate: int) -> None:
    if not 1_000 <= sample_rate <= 384_000:
        raise AudioError("bad_format", f"a sample rate of {sample_rate} Hz is not plausible")
