"""Raw PCM → mono float32 at 16 kHz, and the loudness test that tells speech from silence.

Clients that already have samples (a browser's AudioWorklet, a gRPC client
streaming 100 ms frames) send raw little-endian PCM with its rate and channel
count beside it. Resampling goes through the same libswresample path as
decoded files, not numpy interpolation, so a 44.1 kHz upload and a 44.1 kHz
FLAC give the same 16 kHz signal.
"""

from __future__ import annotations

from typing import Literal

import av
import numpy as np

from june.audio.decode import SAMPLE_RATE
from june.audio.errors import AudioError, AudioLimits, check_size, too_long
from june.audio.resample import MonoResampler, join_pcm

PcmEncoding = Literal["s16le", "f32le"]

_DTYPES: dict[str, np.dtype] = {"s16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}
_MAX_CHANNELS = 8


def pcm_to_float(
    data: bytes,
    encoding: PcmEncoding,
    sample_rate: int,
    channels: int = 1,
    target_rate: int = SAMPLE_RATE,
    limits: AudioLimits | None = None,
) -> np.ndarray:
    """Raw PCM → mono float32 in [-1, 1] at ``target_rate``.

    Raises :class:`AudioError` ``bad_format`` for an unknown encoding, a rate
    or channel count that makes no sense, or a byte count that is not a whole
    number of sample frames; ``empty`` for no bytes; and the size/duration
    errors when ``limits`` is given.
    """
    if encoding not in _DTYPES:
        raise AudioError(
            "bad_format", f"unknown PCM encoding {encoding!r}; use one of: s16le, f32le"
        )
    if not 1_000 <= sample_rate <= 384_000:
        raise AudioError("bad_format", f"a PCM sample rate of {sample_rate} Hz is not plausible")
    if not 1 <= channels <= _MAX_CHANNELS:
        raise AudioError("bad_format", f"PCM with {channels} channels is not supported (1 to 8)")
    dtype = _DTYPES[encoding]
    frame_bytes = dtype.itemsize * channels
    if limits is not None:
        check_size(len(data), limits)
    if not data:
        raise AudioError("empty", "the audio is empty (0 bytes)")
    if len(data) % frame_bytes:
        raise AudioError(
            "bad_format",
            f"the PCM data is {len(data)} bytes, not a whole number of "
            f"{frame_bytes}-byte {encoding} frames ({channels} channel(s)); is it cut off?",
        )
    if limits is not None and len(data) / frame_bytes / sample_rate > limits.max_duration_s:
        raise too_long(limits, len(data) / frame_bytes / sample_rate)
    samples = np.frombuffer(data, dtype=dtype).reshape(-1, channels)
    if encoding == "s16le":
        floats = samples.astype(np.float32) / 32768.0
    else:
        floats = np.nan_to_num(samples.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    if channels == 1 and sample_rate == target_rate:
        return np.clip(floats.reshape(-1), -1.0, 1.0)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(floats.reshape(1, -1)), format="flt", layout=_layout(channels)
    )
    frame.sample_rate = sample_rate
    resampler = MonoResampler(target_rate)
    return join_pcm([resampler.push(frame), resampler.flush()])


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")


def loudness_dbfs(pcm: np.ndarray, window: int = 480) -> float:
    """The level of the loudest ``window``-sample stretch (RMS, dB full scale).

    Windowed rather than whole-file RMS, so one short word in a long silent
    recording still counts as sound, and one click does not. 480 samples is
    30 ms at 16 kHz. Accepts float in [-1, 1] or int16.
    """
    x = np.asarray(pcm)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    x = x.astype(np.float64, copy=False).reshape(-1)
    if x.size == 0:
        return float("-inf")
    usable = x.size // window * window
    if usable == 0:
        power = float(np.mean(x * x))
    else:
        power = float(np.max(np.mean((x[:usable] * x[:usable]).reshape(-1, window), axis=1)))
        if usable < x.size:
            power = max(power, float(np.mean(x[usable:] ** 2)) * (x.size - usable) / window)
    return float(10 * np.log10(power)) if power > 0 else float("-inf")


def is_silent(pcm: np.ndarray, threshold_dbfs: float = -55.0) -> bool:
    """True when no 30 ms stretch of the audio reaches ``threshold_dbfs`` (RMS).

    -55 dBFS is below the quietest speech of a phone held at arm's length and
    above the noise floor of a muted microphone or digital silence. An empty
    array is silent.
    """
    return loudness_dbfs(pcm) < threshold_dbfs
