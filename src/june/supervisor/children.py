"""One supervised service process (``june serve NAME``): start, watch, restart with backoff, stop.

Each child runs in its own session, so Ctrl-C in the terminal reaches only the
supervisor, which then stops the services first and the infrastructure last.
The kernel sends the child SIGTERM if the supervisor itself dies
(``PR_SET_PDEATHSIG``), so no service outlives June.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import structlog

from june.infra.process import die_with_parent, tail
from june.settings import ServiceName, Settings

log = structlog.get_logger(__name__)

#: ``june serve`` exits with this code for a configuration problem (missing
#: model, port taken): restarting cannot help, so the supervisor does not.
EXIT_CONFIG_ERROR = 2


class ServiceProcess:
    def __init__(self, name: ServiceName, settings: Settings, env: dict[str, str]) -> None:
        self.name = name
        self.settings = settings
        self.env = env
        self.log_path: Path = settings.logs_dir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.started_at = 0.0
        self._log_file: IO[bytes] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.returncode is None else None

    async def start(self) -> None:
        self._log_file = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "june",
            "serve",
            self.name,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.started_at = time.monotonic()
        log.info("service.started", service=self.name, pid=self.proc.pid)

    def last_lines(self, n: int = 15) -> str:
        return tail(self.log_path, n)

    async def watch(self, on_event: Callable[[str], None]) -> None:
        """Restart the process whenever it exits unexpectedly, with exponential backoff."""
        cfg = self.settings.supervisor
        delay = cfg.backoff_initial_s
        while not self._stopping:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._stopping:
                return
            ran_for = time.monotonic() - self.started_at
            if ran_for >= cfg.backoff_reset_after_s:
                delay = cfg.backoff_initial_s
            on_event(
                f"{self.name} exited with code {code} after {ran_for:.1f}s; "
                f"restarting in {delay:.0f}s (log: {self.log_path})"
            )
            log.warning("service.crashed", service=self.name, code=code, restart_in_s=delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            delay = min(delay * 2, cfg.backoff_max_s)
            self.restarts += 1
            self._close_log()
            await self.start()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``stop_timeout_s``."""
        self._stopping = True
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), self.settings.supervisor.stop_timeout_s)
            except TimeoutError:
                log.warning("service.killed", service=self.name)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
