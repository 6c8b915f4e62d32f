"""Small helpers for the server processes June owns."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import time
from pathlib import Path

import psutil

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for children: the kernel sends SIGTERM to them if June itself dies.

    That way even ``kill -9`` of the supervisor leaves no server behind. It must
    be used from the main thread (the signal fires when the *thread* that forked exits).
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the supervisor's own shutdown still stops everything
        pass


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def live_process(pid: int | None, name: str) -> psutil.Process | None:
    """The process ``pid`` if it is alive and its executable is called ``name``."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if proc.name() == name or any(Path(a).name == name for a in proc.cmdline()[:1]):
            return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return None


def stop_process(proc: psutil.Process, sig: int, timeout: float) -> None:
    """Send ``sig``, wait ``timeout`` seconds, then kill."""
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except psutil.TimeoutExpired:
        with contextlib.suppress(psutil.NoSuchProcess):  # it may end just now
            proc.kill()
            proc.wait(5)
    except psutil.NoSuchProcess:
        pass


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


__all__ = ["die_with_parent", "live_process", "read_pid", "stop_process", "tail", "wait_until"]
