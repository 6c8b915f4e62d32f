"""``june bench e2e``: whole voice turns over the realtime WebSocket, timed as a person hears them.

Each turn is a new session (a new conversation, so answers stay comparable
and no history piles up) that speaks one recorded utterance as a microphone
would — 100 ms pcm16 chunks at real time — and ends it like the web app's
hold-to-talk (``ptt``: ``vad`` off and ``input_audio.commit`` right after the
last chunk) or by falling silent (``vad``: 1.5 s of silence, the server's
end-pointing ends the utterance). The end of speech is when the last chunk of
the clip was sent; from there the client measures the time to the first
answer audio frame it receives and to ``turn.done``. The server's own
``timings`` (``turn.done``) give each stage's latency.

Figures are medians and p95 (nearest rank). ``stages`` are the medians of each
stage's own latency — ``stt``: end of speech → final transcript
(``stt_final_s``), ``llm``: request → first complete sentence
(``llm_first_sentence_s``), ``tts``: that sentence → first audio chunk
(``tts_first_chunk_s``). ``overhead_ratio`` is median(client first audio) /
median(per-turn sum of those three): played one after the other, the stages
would take the sum; above 1 the rest (transport, queueing, orchestration)
costs that much more; below 1 the stages overlapped — the answer started on a
speculative transcript before the end-point, or the sentence was spoken while
the LLM still wrote.

Two origins, on purpose: the client counts from the end of the *clip* (what
a push-to-talk user lives: the button is released when the recording ends),
the server from where its VAD heard the *speech* end inside the clip. A
recording's own trailing silence (0.1 to 0.4 s in LibriSpeech) therefore
shows in the server's ``first_audio_s`` and ``stt_final_s`` but not in the
client's figures, which is why the ratio can read below 1 with no
speculation at all; ``speculative_share`` says how many answers really
started early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from june.bench import stats
from june.client import (
    ClientError,
    RealtimeClient,
    TurnResult,
    Unauthorized,
    pcm16,
    voice_turn,
)

Mode = Literal["ptt", "vad"]
SAMPLE_RATE = 16_000
#: What a person waits for (DESIGN.md): end of speech → first sound of the answer.
TARGET_FIRST_AUDIO_S = 0.8
#: Stage → the server timing that is its own latency.
STAGES = {"stt": "stt_final_s", "llm": "llm_first_sentence_s", "tts": "tts_first_chunk_s"}
SERVER_TIMINGS = (
    "transcript_s",
    "first_token_s",
    "first_audio_s",
    "done_s",
    "stt_final_s",
    "llm_first_token_s",
    "llm_first_sentence_s",
    "tts_first_chunk_s",
)


@dataclass(frozen=True)
class Utterance:
    id: str
    text: str
    part: str
    pcm: np.ndarray  # 16 kHz mono float32

    @property
    def seconds(self) -> float:
        return len(self.pcm) / SAMPLE_RATE


@dataclass(frozen=True)
class BenchOptions:
    url: str
    token: str
    mode: Mode = "ptt"
    concurrency: int = 1
    #: Turns in all (the clips repeat); 0: one per clip.
    turns: int = 0
    max_tokens: int = 48
    #: ``vad`` mode: silence after the clip, longer than the server's end-point (1 s).
    trailing_silence_s: float = 1.5
    turn_timeout_s: float = 180.0


@dataclass
class TurnRecord:
    index: int
    worker: int
    utterance: Utterance
    result: TurnResult | None = None
    error: dict[str, str] = field(default_factory=dict)
    wer: float | None = None
    #: Wall-clock (Unix) seconds when the turn's session opened and when the turn ended,
    #: which show how the sessions of a run overlapped.
    started_at: float = 0.0
    ended_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "index": self.index,
            "worker": self.worker,
            "id": self.utterance.id,
            "reference": self.utterance.text,
            "speech_s": round(self.utterance.seconds, 3),
            "started_at": round(self.started_at, 3),
            "ended_at": round(self.ended_at, 3),
        }
        if self.error:
            body["error"] = self.error
        r = self.result
        if r is not None:
            body.update(
                transcript=r.transcript,
                wer=self.wer,
                answer=r.answer,
                conversation_id=r.conversation_id,
                turn_id=r.turn_id,
                server_timings=r.timings,
                client_timings=r.client_timings(),
                audio={"format": r.audio_format, "sample_rate": r.sample_rate},
                stage_errors=[
                    {"stage": e.stage, "code": e.code, "message": e.message} for e in r.errors
                ],
            )
        return body


async def one_turn(options: BenchOptions, utterance: Utterance) -> TurnResult:
    """One voice turn in a new session, spoken at real time."""
    ptt = options.mode == "ptt"
    async with RealtimeClient(options.url, options.token) as client:
        await client.update(
            input={"format": "pcm16", "sample_rate": SAMPLE_RATE, "channels": 1},
            output={"format": "pcm16"},
            vad=not ptt,
            max_tokens=options.max_tokens,
        )
        return await voice_turn(
            client,
            pcm16(utterance.pcm),
            pace=1.0,
            commit=ptt,
            trailing_silence_s=0.0 if ptt else options.trailing_silence_s,
            timeout_s=options.turn_timeout_s,
        )


async def run_turns(
    options: BenchOptions,
    utterances: list[Utterance],
    on_done: Callable[[TurnRecord], None] | None = None,
) -> list[TurnRecord]:
    """``options.turns`` turns over ``options.concurrency`` sessions at once, sharing the clips.

    A turn that fails is recorded with its error and the run goes on (a gateway
    that restarts costs the turns it missed, which the report counts); a
    refused token ends the run, since every turn would fail the same way.
    """
    from june.stt.evaluate import utterance_wer

    total = options.turns or len(utterances)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(total):
        queue.put_nowait(index)
    records: list[TurnRecord] = []

    async def worker(number: int) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            record = TurnRecord(index, number, utterances[index % len(utterances)])
            record.started_at = time.time()
            try:
                record.result = await one_turn(options, record.utterance)
            except Unauthorized:
                raise
            except ClientError as exc:
                record.error = {
                    "stage": str(getattr(exc, "stage", "client")),
                    "type": type(exc).__name__,
                    "message": str(exc),
                }
            record.ended_at = time.time()
            if record.result is not None:
                wer = utterance_wer(record.utterance.text, record.result.transcript)
                record.wer = round(wer, 4)
            records.append(record)
            if on_done is not None:
                on_done(record)

    tasks = [asyncio.create_task(worker(n)) for n in range(max(1, options.concurrency))]
    try:
        await asyncio.gather(*tasks)
    finally:  # one worker's fatal error stops the others
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return sorted(records, key=lambda r: r.index)


def median(values: list[float]) -> float | None:
    value = stats.median(values)
    return None if value is None else round(value, 4)


def p95(values: list[float]) -> float | None:
    """The nearest-rank 95th percentile (of 20 turns: the 19th fastest)."""
    value = stats.p95(values)
    return None if value is None else round(value, 4)


def summarize(records: list[TurnRecord], options: BenchOptions, wall_s: float) -> dict[str, Any]:
    """The report ``--json`` prints (seconds; WER as a fraction)."""
    import jiwer

    from june.stt.evaluate import normalize

    ok = [r.result for r in records if r.result is not None]
    first = [r.first_audio_s for r in ok if r.first_audio_s is not None]
    done = [r.done_s for r in ok]
    transcript = [r.transcript_s for r in ok if r.transcript_s is not None]
    server = {key: [r.timings[key] for r in ok if key in r.timings] for key in SERVER_TIMINGS}
    sums = [
        sum(r.timings[k] for k in STAGES.values())
        for r in ok
        if all(k in r.timings for k in STAGES.values())
    ]
    spoken = [r for r in records if r.result is not None]
    refs = [normalize(r.utterance.text) for r in spoken]
    hyps = [normalize(r.result.transcript) for r in spoken if r.result is not None]
    med_first, med_sum = median(first), median(sums)
    return {
        "n": len(ok),
        "turns": len(records),
        "errors": len(records) - len(ok),
        "concurrency": options.concurrency,
        "mode": options.mode,
        "max_tokens": options.max_tokens,
        "median_first_audio_s": med_first,
        "p95_first_audio_s": p95(first),
        "median_done_s": median(done),
        "p95_done_s": p95(done),
        "median_transcript_s": median(transcript),
        "p95_transcript_s": p95(transcript),
        "stages": {name: median(server[key]) for name, key in STAGES.items()},
        "stages_p95": {name: p95(server[key]) for name, key in STAGES.items()},
        "stages_sum_median_s": med_sum,
        "overhead_ratio": round(med_first / med_sum, 3) if med_first and med_sum else None,
        "server": {key: {"median": median(v), "p95": p95(v)} for key, v in server.items()},
        "speculative_share": (
            round(sum(r.timings.get("speculative", 0.0) for r in ok) / len(ok), 3) if ok else None
        ),
        "turns_without_audio": sum(1 for r in ok if r.first_audio_s is None),
        "wer": round(float(jiwer.wer(refs, hyps)), 4) if refs and any(refs) else None,
        "target_first_audio_s": TARGET_FIRST_AUDIO_S,
        "speech_s": round(sum(r.utterance.seconds for r in records), 1),
        "wall_s": round(wall_s, 1),
        "error_samples": [r.error for r in records if r.error][:5],
    }


async def warm_up(options: BenchOptions, utterance: Utterance) -> float:
    """One untimed turn first: the first request of a fresh June loads and compiles things."""
    started = time.perf_counter()
    await one_turn(options, utterance)
    return time.perf_counter() - started
