"""Audio as a stream arrives: raw PCM frames or the next bytes of an encoded file → 16 kHz mono.

Raw PCM is converted chunk by chunk with one stateful PyAV resampler per
stream (so chunk boundaries leave no clicks) and a carry-over for a sample
split between two messages. Encoded audio (WebM/Opus from a browser, OGG/Opus
…) goes through :class:`june.audio.StreamDecoder`, which demuxes in its own
thread as bytes arrive. Both enforce the same limits as whole files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

import av
import numpy as np

from june.audio import SAMPLE_RATE, AudioError, AudioLimits, StreamDecoder

PcmEncoding = Literal["s16le", "f32le"]


def _too_long(limits: AudioLimits) -> AudioError:
    return AudioError(
        "too_long",
        f"the audio is longer than the limit of {limits.max_duration_s / 60:.1f} min",
    )


def pcm_input(
    encoding: PcmEncoding, sample_rate: int, channels: int, limits: AudioLimits
) -> Callable[..., np.ndarray]:
    """A converter ``(bytes, final=False) -> float32 16 kHz mono`` for one raw PCM stream."""
    if sample_rate <= 0:
        raise AudioError("bad_format", "raw PCM needs sample_rate_hz (e.g. 16000)")
    if channels not in (1, 2):
        raise AudioError("bad_format", f"raw PCM must have 1 or 2 channels, not {channels}")
    width = 2 if encoding == "s16le" else 4
    frame_bytes = width * channels
    dtype = np.dtype("<i2") if encoding == "s16le" else np.dtype("<f4")
    resampler = (
        None
        if sample_rate == SAMPLE_RATE and channels == 1
        else av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    )
    carry = b""
    total_in = 0
    max_samples = int(limits.max_duration_s * sample_rate)

    def convert(data: bytes, final: bool = False) -> np.ndarray:
        nonlocal carry, total_in
        data = carry + data
        usable = len(data) // frame_bytes * frame_bytes
        carry = data[usable:]
        if final and carry:
            raise AudioError(
                "truncated", f"the raw PCM ends in the middle of a sample ({len(carry)} bytes left)"
            )
        samples = np.frombuffer(data[:usable], dtype=dtype).reshape(-1, channels)
        total_in += len(samples)
        if total_in > max_samples:
            raise _too_long(limits)
        if encoding == "s16le":
            floats = samples.astype(np.float32) / 32768.0
        else:
            floats = samples.astype(np.float32)
            if not np.isfinite(floats).all():
                raise AudioError("corrupt", "the raw float PCM contains NaN or infinite samples")
        if resampler is None:
            return floats[:, 0]
        out: list[np.ndarray] = []
        if len(floats):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(floats.T) if channels > 1 else floats.T.copy(),
                format="fltp",
                layout="stereo" if channels == 2 else "mono",
            )
            frame.sample_rate = sample_rate
            out += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        if final:
            out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    return convert


class StreamInput:
    """One stream's audio source: ``feed`` bytes, ``end``, and ``await read()`` PCM until None."""

    def __init__(
        self,
        convert: Callable[..., np.ndarray] | None,
        decoder: StreamDecoder | None,
        limits: AudioLimits,
    ) -> None:
        self._convert = convert
        self._decoder = decoder
        self._limits = limits
        self._queue: asyncio.Queue[np.ndarray | None] = asyncio.Queue()
        self._fed = 0

    @classmethod
    def pcm(
        cls, encoding: PcmEncoding, sample_rate: int, channels: int, limits: AudioLimits
    ) -> StreamInput:
        return cls(pcm_input(encoding, sample_rate, channels, limits), None, limits)

    @classmethod
    def encoded(cls, limits: AudioLimits) -> StreamInput:
        return cls(None, StreamDecoder(limits), limits)

    def feed(self, data: bytes) -> None:
        self._fed += len(data)
        if self._fed > self._limits.max_bytes:
            raise AudioError(
                "too_large",
                f"the stream sent more than the limit of {self._limits.max_bytes / 1e6:.1f} MB",
            )
        if self._convert is not None:
            self._queue.put_nowait(self._convert(data))
        else:
            assert self._decoder is not None
            self._decoder.feed(data)

    def end(self) -> None:
        if self._convert is not None:
            self._queue.put_nowait(self._convert(b"", final=True))
            self._queue.put_nowait(None)
        else:
            assert self._decoder is not None
            self._decoder.end()

    async def read(self) -> np.ndarray | None:
        """Next PCM, or None once the input has ended and everything was read."""
        if self._convert is not None:
            return await self._queue.get()
        assert self._decoder is not None
        return await self._decoder.aread()

    async def drain(self) -> None:
        """Let already-fed raw PCM reach the reader (a flush must include it)."""
        while self._convert is not None and not self._queue.empty():
            await asyncio.sleep(0)

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
