"""A June of its own for one benchmark run: ``june up`` in a temporary data dir on free ports.

The benchmark should not need anyone to start June first, and must not touch
their data: the throwaway June has its own embedded PostgreSQL and NATS in a
temporary ``JUNE_DATA_DIR`` (deleted afterwards), every port drawn free, and
rate limits off (one benchmark user sends many turns). It shares only the
model cache of the configured June (``JUNE_MODEL_CACHE_DIR``), so nothing is
assembled twice. Other ``JUNE_*`` variables of the environment (models, an
LLM server URL …) pass through, so the run measures June as configured; a
``.env`` file is not read (the child runs in the temporary folder).

A bench user and an API key are made directly in its database (the accounts
module that ``june users`` / ``june keys`` use). Stopping is ``june up``'s
own Ctrl-C: SIGINT, then wait; the logs of every part can be kept (the
benchmark keeps them with its run) before the folder is deleted.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from june.infra.ports import free_ports
from june.settings import NatsSettings, PostgresSettings, Settings

#: Embedded PostgreSQL's first start (initdb) and three model loads on two cores.
START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 60.0
SERVICES = ("gateway", "inference", "stt", "tts")
BENCH_USER = "june-bench"


class ThrowawayError(RuntimeError):
    """The throwaway June did not come up; the message ends with its log."""


@dataclass
class ThrowawayJune:
    """``with ThrowawayJune(settings) as june:`` → ``.url``, ``.api_key``, ``.ports``."""

    settings: Settings
    keep: bool = False
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="june-bench-")))
    ports: dict[str, int] = field(default_factory=dict)
    api_key: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def log_path(self) -> Path:
        return self.root / "june-up.log"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUNE_DATABASE", "JUNE_NATS", "JUNE_S3", "JUNE_POSTGRES"))
        }
        names = (
            "gateway",
            "inference",
            "inference_metrics",
            "stt",
            "stt_metrics",
            "tts",
            "tts_metrics",
            "telegram_metrics",
            "postgres",
            "nats",
            "nats_monitor",
        )
        if not self.ports:
            self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        env.update({f"JUNE_{name.upper()}_PORT": str(port) for name, port in self.ports.items()})
        env.update(
            {
                "JUNE_DATA_DIR": str(self.root / "data"),
                "JUNE_MODEL_CACHE_DIR": str(self.settings.models_dir),
                "JUNE_HOST": "127.0.0.1",
                "JUNE_SUPERVISOR_SERVICES": '["' + '","'.join(SERVICES) + '"]',
                "JUNE_GATEWAY_RATE_LIMIT_REQUESTS_PER_MINUTE": "0",
                "JUNE_GATEWAY_RATE_LIMIT_AUDIO_S_PER_MINUTE": "0",
                "JUNE_GATEWAY_JWT_SECRET": secrets.token_urlsafe(48),
                "COLUMNS": "200",
            }
        )
        env.pop("JUNE_GATEWAY_PUBLIC_URL", None)
        return env

    def start(self) -> None:
        from june.infra.process import die_with_parent

        env = self.env()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "june", "up"],
                env=env,
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,  # a killed benchmark leaves no June behind
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while "June is up" not in self._log():
            if self.proc.poll() is not None:
                raise ThrowawayError(
                    f"the throwaway June exited with code {self.proc.returncode}:\n{self._tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ThrowawayError(
                    f"the throwaway June was not up after {START_TIMEOUT_S:.0f} s:\n{self._tail()}"
                )
            time.sleep(0.5)
        self.api_key = self._make_key()

    def _make_key(self) -> str:
        """A bench user with a random password, and an API key acting as it."""
        from june.gateway.auth.accounts import add_account, create_key
        from june.inference.documents.database import engine_from_settings

        settings = self.child_settings()
        engine = engine_from_settings(settings)
        try:
            account = add_account(engine, BENCH_USER, secrets.token_urlsafe(24))
            key, _ = create_key(engine, account.id, "bench")
        finally:
            engine.dispose()
        return key

    def child_settings(self) -> Settings:
        """The settings the throwaway June runs with (for its database, its ports)."""
        env = self.env()
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(env["JUNE_DATA_DIR"]),
            database_url=None,  # its own embedded server, whatever the environment says
            postgres=PostgresSettings(port=self.ports["postgres"]),
            nats=NatsSettings(port=self.ports["nats"], monitor_port=self.ports["nats_monitor"]),
        )

    def stop(self, logs_to: Path | None = None) -> None:
        """SIGINT (``june up``'s Ctrl-C), wait; copy its logs to ``logs_to``; delete the rest."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if logs_to is not None:
            logs_to.mkdir(parents=True, exist_ok=True)
            for log in [self.log_path, *sorted((self.root / "data" / "logs").glob("*.log"))]:
                if log.exists():
                    shutil.copy(log, logs_to / log.name)
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayJune:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _tail(self, lines: int = 30) -> str:
        return "\n".join(self._log().splitlines()[-lines:])
