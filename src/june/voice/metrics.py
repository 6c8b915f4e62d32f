"""Prometheus metrics of voice turns (served on the gateway's ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 5, 10)

TURNS = Counter(
    "june_voice_turns_total",
    "Voice turns by how they ended: done, cancelled (barge-in, client), dropped (speculative)",
    ["outcome"],
)
STAGE_ERRORS = Counter(
    "june_voice_stage_errors_total", "Stage failures sent to clients", ["stage", "code"]
)
FIRST_AUDIO = Histogram(
    "june_voice_first_audio_seconds",
    "End of speech (or of a typed message) to the first audio of the answer",
    buckets=_LATENCY_BUCKETS,
)
STAGE_LATENCY = Histogram(
    "june_voice_stage_seconds",
    "Each stage's own latency: stt final after end of speech, llm first piece, tts first chunk",
    ["stage"],
    buckets=_LATENCY_BUCKETS,
)
SESSIONS = Gauge("june_voice_sessions", "Voice sessions open on this gateway")


def observe_done(timings: dict[str, float]) -> None:
    TURNS.labels("done").inc()
    if timings.get("first_audio_s"):
        FIRST_AUDIO.observe(timings["first_audio_s"])
    for stage, key in (
        ("stt", "stt_final_s"),
        ("llm", "llm_first_sentence_s"),
        ("tts", "tts_first_chunk_s"),
    ):
        if key in timings:
            STAGE_LATENCY.labels(stage).observe(timings[key])
