"""Command groups shared by several services: ``june eval …`` and ``june bench …``."""

from __future__ import annotations

import typer

eval_app = typer.Typer(help="Measure quality on real data (WER, recall …).", no_args_is_help=True)
bench_app = typer.Typer(
    help="Measure speed: each service against its engine called directly, in the same run.",
    no_args_is_help=True,
)
