"""``june up``: infrastructure first, then services, healthy or a clear reason why not.

Order of start: data-dir lock → PostgreSQL (embedded unless
``JUNE_DATABASE_URL``) → migrations → NATS (embedded unless ``JUNE_NATS_URL``)
→ object store → every service as ``june serve NAME``. Order of stop is the
reverse. Services learn where the infrastructure is through the same
``JUNE_DATABASE_URL`` / ``JUNE_NATS_URL`` variables a production deployment sets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass, field

import structlog
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from june.db.migrate import upgrade
from june.infra import InfraError
from june.infra.lock import DataDirLock
from june.infra.nats import EmbeddedNats, nats_url
from june.infra.postgres import EmbeddedPostgres, database_url
from june.settings import Settings
from june.storage import open_object_store
from june.supervisor.children import EXIT_CONFIG_ERROR, ServiceProcess
from june.supervisor.health import check_service

log = structlog.get_logger(__name__)


class StartupError(RuntimeError):
    """June could not come up; ``str()`` says which part and why."""


@dataclass
class Supervisor:
    settings: Settings
    console: Console = field(default_factory=Console)
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    children: list[ServiceProcess] = field(default_factory=list)
    started_s: float | None = None

    async def run(self) -> int:
        """Bring June up, keep it up until SIGINT/SIGTERM, then stop it all; return exit code."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        lock = DataDirLock(self.settings.data_dir)
        try:
            lock.acquire()
        except InfraError as exc:
            self.console.print(f"[red]error:[/red] {exc}")
            return EXIT_CONFIG_ERROR
        watchers: list[asyncio.Task[None]] = []
        try:
            began = time.monotonic()
            startup = asyncio.ensure_future(self._start_all())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({startup, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if startup not in done:
                startup.cancel()
                with contextlib.suppress(BaseException):
                    await startup
                self.console.print("interrupted while starting; stopping")
                return 130
            stopper.cancel()
            startup.result()
            self.started_s = time.monotonic() - began
            self.console.print(
                f"[bold green]June is up[/bold green] in {self.started_s:.1f}s: "
                f"[link={self.settings.web_url}]{self.settings.web_url}[/link]\n"
                f"logs: {self.settings.logs_dir}   stop: Ctrl-C"
            )
            watchers = [asyncio.create_task(c.watch(self._event)) for c in self.children]
            await stop.wait()
            self.console.print("stopping June…")
            return 0
        except (InfraError, StartupError) as exc:
            self.console.print(f"[red]error:[/red] {exc}")
            return EXIT_CONFIG_ERROR
        finally:
            for task in watchers:
                task.cancel()
            await self._stop_all()
            lock.release()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _event(self, message: str) -> None:
        self.console.print(f"[yellow]![/yellow] {message}")

    # ---------------------------------------------------------------- start
    async def _start_all(self) -> None:
        settings = self.settings
        settings.ensure_dirs()
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        ) as progress:
            task = progress.add_task("postgres: starting")
            if settings.database_url is None:
                # Popen from the main thread: PR_SET_PDEATHSIG is tied to the forking thread.
                self.postgres = EmbeddedPostgres(settings)
                self.postgres.start()
            url = database_url(settings)
            progress.update(task, description="postgres: migrating")
            await asyncio.to_thread(upgrade, url)
            progress.update(task, description="[green]✓[/green] postgres", completed=1, total=1)

            task = progress.add_task("nats: starting")
            if settings.nats_url is None:
                self.nats = EmbeddedNats(settings)
                self.nats.start()
            progress.update(task, description="[green]✓[/green] nats", completed=1, total=1)

            open_object_store(settings)

            env = self._child_env(url)
            tasks = {}
            for name in settings.supervisor.services:
                child = ServiceProcess(name, settings, env)
                self.children.append(child)
                await child.start()
                tasks[name] = progress.add_task(f"{name}: starting")
            await asyncio.gather(
                *(self._wait_healthy(c, progress, tasks[c.name]) for c in self.children)
            )

    def _child_env(self, db_url: str) -> dict[str, str]:
        env = dict(os.environ)
        env["JUNE_DATABASE_URL"] = db_url
        env["JUNE_NATS_URL"] = nats_url(self.settings)
        env["JUNE_DATA_DIR"] = str(self.settings.data_dir)
        env["HF_HUB_OFFLINE"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    async def _wait_healthy(self, child: ServiceProcess, progress: Progress, task: int) -> None:
        deadline = time.monotonic() + self.settings.supervisor.start_timeout_s
        while True:
            assert child.proc is not None
            if child.proc.returncode is not None:
                raise StartupError(
                    f"{child.name} exited with code {child.proc.returncode} while starting; "
                    f"its log ({child.log_path}) ends with:\n{child.last_lines()}"
                )
            result = await check_service(self.settings, child.name)
            if result.healthy:
                progress.update(
                    task, description=f"[green]✓[/green] {child.name}", completed=1, total=1
                )
                return
            if time.monotonic() > deadline:
                raise StartupError(
                    f"{child.name} was not healthy after "
                    f"{self.settings.supervisor.start_timeout_s:.0f}s ({result.detail}); "
                    f"see {child.log_path}"
                )
            await asyncio.sleep(0.2)

    # ----------------------------------------------------------------- stop
    async def _stop_all(self) -> None:
        await asyncio.gather(*(child.stop() for child in self.children))
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()
        self.console.print("June stopped.")


__all__ = ["EXIT_CONFIG_ERROR", "StartupError", "Supervisor"]
