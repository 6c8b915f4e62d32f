"""The speech-to-text engine: faster-whisper (CTranslate2) plus Silero VAD, loaded once per process.

:meth:`WhisperEngine.transcribe` is blocking (callers run it in a thread) and
thread-safe: CTranslate2 serialises or parallelises calls according to
``workers``. faster-whisper's lazy segment generator is consumed inside the
call, so nothing is decoded later on another thread by accident.

VAD is used to find where speech is, never to cut words: audio up to 28 s is
decoded whole (see :meth:`WhisperEngine._pieces`); longer audio is split at
silences into pieces of at most 28 s, each transcribed with its time offset.
Audio with no speech at all is not sent to Whisper (which would invent
"Thank you." for silence).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
from faster_whisper import WhisperModel

from june.settings import SttSettings
from june.stt.vad import WINDOW, SegmenterConfig, SileroVad, speech_regions

SAMPLE_RATE = 16_000
#: Longest piece sent to Whisper at once (its window is 30 s; leave room for padding).
MAX_PIECE_S = 28.0
#: Padding kept around detected speech so no word is clipped.
SPEECH_PAD_S = 0.4
#: Pauses shorter than this do not split long audio.
SPLIT_SILENCE_MS = 700
#: Longer silences inside long audio are not sent to Whisper at all.
MAX_KEPT_GAP_S = 3.0
#: Decoded without timestamp tokens, Whisper may end its text at a pause inside a piece
#: ("Concord returned to its place amidst the tents. <pause> Stuff it into you…" came back
#: as the first sentence only). A piece with a pause this long whose text is this short for
#: its speech (people say 2 to 4 words a second) is decoded again with timestamp tokens, which
#: read past pauses, and the longer text is kept.
PAUSE_MS = 200
MIN_WORDS_PER_S = 2.0
#: A later segment of a piece above this no-speech probability, or whose first word is
#: below this probability, was invented in the silence (see ``_without_inventions``).
INVENTED_NO_SPEECH = 0.4
INVENTED_FIRST_WORD = 0.1


@dataclass(frozen=True)
class TranscribeOptions:
    language: str | None = None
    beam_size: int = 5
    word_timestamps: bool = False
    vad: bool = True
    initial_prompt: str | None = None


@dataclass
class Word:
    word: str
    start_s: float
    end_s: float
    probability: float


@dataclass
class Segment:
    text: str
    start_s: float
    end_s: float
    confidence: float
    avg_logprob: float
    no_speech_prob: float
    words: list[Word] = field(default_factory=list)


@dataclass
class TranscriptResult:
    text: str
    language: str
    language_probability: float
    segments: list[Segment]
    audio_s: float
    processing_s: float

    @property
    def confidence(self) -> float:
        """Duration-weighted mean of the segments' confidence (0 when there is no speech)."""
        total = sum(max(s.end_s - s.start_s, 1e-3) for s in self.segments)
        if not total:
            return 0.0
        weighted = sum(s.confidence * max(s.end_s - s.start_s, 1e-3) for s in self.segments)
        return weighted / total

    @property
    def start_s(self) -> float:
        return self.segments[0].start_s if self.segments else 0.0

    @property
    def end_s(self) -> float:
        return self.segments[-1].end_s if self.segments else 0.0


class SpeechToText(Protocol):
    model_name: str

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> TranscriptResult: ...


class WhisperEngine:
    def __init__(self, model_path: Path, vad_path: Path, settings: SttSettings) -> None:
        self.model_name = settings.model
        self.settings = settings
        self.model = WhisperModel(
            str(model_path),
            device=settings.device,
            compute_type=settings.compute_type,
            cpu_threads=settings.cpu_threads,
            num_workers=max(1, settings.workers),
            local_files_only=True,
        )
        self.vad = SileroVad(vad_path)
        self.multilingual = bool(self.model.model.is_multilingual)

    def default_options(self) -> TranscribeOptions:
        return TranscribeOptions(
            language=self.settings.language or None, beam_size=self.settings.beam_size
        )

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> TranscriptResult:
        started = time.perf_counter()
        audio_s = len(audio) / SAMPLE_RATE
        probs = self.vad.probabilities(audio)  # ~2 ms per second of audio
        pieces = self._pieces(audio, probs) if options.vad else [(0, len(audio))]
        speech = [
            (a * WINDOW, b * WINDOW)
            for a, b in speech_regions(probs, SegmenterConfig(end_silence_ms=PAUSE_MS))
        ]
        language = options.language if self.multilingual else "en"
        segments: list[Segment] = []
        detected, probability = language or "", 1.0
        for start, end in pieces:
            piece = audio[start:end]
            piece_options = replace(options, language=language)
            piece_segments, info = self._decode(piece, start / SAMPLE_RATE, piece_options)
            if not language:  # detect once, then hold the language for the other pieces
                language, detected, probability = info
            inner = [(max(a, start), min(b, end)) for a, b in speech if a < end and b > start]
            if len(inner) > 1 and _too_short(piece_segments, inner):
                again, _ = self._decode(
                    piece, start / SAMPLE_RATE, replace(piece_options, language=language), True
                )
                if _words(again) > _words(piece_segments):
                    piece_segments = again
            segments.extend(_without_inventions(piece_segments))
        text = " ".join(s.text for s in segments if s.text).strip()
        return TranscriptResult(
            text=text,
            language=detected or (language or ""),
            language_probability=probability,
            segments=segments,
            audio_s=audio_s,
            processing_s=time.perf_counter() - started,
        )

    def _pieces(self, audio: np.ndarray, probs: np.ndarray) -> list[tuple[int, int]]:
        """Sample ranges to decode: none without speech, else at most ``MAX_PIECE_S`` each.

        Audio that fits one Whisper window is decoded whole: cropping it saves no
        time (the encoder always sees 30 s) and Whisper reads the first word
        differently depending on the silence before it. Longer audio is cut in
        the silences; silences longer than ``MAX_KEPT_GAP_S`` are dropped.
        """
        regions = speech_regions(probs, SegmenterConfig(end_silence_ms=SPLIT_SILENCE_MS))
        if not regions:
            return []
        limit = int(MAX_PIECE_S * SAMPLE_RATE)
        if len(audio) <= limit:
            return [(0, len(audio))]
        pad, max_gap = int(SPEECH_PAD_S * SAMPLE_RATE), int(MAX_KEPT_GAP_S * SAMPLE_RATE)
        spans = [(max(0, a * WINDOW - pad), min(len(audio), b * WINDOW + pad)) for a, b in regions]
        pieces: list[tuple[int, int]] = []
        for start, end in spans:
            if pieces and end - pieces[-1][0] <= limit and start - pieces[-1][1] <= max_gap:
                pieces[-1] = (pieces[-1][0], end)  # keep the pause: Whisper reads it as context
                continue
            while end - start > limit:  # one unbroken stretch of speech longer than a window
                pieces.append((start, start + limit))
                start += limit
            pieces.append((start, end))
        return pieces

    def _decode(
        self,
        audio: np.ndarray,
        offset_s: float,
        options: TranscribeOptions,
        timestamps: bool = False,
    ) -> tuple[list[Segment], tuple[str, str, float]]:
        segments, info = self.model.transcribe(
            audio,
            language=options.language,
            beam_size=max(1, options.beam_size),
            word_timestamps=options.word_timestamps,
            initial_prompt=options.initial_prompt or None,
            vad_filter=False,
            condition_on_previous_text=False,
            # Measured on ../shared/data/speech with tiny.en: 8.3 % WER without timestamp
            # tokens against 10.1 % with them, and faster. Each piece is one segment; word
            # timestamps (from cross-attention alignment) still give the fine timing.
            without_timestamps=not timestamps,
        )
        out: list[Segment] = []
        for s in segments:  # consumes the generator here, on the caller's thread
            words = [
                Word(w.word.strip(), w.start + offset_s, w.end + offset_s, float(w.probability))
                for w in (s.words or [])
            ]
            out.append(
                Segment(
                    text=s.text.strip(),
                    start_s=s.start + offset_s,
                    end_s=s.end + offset_s,
                    confidence=float(math.exp(s.avg_logprob)),
                    avg_logprob=float(s.avg_logprob),
                    no_speech_prob=float(s.no_speech_prob),
                    words=words,
                )
            )
        return out, (info.language, info.language, float(info.language_probability))


def _words(segments: list[Segment]) -> int:
    return sum(len(s.text.split()) for s in segments)


def _too_short(segments: list[Segment], speech: list[tuple[int, int]]) -> bool:
    """Fewer words than the detected speech would hold: the decoder stopped at a pause."""
    speech_s = sum(b - a for a, b in speech) / SAMPLE_RATE
    return _words(segments) < MIN_WORDS_PER_S * speech_s


def _without_inventions(segments: list[Segment]) -> list[Segment]:
    """Without the segments Whisper invented after the speech.

    With word timestamps faster-whisper seeks to the last word and decodes the rest
    of the window, where Whisper invents "Thank you." in the silence. Measured on
    the speech fixtures, such a segment has a no-speech probability of 0.44-0.84
    and a first word of probability <= 0.07; real follow-on speech has neither.
    """
    kept = segments[:1]
    for segment in segments[1:]:
        first_word = segment.words[0].probability if segment.words else 1.0
        if segment.no_speech_prob > INVENTED_NO_SPEECH or first_word < INVENTED_FIRST_WORD:
            continue
        kept.append(segment)
    return kept
