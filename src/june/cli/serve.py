"""``june serve NAME``: run one service in the foreground until SIGTERM or Ctrl-C.

A problem a person must fix (a model that is not installed, a port that is
taken, a bad setting) is printed on stderr, without a traceback, and the
command exits with code 2 so that a supervisor knows a restart cannot help.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer
from pydantic import ValidationError

from june.services.errors import EXIT_CONFIG_ERROR, StartupError
from june.settings import ServiceName, load_settings

#: The module of each service; each has ``create_service(settings)``.
SERVICE_MODULES: dict[ServiceName, str] = {
    "gateway": "june.gateway.server",
    "inference": "june.inference.server",
    "stt": "june.stt.server",
    "tts": "june.tts.server",
    "telegram": "june.telegram.server",
}


def _fail(name: str, message: str) -> typer.Exit:
    typer.echo(f"june serve {name}: {message}", err=True)
    return typer.Exit(EXIT_CONFIG_ERROR)


def serve(
    name: Annotated[ServiceName, typer.Argument(help="The service to run.", show_default=False)],
) -> None:
    """Run one June service (gateway, inference, stt, tts or telegram) in the foreground."""
    from june.models.catalog import CatalogError
    from june.models.resolve import ModelNotInstalledError, UnknownModelError
    from june.services.runner import run_service

    try:
        settings = load_settings()
    except ValidationError as exc:
        raise _fail(name, f"invalid setting: {exc}") from None
    service = importlib.import_module(SERVICE_MODULES[name]).create_service(settings)
    try:
        run_service(service, settings)
    except (StartupError, ModelNotInstalledError, UnknownModelError, CatalogError) as exc:
        raise _fail(name, str(exc)) from None
