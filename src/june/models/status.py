"""Where each model's files are on this machine, and whether they are the authorized bytes.

Two levels of checking, because hashing gigabytes on every start is not an
option but trusting file names alone is not either:

* :func:`check_model` — cheap: every file exists and has its catalog size
  (when known). A wrong size means ``corrupt``. This is what ``--status`` and
  :func:`june.models.resolve.resolve_model` use.
* :func:`verify_model` — full SHA-256 of every present file (``--verify``).

Nothing here reaches the network or writes a file.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from june.models.catalog import AssembledSource, Chunk, ModelFile, ModelSpec, PackageSource
from june.settings import Settings

_BLOCK = 4 * 1024 * 1024


class State(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    CORRUPT = "corrupt"


class ByteProgress(Protocol):
    """What the command line hands in to show progress; the core never imports rich.

    An implementation may also offer ``download_tqdm(label) -> type`` (a tqdm
    class) to draw ``huggingface_hub``'s download bars; see june.cli.models.
    """

    def task(self, label: str, total: int | None) -> AbstractContextManager[Callable[[int], None]]:
        """A context whose value is called with each number of bytes processed."""
        ...


@dataclass
class ModelStatus:
    """The cheap check of one model: state, the path a loader opens, and why."""

    spec: ModelSpec
    state: State
    path: Path | None
    detail: str = ""
    #: The files whose bytes ``--verify`` hashes (name -> path), present ones only.
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class FileCheck:
    """The full-hash result for one file."""

    model_id: str
    name: str
    path: Path
    expected: str | None
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected is not None and self.expected == self.actual


# --- locating --------------------------------------------------------------------------


def module_dir(module: str) -> Path | None:
    """The directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def model_dir(settings: Settings, spec: ModelSpec) -> Path | None:
    """The folder holding the model's files (a package folder or ``<models_dir>/<id>``).

    ``None`` when the model ships in a package that is not installed.
    """
    source = spec.source
    if isinstance(source, PackageSource):
        base = module_dir(source.module)
        if base is None:
            return None
        return base / source.root if source.root else base
    return settings.models_dir / spec.id


def entry_path(directory: Path, spec: ModelSpec) -> Path:
    """What a loader opens: the entry file, or the folder for folder-style models."""
    return directory / spec.entry if spec.entry else directory


def file_path(directory: Path, model_file: ModelFile) -> Path | None:
    """Where ``model_file`` is: in the model's directory, or in its own package's folder.

    ``None`` when it ships in a package that is not installed.
    """
    source = model_file.package
    if source is None:
        return directory / model_file.name
    base = module_dir(source.module)
    if base is None:
        return None
    return (base / source.root if source.root else base) / model_file.name


def chunk_path(chunk: Chunk) -> Path | None:
    base = module_dir(chunk.module)
    return None if base is None else base / chunk.path


# --- the cheap check ---------------------------------------------------------------------


def _size_problem(path: Path, expected: int | None) -> str | None:
    """Why the file at ``path`` is not acceptable by existence and size, or None."""
    if not path.is_file():
        return "missing"
    if expected is not None:
        actual = path.stat().st_size
        if actual != expected:
            return f"size {actual}, expected {expected}"
    return None


def check_model(settings: Settings, spec: ModelSpec) -> ModelStatus:
    """Existence and size of every file of ``spec`` (no hashing)."""
    directory = model_dir(settings, spec)
    if directory is None:
        source = spec.source
        assert isinstance(source, PackageSource)
        return ModelStatus(spec, State.MISSING, None, f"package {source.package} not installed")
    files: dict[str, Path] = {}
    missing: list[str] = []
    corrupt: list[str] = []
    for model_file in spec.files:
        located = file_path(directory, model_file)
        problem = "missing" if located is None else _size_problem(located, model_file.size)
        if problem == "missing" or located is None:
            where = f" (package {model_file.package.package})" if model_file.package else ""
            missing.append(model_file.name + where)
            continue
        files[model_file.name] = located
        if problem is not None:
            corrupt.append(f"{model_file.name}: {problem}")
    path = entry_path(directory, spec)
    if isinstance(spec.source, AssembledSource) and not corrupt:
        return _check_assembled(spec, spec.source, path, files, bool(missing))
    if corrupt:
        return ModelStatus(spec, State.CORRUPT, path, "; ".join(corrupt), files)
    if missing:
        detail = f"missing {', '.join(missing)}" if files else "not installed"
        return ModelStatus(spec, State.MISSING, path, detail, files)
    origin = spec.source.describe() if isinstance(spec.source, PackageSource) else "model cache"
    return ModelStatus(spec, State.PRESENT, path, origin, files)


def _check_assembled(
    spec: ModelSpec,
    source: AssembledSource,
    path: Path,
    files: dict[str, Path],
    not_assembled: bool,
) -> ModelStatus:
    """An assembled model is usable when assembled, or when all its chunks are installed.

    Its chunks count as the model's files for ``--verify`` too: they are the
    bytes the assembly is made of.
    """
    chunks_ok = True
    for chunk in source.chunks:
        cpath = chunk_path(chunk)
        if cpath is None or _size_problem(cpath, chunk.size) is not None:
            chunks_ok = False
            continue
        files[f"chunk:{Path(chunk.path).name}"] = cpath
    if not not_assembled:
        return ModelStatus(spec, State.PRESENT, path, "assembled in model cache", files)
    if chunks_ok:
        detail = f"bundled in {source.package}; assembled on first use"
        return ModelStatus(spec, State.PRESENT, path, detail, files)
    detail = f"package {source.package} not installed (or its chunks are damaged)"
    return ModelStatus(spec, State.MISSING, path, detail, files)


# --- the full check ----------------------------------------------------------------------


def sha256_file(path: Path, advance: Callable[[int], None] | None = None) -> str:
    """SHA-256 of a file, read in blocks; ``advance`` is told the bytes read."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_BLOCK):
            digest.update(block)
            if advance is not None:
                advance(len(block))
    return digest.hexdigest()


def expected_hashes(spec: ModelSpec) -> dict[str, str | None]:
    """The pinned SHA-256 of each name :func:`check_model` may report in ``files``."""
    hashes: dict[str, str | None] = {f.name: f.sha256 for f in spec.files}
    if isinstance(spec.source, AssembledSource):
        for chunk in spec.source.chunks:
            hashes[f"chunk:{Path(chunk.path).name}"] = chunk.sha256
    return hashes


def verify_model(
    settings: Settings, spec: ModelSpec, progress: ByteProgress | None = None
) -> list[FileCheck]:
    """Hash every present file of ``spec`` against its pin (missing files are skipped)."""
    status = check_model(settings, spec)
    pins = expected_hashes(spec)
    results: list[FileCheck] = []
    for name, path in status.files.items():
        size = path.stat().st_size
        context = (
            progress.task(f"{spec.id}/{name}", size) if progress is not None else nullcontext(None)
        )
        with context as advance:
            actual = sha256_file(path, advance)
        results.append(FileCheck(spec.id, name, path, pins.get(name), actual))
    return results
