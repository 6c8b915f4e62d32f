"""``june bench tts``: the service against Piper called directly, in the same run.

For a one-sentence and a five-sentence text: time to the first audio chunk
and real-time factor (synthesis time / audio duration), through
``Synthesize`` over gRPC (raw PCM, so encoding is not counted twice) and
through ``PiperVoice.synthesize`` on the same voice in this process. The
ratio service/direct is the service's overhead. Figures are medians.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from june.protos import tts_pb2
from june.tts.client import TtsClient
from june.tts.engine import LoadedVoice, SynthesisOptions
from june.tts.text import normalize_for_speech, split_sentences

TEXTS = {
    "one_sentence": "The weather in Paris is sunny today, with a light breeze from the west.",
    "five_sentences": (
        "The weather in Paris is sunny today, with a light breeze from the west. "
        "Tomorrow looks cloudier, and rain may arrive in the evening. "
        "Take an umbrella if you go out late. "
        "The weekend should be dry and warm again. "
        "Enjoy your trip!"
    ),
}


def direct(voice: LoadedVoice, text: str, repeats: int) -> dict[str, float]:
    """Piper by itself on the same sentences the service would send it, one after another."""
    sentences = split_sentences(normalize_for_speech(text))
    ttfc, rtf = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        first: float | None = None
        samples = 0
        for sentence in sentences:
            for pcm in voice.synthesize(sentence, SynthesisOptions()):
                first = first if first is not None else time.perf_counter() - start
                samples += len(pcm)
        total = time.perf_counter() - start
        ttfc.append(first or total)
        rtf.append(total / (samples / voice.info.sample_rate))
    return {"ttfc_s": statistics.median(ttfc), "rtf": statistics.median(rtf)}


async def service(address: str, text: str, repeats: int) -> dict[str, float]:
    ttfc, rtf = [], []
    config = tts_pb2.SynthesisConfig(format=tts_pb2.AUDIO_FORMAT_PCM_S16LE)
    async with TtsClient(address) as client:
        for _ in range(repeats):
            result = await client.synthesize(text, config)
            total = time.perf_counter() - result.started_at
            seconds = len(result.audio) / 2 / result.sample_rate_hz
            ttfc.append(result.first_chunk_s)
            rtf.append(total / seconds)
    return {"ttfc_s": statistics.median(ttfc), "rtf": statistics.median(rtf)}


def audio_seconds(pcm_s16: bytes, rate: int) -> float:
    return len(np.frombuffer(pcm_s16, "<i2")) / rate
