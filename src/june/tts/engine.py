"""The text-to-speech engine: Piper voices (ONNX on onnxruntime), loaded once and shared.

:meth:`PiperEngine.synthesize` is blocking (callers run it in a thread) and
yields audio per piece of text Piper phonemizes as a sentence. Text reaching
it is already normalised and split into sentences by :mod:`june.tts.text`.
Voices other than the default are loaded on first use, behind a lock, from the
model cache or their registry package only.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from piper import PiperVoice
from piper.config import SynthesisConfig


@dataclass(frozen=True)
class SynthesisOptions:
    speaker: str | None = None
    #: Phoneme length: < 1 faster, > 1 slower; None: the voice's own.
    length_scale: float | None = None
    noise_scale: float | None = None
    noise_w: float | None = None


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    name: str
    language: str
    sample_rate: int
    quality: str
    speakers: tuple[str, ...]


class UnknownSpeakerError(ValueError):
    pass


def read_voice_info(voice_id: str, model_path: Path) -> VoiceInfo:
    config = json.loads(Path(f"{model_path}.json").read_text())
    language = config.get("language", {})
    return VoiceInfo(
        id=voice_id,
        name=str(config.get("dataset") or voice_id),
        language=str(language.get("code") or config.get("espeak", {}).get("voice", "")),
        sample_rate=int(config["audio"]["sample_rate"]),
        quality=str(config["audio"].get("quality", "")),
        speakers=tuple(config.get("speaker_id_map", {}) or ()),
    )


class LoadedVoice:
    def __init__(self, voice_id: str, model_path: Path, use_cuda: bool = False) -> None:
        self.info = read_voice_info(voice_id, model_path)
        self._voice = PiperVoice.load(model_path, use_cuda=use_cuda)
        self._speakers: dict[str, int] = dict(self._voice.config.speaker_id_map or {})

    def synthesize(self, text: str, options: SynthesisOptions) -> Iterator[np.ndarray]:
        """float32 mono audio at ``info.sample_rate``, one array per Piper sentence."""
        speaker_id = None
        if options.speaker:
            if options.speaker not in self._speakers:
                known = ", ".join(sorted(self._speakers)) or "none: it has one speaker"
                raise UnknownSpeakerError(
                    f"voice {self.info.id!r} has no speaker {options.speaker!r} (speakers: {known})"
                )
            speaker_id = self._speakers[options.speaker]
        config = SynthesisConfig(
            speaker_id=speaker_id,
            length_scale=options.length_scale,
            noise_scale=options.noise_scale,
            noise_w_scale=options.noise_w,
            normalize_audio=True,
            volume=0.9,  # headroom for lossy encoders; sentences are peak-normalised by Piper
        )
        for chunk in self._voice.synthesize(text, config):
            yield chunk.audio_float_array


class PiperEngine:
    """The default voice, loaded at start, plus any other authorized voice on first use."""

    def __init__(
        self, default_voice: str, resolve: Callable[[str], Path], use_cuda: bool = False
    ) -> None:
        self.default_voice = default_voice
        self._resolve = resolve
        self._use_cuda = use_cuda
        self._voices: dict[str, LoadedVoice] = {}
        self._lock = threading.Lock()
        self.voice(default_voice)

    def voice(self, voice_id: str | None = None) -> LoadedVoice:
        """The loaded voice (loading it now if needed); registry errors pass through."""
        voice_id = voice_id or self.default_voice
        loaded = self._voices.get(voice_id)
        if loaded is None:
            with self._lock:
                loaded = self._voices.get(voice_id)
                if loaded is None:
                    loaded = LoadedVoice(voice_id, self._resolve(voice_id), self._use_cuda)
                    self._voices[voice_id] = loaded
        return loaded

    def synthesize(
        self, text: str, voice_id: str | None = None, options: SynthesisOptions | None = None
    ) -> tuple[np.ndarray, float]:
        """All of ``text`` as one array, and the seconds it took (for callers wanting it whole)."""
        started = time.perf_counter()
        voice = self.voice(voice_id)
        parts = list(voice.synthesize(text, options or SynthesisOptions()))
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return audio, time.perf_counter() - started
