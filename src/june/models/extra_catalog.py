"""The deployment's extra allowlist: a TOML file named by ``JUNE_MODEL_CATALOG``.

This is how a deployment authorizes another model without a code change (and
how the tests add a tiny fake one). Only Hugging Face models can be added;
each must be pinned to a commit and list its files with their SHA-256.

Format::

    [[models]]
    id = "whisper-small.en"            # letters, digits, . _ -; also its folder name
    role = "stt"                       # stt | vad | tts | llm | embeddings
    description = "Whisper small.en, CTranslate2"
    repo = "Systran/faster-whisper-small.en"
    revision = "d1d751a5f8271d482d14ca55d9e2deeebbae577f"  # a commit sha, never a branch
    entry = "model.bin"                # optional: the file loaders open; omitted = the folder
    files = [
      { name = "config.json", sha256 = "<64 hex>", size = 2257 },   # size optional
      { name = "model.bin",   sha256 = "<64 hex>" },
    ]

A file whose ``sha256`` is omitted is listed but can never be installed.
Ids must not repeat a built-in id. Unknown keys are errors (typos must not
silently weaken the allowlist).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from june.models.catalog import (
    COMMIT_RE,
    MODEL_ID_RE,
    ROLES,
    SHA256_RE,
    CatalogError,
    HubSource,
    ModelFile,
    ModelSpec,
)

_MODEL_KEYS = {"id", "role", "description", "repo", "revision", "entry", "files"}
_FILE_KEYS = {"name", "sha256", "size"}


def parse_extra_catalog(path: Path) -> list[ModelSpec]:
    """Parse the extra catalog (format in the module docstring); raises CatalogError."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"model catalog {path} does not exist (JUNE_MODEL_CATALOG)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"model catalog {path} cannot be read: {exc}") from None
    unknown = set(data) - {"models"}
    if unknown:
        raise CatalogError(f"{path}: unknown top-level keys {sorted(unknown)}; use [[models]]")
    entries = data.get("models", [])
    if not isinstance(entries, list):
        raise CatalogError(f"{path}: 'models' must be an array of tables ([[models]])")
    specs: list[ModelSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{path}: models[{index}]"
        spec = _parse_entry(entry, where, str(path))
        if spec.id in seen:
            raise CatalogError(f"{where}: model id '{spec.id}' appears twice")
        seen.add(spec.id)
        specs.append(spec)
    return specs


def _parse_entry(entry: Any, where: str, origin: str) -> ModelSpec:
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: must be a table")
    unknown = set(entry) - _MODEL_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
    model_id = _required_str(entry, "id", where)
    where = f"{where} ('{model_id}')"
    if not MODEL_ID_RE.match(model_id):
        raise CatalogError(f"{where}: id may hold only letters, digits, '.', '_' and '-'")
    role = _required_str(entry, "role", where)
    if role not in ROLES:
        raise CatalogError(f"{where}: role must be one of {', '.join(ROLES)}")
    revision = _required_str(entry, "revision", where)
    if not COMMIT_RE.match(revision):
        raise CatalogError(f"{where}: revision must be a 40-hex commit sha, not '{revision}'")
    files_raw = entry.get("files")
    if not isinstance(files_raw, list) or not files_raw:
        raise CatalogError(f"{where}: 'files' must list at least one file")
    files = tuple(_parse_file(item, where) for item in files_raw)
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise CatalogError(f"{where}: a file is listed twice")
    entry_name = entry.get("entry")
    if entry_name is not None and entry_name not in names:
        raise CatalogError(f"{where}: entry '{entry_name}' is not one of its files")
    return ModelSpec(
        id=model_id,
        role=role,  # type: ignore[arg-type]
        description=str(entry.get("description", "")),
        source=HubSource(_required_str(entry, "repo", where), revision),
        files=files,
        entry=entry_name,
        default=False,
        origin=origin,
    )


def _parse_file(item: Any, where: str) -> ModelFile:
    if not isinstance(item, dict):
        raise CatalogError(f"{where}: each file must be a table with name and sha256")
    unknown = set(item) - _FILE_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown file keys {sorted(unknown)}")
    name = _required_str(item, "name", where)
    if not is_safe_relative(name):
        raise CatalogError(f"{where}: file name '{name}' must be a relative path inside the repo")
    sha = item.get("sha256")
    if sha is not None and (not isinstance(sha, str) or not SHA256_RE.match(sha.lower())):
        raise CatalogError(f"{where}: sha256 of '{name}' must be 64 hex digits")
    size = item.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise CatalogError(f"{where}: size of '{name}' must be a whole number of bytes")
    return ModelFile(name, sha.lower() if sha else None, size)


def _required_str(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise CatalogError(f"{where}: '{key}' is required and must be a string")
    return value


def is_safe_relative(name: str) -> bool:
    """Whether ``name`` is a plain relative posix path that cannot escape its folder."""
    parts = name.split("/")
    return (
        bool(name)
        and not name.startswith("/")
        and "\\" not in name
        and all(part not in ("", ".", "..") for part in parts)
    )
