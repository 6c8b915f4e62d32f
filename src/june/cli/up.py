"""``june up``: everything, with embedded infrastructure, in the foreground."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from june.observability.logging import configure_logging
from june.settings import load_settings
from june.supervisor.supervisor import Supervisor


def up() -> None:
    """Start PostgreSQL, NATS and every June service; print the web address; Ctrl-C stops all."""
    settings = load_settings()
    settings.ensure_dirs()
    configure_logging(
        settings, service="supervisor", stream_path=settings.logs_dir / "supervisor.log"
    )
    code = asyncio.run(Supervisor(settings, Console()).run())
    raise typer.Exit(code)
