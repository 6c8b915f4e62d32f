"""Any audio a person sends → mono float32 PCM at 16 kHz, or a clear :class:`AudioError`.

One decode loop (:func:`iter_decode`) serves whole uploads (:func:`decode_audio`)
and streams that arrive in pieces (:class:`june.audio.StreamDecoder`): PyAV
demuxes the first audio stream, decodes it, and its resampler (libswresample)
converts to mono float32 at the target rate. Decisions a user can see:

* Size is checked before decoding; duration while decoding, which stops as
  soon as the limit is passed (a file that states its length is refused
  before any decoding).
* A packet that fails to decode is skipped, as the ``ffmpeg`` command does, so
  one damaged frame in a voice note does not lose the message; if more than a
  quarter of the packets (or of the time) is lost, or nothing decodes, the
  audio is "corrupt".
* **Truncation.** A file whose container states its exact length (WAV header,
  FLAC STREAMINFO, MP3 Xing/Info, WebM/Matroska duration, MP4/M4A) but whose
  data ends early (by packet timestamps; by bytes for MP3) is refused as
  "truncated": transcribing half of an upload without saying so would
  mislead. Formats that state no length (OGG, the WebM a browser's
  MediaRecorder writes, MP3 without a Xing frame) cannot be told apart from a
  shorter recording, so what is there is decoded. A file cut inside its
  header is always an error. Details in :mod:`june.audio.integrity`.
* Stereo and multichannel audio is averaged to mono (``rematrix_maxval=1``,
  so two identical channels give the same level, never a clipped one).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import av
import numpy as np

from june.audio.errors import (
    AudioError,
    AudioLimits,
    check_size,
    format_seconds,
    too_long,
)
from june.audio.integrity import Progress, Stated, check_complete, reason, stated_length
from june.audio.resample import MonoResampler
from june.audio.sniff import container_name, describe_non_audio

SAMPLE_RATE = 16_000

_FFMPEG_ERRORS = (av.error.FFmpegError, OSError, EOFError, ValueError)


def decode_audio(
    data: bytes, limits: AudioLimits = AudioLimits(), sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Any container/codec → mono float32 in [-1, 1] at ``sample_rate``.

    OGG/Opus, WebM/Opus, WAV (8/16/24/32-bit int and float, any rate, mono or
    stereo), FLAC, MP3, M4A/AAC and whatever else this FFmpeg reads. Raises
    :class:`AudioError` for empty, oversized, overlong, non-audio, corrupt and
    truncated input. Silence is not an error here; see :func:`is_silent`.
    """
    check_size(len(data), limits)
    chunks = list(iter_decode(io.BytesIO(data), lambda: data, limits, sample_rate))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def decode_file(
    path: str | Path, limits: AudioLimits = AudioLimits(), sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """:func:`decode_audio` for a file on disk (its size is checked before it is read)."""
    path = Path(path)
    check_size(path.stat().st_size, limits)
    return decode_audio(path.read_bytes(), limits, sample_rate)


def iter_decode(
    source: IO[bytes] | Any,
    head: Callable[[], bytes],
    limits: AudioLimits,
    sample_rate: int = SAMPLE_RATE,
) -> Iterator[np.ndarray]:
    """Decode ``source`` (anything with ``read``), yielding mono float32 chunks as they come.

    ``head()`` gives the start of the data read so far; it only names what was
    sent and gives the length a WAV/MP3 header states. (A callable, because a
    stream's first bytes exist only once FFmpeg has asked for them.)
    """
    container = _open(source, head)
    try:
        stream = _audio_stream(container, head())
        stated = stated_length(container, stream, head())
        if stated.seconds is not None and stated.seconds > limits.max_duration_s + 0.5:
            raise too_long(limits, stated.seconds)
        yield from _decode_stream(container, stream, limits, sample_rate, stated, head())
    finally:
        container.close()


def _decode_stream(
    container: Any,
    stream: Any,
    limits: AudioLimits,
    sample_rate: int,
    stated: Stated,
    head: bytes,
) -> Iterator[np.ndarray]:
    to_mono = MonoResampler(sample_rate)
    done = Progress()
    try:
        for packet in container.demux(stream):
            done.saw(packet)
            try:
                frames = packet.decode()
            except av.error.DecoderNotFoundError:
                raise AudioError(
                    "unsupported", f"the audio codec {stream.codec_context.name!r} is not supported"
                ) from None
            except _FFMPEG_ERRORS as exc:
                done.bad, done.last_error = done.bad + 1, exc
                continue
            for frame in frames:
                done.decoded_s += frame.samples / frame.sample_rate
                if done.decoded_s > limits.max_duration_s:
                    raise too_long(limits, stated.seconds)
                pcm = to_mono.push(frame)
                if pcm.size:
                    yield pcm
    except AudioError:
        raise
    except _FFMPEG_ERRORS as exc:
        where = f" after {format_seconds(done.decoded_s)}" if done.decoded_s else ""
        raise AudioError(
            "corrupt", f"the audio is corrupt or truncated{where}: {reason(exc)}"
        ) from None
    pcm = to_mono.flush()
    if pcm.size:
        yield pcm
    check_complete(done, stated, head)


def _open(source: Any, head_of: Callable[[], bytes]) -> Any:
    try:
        return av.open(source, mode="r", metadata_errors="ignore")
    except _FFMPEG_ERRORS as exc:
        head = head_of()
        if not head:
            raise AudioError("empty", "the audio is empty (0 bytes)") from None
        name = container_name(head)
        if name is None:
            raise AudioError(
                "not_audio",
                f"this is not audio: no audio stream found (got {describe_non_audio(head)})",
            ) from None
        if isinstance(exc, EOFError):
            raise AudioError(
                "truncated",
                f"the audio is truncated or corrupt: the {name} file ended before its header did",
            ) from None
        raise AudioError(
            "corrupt",
            f"the audio is corrupt or truncated: the {name} header could not be read "
            f"({reason(exc)})",
        ) from None


def _audio_stream(container: Any, head: bytes) -> Any:
    if container.streams.audio:
        stream = container.streams.best("audio") or container.streams.audio[0]
        if stream.codec_context is None:
            raise AudioError(
                "unsupported", f"the audio codec {stream.codec.name!r} is not supported"
            )
        return stream
    what = describe_non_audio(head)
    if container.streams.video and what == "unrecognised binary data":
        what = f"a {container.format.name} file with video but no sound"
    raise AudioError("not_audio", f"this is not audio: no audio stream found (got {what})")
