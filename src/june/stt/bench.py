"""``june bench stt``: the service against faster-whisper called directly, in the same run.

Three ways through the same model and settings, on the same utterances:

- **direct** — ``WhisperModel.transcribe`` on decoded audio, exactly the decode
  options the engine uses (the reference: what the model costs by itself);
- **service, unary** — ``Recognize`` over gRPC with the encoded file (adds
  transport, decoding, VAD and the engine's own bookkeeping);
- **service, stream** — ``RecognizeStream`` fed 100 ms chunks at real-time pace,
  speech then 1.5 s of silence; latency is from the end of speech to the
  speculative final and to the final (what a person waits for after they stop).

The ratios service/direct are the service's overhead. Figures are medians.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from june.audio import decode_file
from june.bench import stats
from june.settings import Settings
from june.stt.client import SttClient
from june.stt.evaluate import EvalItem
from june.stt.server import load_engine

SAMPLE_RATE = 16_000


@dataclass
class Measure:
    rtf: list[float]
    latency_s: list[float]

    def summary(self) -> dict[str, float]:
        return {
            "rtf": median(self.rtf),
            "latency_s": median(self.latency_s),
            "latency_p95_s": p95(self.latency_s),
        }


def median(values: list[float]) -> float:
    return stats.median(values) or 0.0


def p95(values: list[float]) -> float:
    return stats.p95(values) or 0.0


def direct(settings: Settings, audio: list[np.ndarray], repeats: int) -> Measure:
    """faster-whisper by itself, with the decode options :class:`WhisperEngine` uses."""
    engine = load_engine(settings)  # the same WhisperModel construction
    model, beam = engine.model, settings.stt.beam_size
    language = (settings.stt.language or None) if engine.multilingual else "en"
    measure = Measure([], [])
    for pcm in audio:
        for _ in range(repeats):
            start = time.perf_counter()
            segments, _ = model.transcribe(
                pcm,
                language=language,
                beam_size=beam,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=True,
            )
            "".join(s.text for s in segments)
            elapsed = time.perf_counter() - start
            measure.rtf.append(elapsed / (len(pcm) / SAMPLE_RATE))
            measure.latency_s.append(elapsed)
    return measure


async def unary(address: str, files: list[bytes], durations: list[float], repeats: int) -> Measure:
    measure = Measure([], [])
    async with SttClient(address) as client:
        for data, seconds in zip(files, durations, strict=True):
            for _ in range(repeats):
                start = time.perf_counter()
                await client.recognize(data)
                elapsed = time.perf_counter() - start
                measure.rtf.append(elapsed / seconds)
                measure.latency_s.append(elapsed)
    return measure


async def stream(address: str, audio: list[np.ndarray]) -> dict[str, list[float]]:
    """Real-time streams of speech followed by 1.5 s of silence, as a person stops talking.

    Measured from the moment the clip's last sample was sent (recordings end with
    a little silence of their own, so this is at or after the true end of speech): the speculative
    final (what a voice turn starts answering on) and the final (after the
    end-point), plus the time to the first partial from the start of speech.
    """
    out: dict[str, list[float]] = {
        "speculative_s": [],
        "final_s": [],
        "first_partial_s": [],
        "rtf": [],
    }
    silence = np.zeros(24_000, np.float32)
    async with SttClient(address) as client:
        for pcm in audio:
            result = await client.stream_pcm(np.concatenate([pcm, silence]), realtime=1.0)
            speech_end = result.audio_started_at + len(pcm) / SAMPLE_RATE
            guesses = [
                t
                for p, t in zip(result.partials, result.partial_times, strict=True)
                if p.speculative
            ]
            if guesses:
                out["speculative_s"].append(guesses[-1] - speech_end)
            if result.final_times:
                out["final_s"].append(result.final_times[-1] - speech_end)
            if result.partial_times:
                out["first_partial_s"].append(result.partial_times[0] - result.audio_started_at)
            if result.done is not None:
                out["rtf"].append(result.done.timing.real_time_factor)
    return out


def load(items: list[EvalItem]) -> tuple[list[bytes], list[np.ndarray]]:
    files = [Path(item.audio).read_bytes() for item in items]
    audio = [decode_file(item.audio) for item in items]
    return files, audio
