"""``june up`` as a process for tests: started under the outbound-network guard,
read line by line, checked with ``june check``, stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from june.settings import Settings
from tests.conftest import make_settings, settings_env

GUARD_DIR = Path(__file__).parent / "netguard"


@dataclass
class RunningJune:
    proc: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    output: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def drain(self) -> str:
        """All output, once the process has exited and its stdout is closed."""
        self._pump_thread.join(10)
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return "".join(self.output)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not seen; output so far:\n{''.join(self.output)}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def service_pid(self, name: str) -> int | None:
        for child in psutil.Process(self.proc.pid).children():
            if _label(child) == f"serve {name}":
                return child.pid
        return None


def _label(proc: psutil.Process) -> str | None:
    """``serve NAME`` for a June service, the executable's name for a server; None once gone.

    PostgreSQL starts and ends worker processes all the time, so a process seen a
    moment ago may have ended by the time it is asked its name: that is no error.
    """
    try:
        if proc.name().startswith("python"):
            return " ".join(proc.cmdline()[-2:])
        return proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


@pytest.fixture
def june_env(tmp_path: Path) -> Iterator[tuple[Settings, dict[str, str], Path]]:
    settings = make_settings(tmp_path / "data")
    guard_log = tmp_path / "net-guard.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUNE_")}
    env.update(settings_env(settings))
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR), env.get("PYTHONPATH", "")]).rstrip(":")
    env["JUNE_NET_GUARD_LOG"] = str(guard_log)
    env["COLUMNS"] = "200"
    yield settings, env, guard_log


def start_june(env: dict[str, str]) -> RunningJune:
    proc = subprocess.Popen(
        [sys.executable, "-m", "june", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    return RunningJune(proc)


def june_check(env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "june", "check", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["healthy"] else 1)
    return report


def wait_healthy(env: dict[str, str], timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        report = june_check(env)
        if report["healthy"] or time.monotonic() > deadline:
            return report
        time.sleep(0.5)


def processes_of(data_dir: Path) -> list[psutil.Process]:
    """Processes started for the June whose data dir is ``data_dir`` (servers and services)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if str(data_dir) in " ".join(proc.cmdline()) or (
                proc.environ().get("JUNE_DATA_DIR") == str(data_dir)
            ):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def stop_june(june: RunningJune, timeout: float = 60) -> set[str]:
    """Ctrl-C; returns the names of every process June had, all checked to be gone."""
    procs = june.descendants()
    names = {label for p in procs if (label := _label(p)) is not None}
    june.proc.send_signal(signal.SIGINT)
    assert june.proc.wait(timeout) == 0, "".join(june.output)
    _, alive = psutil.wait_procs(procs, timeout=10)
    assert not alive, f"left behind: {alive}"
    return names
