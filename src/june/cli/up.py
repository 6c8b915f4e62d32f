"""``june up``: everything, with embedded infrastructure, in the foreground."""

from __future__ import annotations

import asyncio

import typer

from june.settings import load_settings


def up() -> None:
    """Start PostgreSQL, NATS and every June service; print the web address; Ctrl-C stops all."""
    # Imported here so that `june serve`, which shares this CLI, does not pay for them.
    from rich.console import Console

    from june.observability.logging import configure_logging
    from june.supervisor.supervisor import Supervisor

    settings = load_settings()
    settings.ensure_dirs()
    configure_logging(
        settings, service="supervisor", stream_path=settings.logs_dir / "supervisor.log"
    )
    code = asyncio.run(Supervisor(settings, Console()).run())
    raise typer.Exit(code)
