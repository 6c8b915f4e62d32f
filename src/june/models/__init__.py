"""The model registry: the only way a model enters June, and how services find it.

* :mod:`june.models.catalog` — what an authorized model is; the catalog of them all.
* :mod:`june.models.builtin` — the built-in allowlist with pinned SHA-256.
* :mod:`june.models.extra_catalog` — a deployment's extra allowlist (TOML).
* :mod:`june.models.status` — where the files are, cheap checks and full hashes.
* :mod:`june.models.download` — installing: hub downloads and local assembly.
* :mod:`june.models.resolve` — run time: model id -> path, offline only.

Services need only :mod:`june.models.resolve`::

    from june.models.resolve import enforce_offline, require_models

    enforce_offline()
    paths = require_models(settings, [(settings.stt.model, "stt")])
"""

from june.models.catalog import ROLES, ModelSpec, Role, UnknownModelError, load_catalog
from june.models.resolve import (
    ModelNotInstalledError,
    enforce_offline,
    require_models,
    resolve_model,
    resolve_model_files,
)

__all__ = [
    "ROLES",
    "ModelNotInstalledError",
    "ModelSpec",
    "Role",
    "UnknownModelError",
    "enforce_offline",
    "load_catalog",
    "require_models",
    "resolve_model",
    "resolve_model_files",
]
