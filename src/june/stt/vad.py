"""Voice activity: Silero VAD (the ONNX model inside faster-whisper) and a clock-free segmenter.

:class:`SileroVad` turns audio into one speech probability per 32 ms window
(512 samples at 16 kHz), each window seen with the 64 samples before it — the
same framing faster-whisper uses, so batch and streaming agree.
:class:`Segmenter` is a pure state machine over those probabilities: feed it
windows, it says when speech started, when a silence began and when the
utterance ended. It never looks at a clock, which makes it trivial to test and
identical whether audio arrives in real time or all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime

SAMPLE_RATE = 16_000
WINDOW = 512
CONTEXT = 64


class SileroVad:
    """One ONNX session, shared by every stream and thread; each caller carries its own state.

    The model runs the windows of a batch as one sequence through its recurrent
    state (``h``/``c``), so a stream must hand back the state from its previous
    call to get the probabilities a whole-file pass would give.
    """

    def __init__(self, model_path: Path) -> None:
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            str(model_path), providers=["CPUExecutionProvider"], sess_options=options
        )

    @staticmethod
    def initial_state() -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((1, 1, 128), dtype=np.float32), np.zeros((1, 1, 128), dtype=np.float32)

    def window_probs(
        self, windows: np.ndarray, context: np.ndarray, state: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Probabilities for ``windows`` (n, 512) and the state to pass with the next windows.

        ``context`` is the 64 samples before the first window.
        """
        if len(windows) == 0:
            return np.zeros(0, dtype=np.float32), state
        previous = np.concatenate([context[None, :], windows[:-1, -CONTEXT:]], axis=0)
        batch = np.concatenate([previous, windows], axis=1).astype(np.float32, copy=False)
        out, h, c = self._session.run(None, {"input": batch, "h": state[0], "c": state[1]})
        return np.asarray(out, dtype=np.float32).reshape(-1), (h, c)

    def probabilities(self, audio: np.ndarray) -> np.ndarray:
        """One probability per full or zero-padded 512-sample window of ``audio``."""
        padded = np.pad(audio, (0, (-len(audio)) % WINDOW)).astype(np.float32, copy=False)
        probs, _ = self.window_probs(
            padded.reshape(-1, WINDOW), np.zeros(CONTEXT, np.float32), self.initial_state()
        )
        return probs


class StreamingVad:
    """Feeds a :class:`SileroVad` with audio as it arrives, window by window."""

    def __init__(self, vad: SileroVad) -> None:
        self._vad = vad
        self._pending = np.zeros(0, dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._state = vad.initial_state()

    def push(self, pcm: np.ndarray) -> np.ndarray:
        """Probabilities of the windows completed by ``pcm`` (possibly none)."""
        data = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        whole = len(data) // WINDOW * WINDOW
        self._pending = data[whole:].copy()
        if whole == 0:
            return np.zeros(0, dtype=np.float32)
        windows = data[:whole].reshape(-1, WINDOW)
        probs, self._state = self._vad.window_probs(windows, self._context, self._state)
        self._context = windows[-1, -CONTEXT:].copy()
        return probs


@dataclass(frozen=True)
class SegmenterConfig:
    #: A window at or above ``threshold`` is speech; below ``neg_threshold`` it is silence;
    #: in between it continues whatever was going on (hysteresis).
    threshold: float = 0.5
    neg_threshold: float = 0.35
    #: Speech must last this long before an utterance starts (a click is not speech).
    min_speech_ms: int = 96
    #: Silence that ends an utterance.
    end_silence_ms: int = 300

    def windows(self, ms: int) -> int:
        return max(1, round(ms * SAMPLE_RATE / 1000 / WINDOW))


@dataclass(frozen=True)
class SpeechStart:
    window: int  # index of the first speech window


@dataclass(frozen=True)
class SilenceStart:
    window: int  # index of the first silent window after speech


@dataclass(frozen=True)
class SpeechResumed:
    window: int


@dataclass(frozen=True)
class SpeechEnd:
    window: int  # index of the first silent window (the utterance is everything before it)


VadEvent = SpeechStart | SilenceStart | SpeechResumed | SpeechEnd


class Segmenter:
    """Speech started / silence began / speech resumed / utterance ended, from probabilities."""

    def __init__(self, config: SegmenterConfig = SegmenterConfig()) -> None:
        self.config = config
        self.index = 0  # windows seen
        self.in_speech = False
        self._run = 0  # consecutive speech windows while not in speech
        self._silence_from: int | None = None

    def feed(self, probs: np.ndarray) -> list[VadEvent]:
        cfg = self.config
        min_speech, end_silence = cfg.windows(cfg.min_speech_ms), cfg.windows(cfg.end_silence_ms)
        events: list[VadEvent] = []
        for p in probs:
            i = self.index
            self.index += 1
            if not self.in_speech:
                self._run = self._run + 1 if p >= cfg.threshold else 0
                if self._run >= min_speech:
                    self.in_speech = True
                    self._silence_from = None
                    events.append(SpeechStart(i - self._run + 1))
                    self._run = 0
                continue
            if self._silence_from is None:
                if p < cfg.neg_threshold:
                    self._silence_from = i
                    events.append(SilenceStart(i))
            elif p >= cfg.threshold:
                self._silence_from = None
                events.append(SpeechResumed(i))
            elif i + 1 - self._silence_from >= end_silence:
                events.append(SpeechEnd(self._silence_from))
                self.in_speech = False
                self._silence_from = None
        return events

    def force_end(self) -> SpeechEnd | None:
        """End the utterance in progress now (push-to-talk released, end of input)."""
        if not self.in_speech:
            return None
        end = self._silence_from if self._silence_from is not None else self.index
        self.in_speech = False
        self._silence_from = None
        self._run = 0
        return SpeechEnd(end)


def speech_regions(
    probs: np.ndarray, config: SegmenterConfig = SegmenterConfig()
) -> list[tuple[int, int]]:
    """``[(start_window, end_window), …]`` of whole-file speech (batch use of the segmenter)."""
    segmenter = Segmenter(config)
    regions: list[tuple[int, int]] = []
    start: int | None = None
    for event in segmenter.feed(probs):
        if isinstance(event, SpeechStart):
            start = event.window
        elif isinstance(event, SpeechEnd) and start is not None:
            regions.append((start, event.window))
            start = None
    tail = segmenter.force_end()
    if tail is not None and start is not None:
        regions.append((start, tail.window))
    return regions
