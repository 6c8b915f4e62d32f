"""``june bench e2e``: real voice turns over the WebSocket, against the real June.

Against the running stack (``--url``, ``--api-key``) for the figures,
concurrency and memory; once against a throwaway June the command starts
itself, which is how the benchmark runs where nothing is up. The arithmetic
of the report (percentiles, the overhead ratio) and where a run's files go are
checked without a server.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from june.bench.artifacts import run_folder
from june.bench.e2e import BenchOptions, TurnRecord, Utterance, p95, summarize
from june.bench.memory import sample_points
from june.client import TurnResult
from june.infra.ports import free_port
from tests.gateway_users import api_key, june, user_token
from tests.speech import SPEECH_DIR
from tests.stack import Stack

CLIPS = ("6930-75918-0000", "1688-142285-0002")  # 3.5 s and 2.8 s of speech
KEYS = ("n", "concurrency", "median_first_audio_s", "p95_first_audio_s", "stages")


@pytest.fixture(scope="module")
def key(june_stack: Stack) -> str:
    user_token(june_stack, "bench-user")
    return api_key(june_stack, "bench-user", "bench")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of two fixture clips with their index rows."""
    folder = tmp_path / "speech"
    folder.mkdir()
    rows = [json.loads(line) for line in (SPEECH_DIR / "index.jsonl").read_text().splitlines()]
    kept = [row for row in rows if row["id"] in CLIPS]
    for row in kept:
        shutil.copy(SPEECH_DIR / row["audio"], folder / row["audio"])
    (folder / "index.jsonl").write_text("".join(json.dumps(row) + "\n" for row in kept))
    return folder


def bench(stack: Stack, data: Path, *args: str, key: str | None = None) -> dict:
    auth = ["--url", stack.base_url, "--api-key", key] if key else []
    result = june(
        stack, "bench", "e2e", "--json", "--data", str(data), "--max-tokens", "16", *auth, *args,
        timeout=400,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_two_voice_turns_give_the_figures_and_keep_the_files(
    june_stack: Stack, key: str, data: Path
) -> None:
    report = bench(june_stack, data, "--limit", "2", key=key)
    assert all(k in report for k in KEYS), sorted(report)
    assert report["n"] == 2 and report["errors"] == 0 and report["concurrency"] == 1
    assert report["june"]["source"] == "running" and report["mode"] == "ptt"
    assert 0 < report["median_first_audio_s"] <= report["p95_first_audio_s"]
    assert report["median_first_audio_s"] <= report["median_done_s"]
    assert set(report["stages"]) == {"stt", "llm", "tts"}
    assert all(v is not None and v > 0 for v in report["stages"].values()), report["stages"]
    assert report["overhead_ratio"] > 0
    assert 0 <= report["wer"] <= 0.3
    runs = list(data.glob("run_*"))
    assert len(runs) == 1 and report["run_dir"] == str(runs[0].resolve())
    files = sorted(p.name for p in runs[0].iterdir())
    assert json.loads((runs[0] / "summary.json").read_text()) == report
    assert len([f for f in files if f.endswith(".in.wav")]) == 2
    assert len([f for f in files if f.endswith(".answer.wav")]) == 2
    turn = json.loads(next(runs[0].glob("0000_*.json")).read_text())
    assert turn["reference"] and turn["transcript"] and turn["answer"]
    assert turn["server_timings"]["first_audio_s"] > 0
    assert turn["client_timings"]["first_audio_s"] > 0


def test_sessions_run_at_once_with_concurrency(june_stack: Stack, key: str, data: Path) -> None:
    report = bench(june_stack, data, "--limit", "2", "--concurrency", "2", "--no-warmup", key=key)
    assert report["n"] == 2 and report["errors"] == 0 and report["concurrency"] == 2
    assert report["median_first_audio_s"] > 0
    turns = [json.loads(f.read_text()) for f in sorted(Path(report["run_dir"]).glob("000*_*.json"))]
    assert len(turns) == 2 and {t["worker"] for t in turns} == {0, 1}
    # each session was open while the other was: the second opened before the first ended
    assert max(t["started_at"] for t in turns) < min(t["ended_at"] for t in turns), turns
    assert all(t["transcript"] and t["server_timings"]["first_audio_s"] > 0 for t in turns)


def test_vad_mode_lets_the_server_end_the_utterance(
    june_stack: Stack, key: str, data: Path
) -> None:
    report = bench(june_stack, data, "--limit", "1", "--mode", "vad", "--no-warmup", key=key)
    assert report["n"] == 1 and report["mode"] == "vad"
    assert report["median_first_audio_s"] > 0 and report["wer"] <= 0.3


def test_memory_is_sampled_for_every_june_process(june_stack: Stack, key: str, data: Path) -> None:
    report = bench(
        june_stack, data, "--limit", "2", "--turns", "3", "--memory", "--no-warmup", key=key
    )
    assert report["n"] == 3 and report["turns"] == 3
    memory = report["memory"]
    assert {"gateway", "stt", "tts", "inference", "postgres", "nats"} <= set(memory), memory
    gateway = memory["gateway"]
    assert gateway["pid"] == june_stack.gateway.proc.pid
    assert [s["turns"] for s in gateway["samples"]] == [0, 1, 2, 3]
    for name, row in memory.items():
        assert row["before_mb"] > 1 and row["after_mb"] > 1, name
        assert row["growth_mb"] == pytest.approx(row["after_mb"] - row["before_mb"], abs=0.11)


@pytest.mark.slow
def test_without_a_running_june_the_bench_starts_a_throwaway_one(
    june_stack: Stack, data: Path
) -> None:
    """Nothing answers at ``--url``: June is started for the run, used, stopped and deleted."""
    url = f"http://127.0.0.1:{free_port()}"
    report = bench(june_stack, data, "--limit", "1", "--no-warmup", "--memory", "--url", url)
    assert report["june"]["source"] == "throwaway" and report["june"]["url"] != url
    assert report["n"] == 1 and report["median_first_audio_s"] > 0
    assert {"gateway", "stt", "tts", "inference", "postgres", "nats"} <= set(report["memory"])
    pids = [row["pid"] for row in report["memory"].values()]
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert not alive, f"the throwaway June left processes behind: {alive}"


# ------------------------------------------------------------------ no server needed
def _record(index: int, first_audio: float, stt: float, llm: float, tts: float) -> TurnRecord:
    utterance = Utterance(f"u{index}", "hello there", "test", np.zeros(16_000, np.float32))
    timings = {"stt_final_s": stt, "llm_first_sentence_s": llm, "tts_first_chunk_s": tts}
    result = TurnResult(
        turn_id=f"t{index}", transcript="hello there", answer="Hi.", conversation_id="c",
        message_id="m", audio=b"\0\0", audio_format="pcm16", sample_rate=22_050, channels=1,
        timings=timings, speech_end_at=0.0, transcript_s=stt, first_text_s=stt + 0.1,
        first_audio_s=first_audio, done_s=first_audio + 1,
    )  # fmt: skip
    return TurnRecord(index, 0, utterance, result, wer=0.0)


def test_the_overhead_ratio_compares_first_audio_with_the_sum_of_the_stages() -> None:
    records = [_record(i, 1.0 + i / 10, 0.3, 0.4, 0.1) for i in range(5)]
    failed = TurnRecord(5, 0, records[0].utterance, error={"message": "stt failed"})
    report = summarize([*records, failed], BenchOptions("http://x", "k"), wall_s=10)
    assert report["n"] == 5 and report["errors"] == 1 and report["turns"] == 6
    assert report["median_first_audio_s"] == 1.2 and report["p95_first_audio_s"] == 1.4
    assert report["stages"] == {"stt": 0.3, "llm": 0.4, "tts": 0.1}
    assert report["overhead_ratio"] == pytest.approx(1.2 / 0.8, abs=1e-3)
    assert report["wer"] == 0.0 and report["error_samples"] == [{"message": "stt failed"}]


def test_p95_is_the_nearest_rank_and_memory_is_sampled_every_tenth() -> None:
    assert p95([float(i) for i in range(1, 21)]) == 19.0
    assert p95([]) is None
    assert sample_points(200) == set(range(20, 201, 20))
    assert sample_points(3) == {1, 2, 3}


def test_a_read_only_data_folder_keeps_the_run_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    folder, note = run_folder(data)
    assert folder.parent == data and note == ""
    again, _ = run_folder(data)
    assert again != folder and again.parent == data  # within the same second: a suffix
    os.chmod(data, 0o555)
    try:
        moved, note = run_folder(data)
    finally:
        os.chmod(data, 0o755)
    assert moved.parent == here and str(data) in note and "not writable" in note
