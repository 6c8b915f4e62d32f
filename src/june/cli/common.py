"""What the commands share: settings with quiet logs, clear failures, data sets, ``--json``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from june.settings import Settings, load_settings

if TYPE_CHECKING:
    from june.stt.evaluate import EvalItem

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
DataOpt = Annotated[Path, typer.Option(help="Folder with index.jsonl.")]
#: The committed speech fixtures, when a command runs from a checkout.
DEFAULT_DATA = Path("tests/fixtures/speech")


def cli_settings() -> Settings:
    """Settings, with any in-process service's logs kept off stdout (which is for results)."""
    from june.observability.logging import configure_logging

    settings = load_settings()
    quiet = settings.model_copy(update={"log_level": "warning"})
    configure_logging(quiet, "cli", stream=sys.stderr)
    return settings


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; ``raise fail(...)`` ends the command with ``code``."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def dataset(data: Path, limit: int) -> list[EvalItem]:
    """The items of ``data/index.jsonl``, or a clear failure naming what is wrong."""
    from june.stt.evaluate import load_dataset

    try:
        return load_dataset(data, limit or None)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
