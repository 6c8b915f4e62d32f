"""``june check``: the health of every configured service and dependency."""

from __future__ import annotations

import asyncio
import json

import typer

from june.settings import load_settings


def check(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Probe PostgreSQL, NATS and each service over its own protocol; exit 1 if any is down."""
    from rich.console import Console
    from rich.table import Table

    from june.supervisor.health import check_all

    settings = load_settings()
    results = asyncio.run(check_all(settings))
    healthy = all(r.healthy for r in results)
    if as_json:
        typer.echo(
            json.dumps(
                {"healthy": healthy, "parts": {r.name: r.as_dict() for r in results}}, indent=2
            )
        )
    else:
        table = Table("part", "kind", "status", "target", "detail", "ms")
        table.columns[3].overflow = "fold"
        table.columns[4].min_width = 30
        for r in results:
            status = "[green]healthy[/green]" if r.healthy else "[red]down[/red]"
            table.add_row(r.name, r.kind, status, r.target, r.detail, f"{r.latency_s * 1000:.0f}")
        Console().print(table)
    raise typer.Exit(0 if healthy else 1)
