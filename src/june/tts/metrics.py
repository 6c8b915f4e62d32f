"""Prometheus metrics of the tts service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("june_tts_requests_total", "Synthesis requests", ["method"])
ERRORS = Counter("june_tts_errors_total", "Synthesis requests that failed", ["method", "code"])
CHARACTERS = Counter("june_tts_characters_total", "Characters of text synthesised", ["voice"])
AUDIO_SECONDS = Counter("june_tts_audio_seconds_total", "Seconds of audio produced", ["voice"])
REAL_TIME_FACTOR = Histogram(
    "june_tts_real_time_factor",
    "Synthesis time divided by the duration of the audio, per request",
    ["voice"],
    buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2),
)
TIME_TO_FIRST_CHUNK = Histogram(
    "june_tts_time_to_first_chunk_seconds",
    "From the first sentence being complete to its first audio bytes",
    ["method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2),
)
IN_FLIGHT = Gauge("june_tts_in_flight", "Synthesis requests being served")
