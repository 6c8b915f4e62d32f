"""The Whisper engine on real speech: right words, VAD that never loses any, long audio, silence."""

from __future__ import annotations

import numpy as np
import pytest

from june.settings import Settings
from june.stt.engine import TranscribeOptions, WhisperEngine
from june.stt.server import load_engine
from tests.conftest import make_settings
from tests.speech import clip_ids, load_clip, wer


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> WhisperEngine:
    settings: Settings = make_settings(tmp_path_factory.mktemp("stt-engine"))
    return load_engine(settings)


@pytest.mark.parametrize("clip_id", clip_ids())
def test_transcribes_real_speech(engine: WhisperEngine, clip_id: str) -> None:
    clip = load_clip(clip_id)
    result = engine.transcribe(clip.pcm, engine.default_options())
    assert wer(clip.text, result.text) <= 0.25, (clip.text, result.text)
    assert result.language == "en"
    assert 0.0 < result.confidence <= 1.0
    assert result.audio_s == pytest.approx(len(clip.pcm) / 16_000)


def test_vad_does_not_change_the_words(engine: WhisperEngine) -> None:
    """VAD crops silence; it must not cost a word (the service must not make the model worse).

    Same audio both ways: Whisper itself reads a word differently depending on how
    much silence surrounds it, which is not what this test is about.
    """
    for clip_id in clip_ids():
        clip = load_clip(clip_id)
        quiet = np.zeros(24_000, np.float32)
        padded = np.concatenate([quiet, clip.pcm, quiet])
        with_vad = engine.transcribe(padded, TranscribeOptions(beam_size=5, vad=True))
        without = engine.transcribe(padded, TranscribeOptions(beam_size=5, vad=False))
        assert wer(without.text, with_vad.text) <= 0.1, (without.text, with_vad.text)


def test_word_timestamps_are_ordered_and_inside_the_audio(engine: WhisperEngine) -> None:
    clip = load_clip("jfk")
    result = engine.transcribe(clip.pcm, TranscribeOptions(word_timestamps=True))
    words = [w for s in result.segments for w in s.words]
    assert len(words) >= 15
    starts = [w.start_s for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w.start_s <= w.end_s <= result.audio_s + 0.1 for w in words)
    assert all(0 <= w.probability <= 1 for w in words)


def test_long_audio_is_cut_at_silences_and_keeps_every_utterance(engine: WhisperEngine) -> None:
    ids = clip_ids()
    gap = np.zeros(16_000, np.float32)
    parts, reference = [], []
    while sum(len(p) for p in parts) < 16_000 * 45:  # beyond one 30 s Whisper window
        for clip_id in ids:
            clip = load_clip(clip_id)
            parts += [clip.pcm, gap]
            reference.append(clip.text)
    result = engine.transcribe(np.concatenate(parts), engine.default_options())
    assert result.audio_s > 45
    assert len(result.segments) >= 2
    assert wer(" ".join(reference), result.text) <= 0.2
    starts = [s.start_s for s in result.segments]
    assert starts == sorted(starts) and result.segments[-1].end_s <= result.audio_s + 0.5


def test_silence_and_noise_give_no_words(engine: WhisperEngine) -> None:
    quiet = np.zeros(16_000 * 5, np.float32)
    hum = (0.01 * np.sin(np.arange(16_000 * 5) * 2 * np.pi * 50 / 16_000)).astype(np.float32)
    for audio in (quiet, hum):
        result = engine.transcribe(audio, engine.default_options())
        assert result.text == ""
        assert result.segments == []


def test_the_bundled_english_model_is_loaded(engine: WhisperEngine) -> None:
    assert engine.model_name == "whisper-tiny.en"
    assert not engine.multilingual


@pytest.mark.parametrize("vad", [True, False])
def test_two_sentences_with_a_pause_keep_both(engine: WhisperEngine, vad: bool) -> None:
    """Whisper without timestamp tokens used to stop at the pause and drop the second sentence."""
    a, b = load_clip("6930-75918-0000"), load_clip("1089-134686-0001")
    loud = np.flatnonzero(np.abs(a.pcm) > 0.02)
    first = a.pcm[: loud[-1] + 1600]  # the clip without its own trailing silence
    for pause_s in (0.3, 0.6):
        audio = np.concatenate([first, np.zeros(int(16_000 * pause_s), np.float32), b.pcm])
        options = TranscribeOptions(beam_size=5, vad=vad)
        result = engine.transcribe(audio, options)
        assert wer(f"{a.text} {b.text}", result.text) <= 0.25, (pause_s, result.text)


def test_word_timestamps_add_no_invented_words(engine: WhisperEngine) -> None:
    """Asking for word times must not change the words (Whisper invents "Thank you." when
    faster-whisper decodes the silence after the last word)."""
    for clip_id in clip_ids():
        clip = load_clip(clip_id)
        plain = engine.transcribe(clip.pcm, TranscribeOptions(beam_size=5))
        timed = engine.transcribe(clip.pcm, TranscribeOptions(beam_size=5, word_timestamps=True))
        assert timed.text == plain.text, clip_id
        assert [w.word for s in timed.segments for w in s.words], clip_id
