"""Where a benchmark run keeps what it heard and said: ``run_YYYYMMDD_HHMMSS/``.

A run is only as good as what one can check afterwards, so every turn leaves
its input audio, the answer audio and a JSON of transcript, reference,
answer, server timings and client latencies, and the run its
``summary.json``. The folder goes under the data set's folder, next to the
clips it used; when that folder is not writable, or is marked read-only (no
write bit, as a shared data set is — even for root, who could write there),
it goes under the current directory instead, and the command says so.
"""

from __future__ import annotations

import errno
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from june.bench.e2e import SAMPLE_RATE, TurnRecord
from june.client import pcm16, pcm16_wav


def run_folder(data_dir: Path, now: datetime | None = None) -> tuple[Path, str]:
    """A new ``run_…`` folder under ``data_dir``, else under the current directory.

    Returns the folder and a note for the user when it is not under ``data_dir``.
    """
    stamp = (now or datetime.now()).strftime("run_%Y%m%d_%H%M%S")
    if _writable(data_dir):
        try:
            return _new_folder(data_dir, stamp), ""
        except PermissionError:
            pass
        except OSError as exc:
            if exc.errno != errno.EROFS:
                raise
    folder = _new_folder(Path.cwd(), stamp)
    return folder, f"{data_dir} is not writable: the run is kept in {folder.resolve()}"


def _writable(folder: Path) -> bool:
    """Writable for us *and* not marked read-only: root may write anywhere, but a data set
    whose folder has no write bit at all is meant to stay as it is."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return bool(mode & 0o222) and os.access(folder, os.W_OK)


def _new_folder(base: Path, stamp: str) -> Path:
    for n in range(1, 100):
        folder = base / (stamp if n == 1 else f"{stamp}_{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"{base / stamp} and 98 more exist")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80]


def write_turn(folder: Path, record: TurnRecord) -> None:
    """``NNNN_<clip>.in.wav``, ``.answer.wav`` (when there was audio) and ``.json``."""
    stem = f"{record.index:04d}_{_safe(record.utterance.id)}"
    (folder / f"{stem}.in.wav").write_bytes(pcm16_wav(pcm16(record.utterance.pcm), SAMPLE_RATE))
    body = record.to_json()
    result = record.result
    if result is not None and result.audio:
        (folder / f"{stem}.answer.wav").write_bytes(result.wav())
        body["answer_audio"] = f"{stem}.answer.wav"
    body["input_audio"] = f"{stem}.in.wav"
    (folder / f"{stem}.json").write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")


def write_summary(folder: Path, report: dict[str, Any]) -> None:
    (folder / "summary.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
