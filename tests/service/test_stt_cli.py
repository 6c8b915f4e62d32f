"""``june transcribe``, ``june eval stt`` and ``june bench stt`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_june as june
from tests.speech import SPEECH_DIR, clip_ids, load_clip, wer


def test_transcribe_prints_the_text(tmp_path: Path) -> None:
    clip = load_clip("jfk")
    result = june(tmp_path, "transcribe", str(clip.path))
    assert result.returncode == 0, result.stderr
    assert wer(clip.text, result.stdout) <= 0.1


def test_transcribe_json_has_words_and_timing(tmp_path: Path) -> None:
    clip = load_clip("1089-134686-0010")
    result = june(tmp_path, "transcribe", str(clip.path), "--json", "--word-timestamps")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)  # stdout is only the JSON object
    assert body["via"] == "in-process"
    assert body["transcript"]["segments"][0]["words"]
    assert body["timing"]["audio_s"] == pytest.approx(4.4, abs=0.1)


def test_transcribe_refuses_a_non_audio_file_clearly(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list: eggs, milk\n" * 50)
    result = june(tmp_path, "transcribe", str(notes))
    assert result.returncode == 2
    assert "notes.txt" in result.stderr and "not audio" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", [[], ["--stream", "--pace", "0"]])
def test_eval_reports_wer_per_part(tmp_path: Path, mode: list[str]) -> None:
    result = june(tmp_path, "eval", "stt", "--data", str(SPEECH_DIR), "--json", *mode)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"n", "wer", "cer", "rtf", "audio_s", "wall_s", "parts"} <= report.keys()
    assert report["n"] == 6 and report["wer"] < 0.15
    assert set(report["parts"]) == {"test-clean", "test-other", "LJ001", "whisper-test-clip"}
    assert report["parts"]["test-clean"]["n"] == 3
    # every clip was heard to its end: the audio counted is the set's, part by part
    clips = [load_clip(c) for c in clip_ids()]
    assert report["audio_s"] == pytest.approx(sum(len(c.pcm) for c in clips) / 16_000, abs=0.2)
    assert report["audio_s"] == pytest.approx(sum(p["audio_s"] for p in report["parts"].values()))
    assert report["rtf"] > 0 and report["wall_s"] > 0  # measured, whatever the machine's speed


def test_eval_explains_a_missing_data_folder(tmp_path: Path) -> None:
    result = june(tmp_path, "eval", "stt", "--data", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "index.jsonl" in result.stderr


def test_bench_compares_service_and_direct(tmp_path: Path) -> None:
    result = june(
        tmp_path,
        "bench",
        "stt",
        "--data",
        str(SPEECH_DIR),
        "--limit",
        "2",
        "--repeats",
        "1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for part in ("direct", "service_unary"):
        assert report[part]["rtf"] > 0 and report[part]["latency_s"] > 0
    stream = report["service_stream"]
    # The final waits for the end-point (1 s of silence): after the clip's end whatever
    # the speed. The speculative final comes before it, and before or after the clip's
    # own trailing silence ends, depending on the machine (that is the figure).
    assert stream["final_s"] > 0 and 0 <= stream["speculative_share"] <= 1
    if stream["speculative_share"]:
        assert stream["speculative_s"] <= stream["final_s"]  # the guess comes first
    assert report["overhead_ratio_rtf"] > 0
