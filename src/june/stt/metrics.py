"""Prometheus metrics of the stt service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("june_stt_requests_total", "Recognition requests", ["method"])
ERRORS = Counter("june_stt_errors_total", "Recognition requests that failed", ["method", "code"])
AUDIO_SECONDS = Counter("june_stt_audio_seconds_total", "Seconds of audio received", ["method"])
PROCESSING_SECONDS = Counter(
    "june_stt_processing_seconds_total",
    "Seconds spent decoding, in VAD and in the model",
    ["method"],
)
REAL_TIME_FACTOR = Histogram(
    "june_stt_real_time_factor",
    "Processing time divided by audio duration, per request",
    ["method"],
    buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5),
)
FINAL_LATENCY = Histogram(
    "june_stt_final_latency_seconds",
    "Streaming: from the end-point of an utterance to its final transcript",
    buckets=(0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5),
)
IN_FLIGHT = Gauge("june_stt_in_flight", "Recognition requests being served")
