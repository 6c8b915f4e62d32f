"""``june up`` for real: started, checked, crashed, restarted, stopped and started again.

The whole run happens under an outbound-network guard (``tests/netguard``,
loaded into every Python process June starts) that allows only loopback: June
must come up without loading anything from the network.
"""

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
import psycopg
import pytest

from june.infra.postgres import embedded_database_url, libpq_url
from june.settings import Settings
from tests.conftest import make_settings, settings_env

GUARD_DIR = Path(__file__).parent / "netguard"
pytestmark = pytest.mark.slow


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


def test_june_up_check_crash_restart_stop_and_warm_start(
    june_env: tuple[Settings, dict[str, str], Path],
) -> None:
    settings, env, guard_log = june_env
    june = start_june(env)
    try:
        june.wait_for("June is up", timeout=240)
        report = june_check(env)
        assert report["healthy"], report
        parts = report["parts"]
        assert isinstance(parts, dict)
        assert set(parts) == {"postgres", "nats", "gateway", "inference", "stt", "tts", "telegram"}
        assert "pgvector" in parts["postgres"]["detail"]

        # A second June on the same data dir is refused, and the first keeps running.
        second = subprocess.run(
            [sys.executable, "-m", "june", "up"], env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert second.returncode == 2
        assert "already running" in second.stdout + second.stderr

        # Something worth keeping across a restart.
        url = libpq_url(embedded_database_url(settings))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO users (id, name, is_admin) VALUES (gen_random_uuid(), 'ada', true)"
            )

        # A service that dies is restarted by the supervisor.
        stt_pid = june.service_pid("stt")
        assert stt_pid is not None
        os.kill(stt_pid, signal.SIGKILL)
        june.wait_for("stt exited with code -9", timeout=30)
        report = wait_healthy(env, timeout=90)
        assert report["healthy"], report
        new_pid = june.service_pid("stt")
        assert new_pid is not None and new_pid != stt_pid

        stopped = stop_june(june)
        services = {f"serve {n}" for n in ("gateway", "inference", "stt", "tts", "telegram")}
        assert {"postgres", "nats-server"} | services <= stopped
        assert "June stopped." in june.drain()
    finally:
        if june.proc.poll() is None:
            june.proc.kill()

    # Everything is down: june check says so, naming each part.
    report = june_check(env)
    assert not report["healthy"]
    assert all(not p["healthy"] for p in report["parts"].values())  # type: ignore[union-attr]
    assert "unavailable" in report["parts"]["postgres"]["detail"]  # type: ignore[index]

    # Warm start: the data is still there.
    june = start_june(env)
    try:
        june.wait_for("June is up", timeout=240)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT name FROM users").fetchall() == [("ada",)]
        stop_june(june)
    finally:
        if june.proc.poll() is None:
            june.proc.kill()

    # The guard was active in June's processes and nothing tried to leave the machine.
    records = [line.split(" ", 2) for line in guard_log.read_text().splitlines()]
    loaded = {argv for _, what, argv in records if what == "loaded"}
    for name in ("gateway", "inference", "stt", "tts", "telegram"):
        assert any(argv.endswith(f"serve {name}") for argv in loaded), (name, loaded)
    assert any(argv.endswith(" up") for argv in loaded), loaded
    refused = [line for line in records if line[1] != "loaded"]
    assert not refused, refused


def test_network_guard_refuses_everything_but_loopback() -> None:
    """The guard the start-up test relies on really is loaded and really refuses."""
    probe = (
        "import socket\n"
        "assert socket.JUNE_NET_GUARD\n"
        "from sitecustomize import is_loopback\n"
        "assert is_loopback('127.0.0.1') and is_loopback('::1') and is_loopback('localhost')\n"
        "assert not is_loopback('huggingface.co') and not is_loopback('10.0.0.1')\n"
        "try:\n"
        "    socket.getaddrinfo('huggingface.co', 443)\n"
        "except OSError as e:\n"
        "    print('refused:', e)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(GUARD_DIR))
    env.pop("JUNE_NET_GUARD_LOG", None)
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "network guard: outbound lookup to 'huggingface.co' refused" in result.stdout


def test_june_up_refuses_to_start_without_a_model_and_says_how_to_install_it(
    june_env: tuple[Settings, dict[str, str], Path],
) -> None:
    settings, env, _ = june_env
    env = dict(env, JUNE_STT_MODEL="whisper-large-v3")
    june = start_june(env)
    code = june.proc.wait(180)
    output = june.drain()
    assert code == 2, output
    assert "june models --model whisper-large-v3" in output.replace("\n", " ")
    assert "Traceback" not in output
    assert not processes_of(settings.data_dir), "june up left processes behind"
