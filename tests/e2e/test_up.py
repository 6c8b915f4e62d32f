"""``june up`` for real: started, checked, crashed, restarted, stopped and started again.

The whole run happens under an outbound-network guard (``tests/netguard``,
loaded into every Python process June starts) that allows only loopback: June
must come up without loading anything from the network.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from june.infra.postgres import embedded_database_url, libpq_url
from june.settings import Settings
from tests.june_up import (
    GUARD_DIR,
    june_check,
    processes_of,
    start_june,
    stop_june,
    wait_healthy,
)

pytestmark = pytest.mark.slow


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
