"""Run ``python -m june …`` as a user would, isolated from any running June."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_june(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A fresh data dir, and service ports where nothing listens: commands serve in-process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUNE_")}
    env.update(JUNE_DATA_DIR=str(tmp_path / "data"), JUNE_STT_PORT="1", JUNE_TTS_PORT="1")
    return subprocess.run(
        [sys.executable, "-m", "june", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
