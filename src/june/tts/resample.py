"""Voice-rate audio → the sample rate a client asked for, sentence after sentence, no clicks."""

from __future__ import annotations

import av
import numpy as np

from june.audio.resample import MonoResampler


class StreamResampler:
    """One libswresample context for a whole response (a pass-through when rates match)."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        self.source_rate = source_rate
        self._resampler = MonoResampler(target_rate) if source_rate != target_rate else None

    def push(self, pcm: np.ndarray) -> np.ndarray:
        if self._resampler is None or not len(pcm):
            return pcm
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm, dtype=np.float32)[None, :], format="flt", layout="mono"
        )
        frame.sample_rate = self.source_rate
        return self._resampler.push(frame)

    def flush(self) -> np.ndarray:
        if self._resampler is None:
            return np.zeros(0, np.float32)
        return self._resampler.flush()
