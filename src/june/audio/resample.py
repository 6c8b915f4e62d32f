"""Decoded frames of any sample format, layout and rate → mono float32 at one rate.

libswresample does the work (not numpy interpolation), with
``rematrix_maxval=1`` so stereo is *averaged*: two identical channels keep
their level instead of gaining 3 dB and clipping, FFmpeg's default for float.
"""

from __future__ import annotations

import av
import numpy as np


class MonoResampler:
    """Decoded frames of any format/layout/rate → one mono float32 array per call.

    A new libswresample context is made when the input changes mid-stream
    (chained OGG, an MP3 whose rate changes), after draining the old one.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._resampler: av.AudioResampler | None = None
        self._key: tuple[str, str, int] | None = None

    def push(self, frame: av.AudioFrame) -> np.ndarray:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        out: list[np.ndarray] = []
        if key != self._key:
            out.append(self.flush())
            self._resampler = av.AudioResampler(
                format="flt",
                layout="mono",
                rate=self.sample_rate,
                options={"rematrix_maxval": "1.0"},
            )
            self._key = key
        frame.pts = None  # timestamps are irrelevant here, and gaps would confuse the filter
        assert self._resampler is not None
        out.extend(f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame))
        return join_pcm(out)

    def flush(self) -> np.ndarray:
        if self._resampler is None:
            return np.zeros(0, np.float32)
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(None)]
        self._resampler, self._key = None, None
        return join_pcm(out)


def join_pcm(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if p.size]
    if not parts:
        return np.zeros(0, np.float32)
    pcm = np.concatenate(parts).astype(np.float32, copy=False)
    np.nan_to_num(pcm, copy=False)
    return np.clip(pcm, -1.0, 1.0, out=pcm)
