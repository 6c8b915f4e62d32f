"""The clock-free segmenter (table-driven) and Silero VAD framing, batch against streaming."""

from __future__ import annotations

import numpy as np
import pytest

from june.models.resolve import resolve_model
from june.stt.vad import Segmenter as _Segmenter
from june.stt.vad import (
    SegmenterConfig,
    SilenceStart,
    SileroVad,
    SpeechEnd,
    SpeechResumed,
    SpeechStart,
    StreamingVad,
    speech_regions,
)
from tests.conftest import make_settings
from tests.speech import load_clip

S, Q = 0.9, 0.1  # a speech window, a quiet window
# 32 ms windows: min speech 96 ms = 3 windows, end silence 300 ms ≈ 9 windows
CFG = SegmenterConfig(min_speech_ms=96, end_silence_ms=300)


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        ([Q] * 5, []),
        ([S, S, Q, Q], []),  # a click: too short to be speech
        ([Q, S, S, S, S], [SpeechStart(1)]),
        ([S] * 4 + [Q] * 9, [SpeechStart(0), SilenceStart(4), SpeechEnd(4)]),
        (
            [S] * 4 + [Q] * 3 + [S] * 2 + [Q] * 9,
            [SpeechStart(0), SilenceStart(4), SpeechResumed(7), SilenceStart(9), SpeechEnd(9)],
        ),
        # 0.4 is between the thresholds: it neither starts silence nor resumes speech
        ([S] * 4 + [0.4] * 20, [SpeechStart(0)]),
        ([S] * 4 + [Q] * 8, [SpeechStart(0), SilenceStart(4)]),  # 8 quiet windows: not yet over
    ],
)
def test_segmenter_events(probs: list[float], expected: list[object]) -> None:
    assert _Segmenter(CFG).feed(np.array(probs)) == expected


def test_segmenter_is_the_same_fed_at_once_or_window_by_window() -> None:
    rng = np.random.default_rng(7)
    probs = np.repeat(rng.random(40) > 0.5, 6) * 0.8 + 0.1
    whole = _Segmenter(CFG).feed(probs)
    one_by_one = _Segmenter(CFG)
    assert [e for p in probs for e in one_by_one.feed(np.array([p]))] == whole


def test_force_end_closes_the_utterance_at_the_silence_if_one_began() -> None:
    seg = _Segmenter(CFG)
    seg.feed(np.array([S] * 4 + [Q] * 2))
    assert seg.force_end() == SpeechEnd(4)
    assert seg.force_end() is None


@pytest.fixture(scope="module")
def vad(tmp_path_factory: pytest.TempPathFactory) -> SileroVad:
    settings = make_settings(tmp_path_factory.mktemp("vad"))
    return SileroVad(resolve_model(settings, "silero-vad", "vad"))


def test_streaming_vad_equals_a_whole_file_pass(vad: SileroVad) -> None:
    audio = load_clip("jfk").pcm
    whole = vad.probabilities(audio)
    stream = StreamingVad(vad)
    pieces = [stream.push(audio[i : i + 1600]) for i in range(0, len(audio), 1600)]
    streamed = np.concatenate(pieces)
    assert np.allclose(streamed, whole[: len(streamed)], atol=1e-5)


def test_speech_regions_find_the_pauses_in_real_speech(vad: SileroVad) -> None:
    clip = load_clip("jfk")
    silence = np.zeros(16_000, np.float32)
    audio = np.concatenate([silence, clip.pcm, silence])
    regions = speech_regions(vad.probabilities(audio), SegmenterConfig(end_silence_ms=700))
    seconds = [(a * 512 / 16_000, b * 512 / 16_000) for a, b in regions]
    assert len(seconds) >= 2  # Kennedy pauses between "…do for you," and "ask what…"
    assert seconds[0][0] >= 0.9  # the leading second of silence is not speech
    assert seconds[-1][1] <= len(audio) / 16_000 - 0.5
    assert speech_regions(vad.probabilities(np.zeros(48_000, np.float32))) == []
