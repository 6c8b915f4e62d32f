"""The committed real-speech fixtures (``tests/fixtures/speech``) and a WER helper for tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from june.audio import decode_file
from june.stt.evaluate import normalize

SPEECH_DIR = Path(__file__).parent / "fixtures" / "speech"


@dataclass(frozen=True)
class Clip:
    id: str
    path: Path
    text: str
    pcm: np.ndarray  # 16 kHz mono float32


@cache
def _index() -> dict[str, dict[str, str]]:
    rows = [json.loads(line) for line in (SPEECH_DIR / "index.jsonl").read_text().splitlines()]
    return {row["id"]: row for row in rows}


@cache
def load_clip(clip_id: str) -> Clip:
    row = _index()[clip_id]
    path = SPEECH_DIR / row["audio"]
    return Clip(clip_id, path, row["text"], decode_file(path))


def clip_ids() -> list[str]:
    return sorted(_index())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalize(reference), normalize(hypothesis)))


def encode(
    pcm: np.ndarray,
    container: str,
    codec: str,
    rate: int = 16_000,
    channels: int = 1,
    sample_fmt: str | None = None,
) -> bytes:
    """Real speech re-encoded with PyAV into ``container``/``codec``, as a client would send it."""
    import io

    import av

    src = av.AudioFrame.from_ndarray(pcm[None, :].astype(np.float32), format="flt", layout="mono")
    src.sample_rate = 16_000
    out = io.BytesIO()
    with av.open(out, "w", format=container) as box:
        stream = box.add_stream(codec, rate=rate)
        stream.layout = "stereo" if channels == 2 else "mono"
        if sample_fmt:
            stream.format = sample_fmt
        resampler = av.AudioResampler(
            format=stream.format.name,
            layout=stream.layout.name,
            rate=rate,
            frame_size=1024 if codec == "aac" else None,  # AAC takes whole 1024-sample frames
        )
        for frame in [*resampler.resample(src), *resampler.resample(None)]:
            for packet in stream.encode(frame):
                box.mux(packet)
        for packet in stream.encode(None):
            box.mux(packet)
    return out.getvalue()
