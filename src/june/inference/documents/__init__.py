"""A user's documents for retrieval-augmented answers (RAG).

* :mod:`.extract` — text out of plain text, Markdown, HTML and PDF.
* :mod:`.chunking` — overlapping chunks on sentence and paragraph boundaries.
* :mod:`.store` — ingest / list / remove / search in PostgreSQL + pgvector, per user.
* :mod:`.users` — users by name (the command line's default is the local owner).
* :mod:`.database` — the engine, migrations, and the "PostgreSQL is unavailable" error.
* :mod:`.errors` — what can go wrong, each with a code a service maps to a status.

The names below are imported on first use, so that importing one submodule
(the command line needs only :data:`.users.OWNER` to build its options) does
not load the store, numpy and pypdf with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from june.inference.documents.chunking import ChunkingOptions, TextChunk, chunk_text
    from june.inference.documents.errors import (
        DatabaseUnavailableError,
        DocumentError,
        DocumentNotFoundError,
    )
    from june.inference.documents.extract import ExtractedText, detect_mime_type, extract_text
    from june.inference.documents.store import (
        DocumentInfo,
        DocumentStore,
        IngestResult,
        IngestStage,
        SearchHit,
    )
    from june.inference.documents.users import (
        OWNER,
        delete_user,
        find_user,
        get_or_create_user,
    )

_WHERE = {
    "ChunkingOptions": "chunking",
    "TextChunk": "chunking",
    "chunk_text": "chunking",
    "DatabaseUnavailableError": "errors",
    "DocumentError": "errors",
    "DocumentNotFoundError": "errors",
    "ExtractedText": "extract",
    "detect_mime_type": "extract",
    "extract_text": "extract",
    "DocumentInfo": "store",
    "DocumentStore": "store",
    "IngestResult": "store",
    "IngestStage": "store",
    "SearchHit": "store",
    "OWNER": "users",
    "delete_user": "users",
    "find_user": "users",
    "get_or_create_user": "users",
}

__all__ = [
    "OWNER",
    "ChunkingOptions",
    "DatabaseUnavailableError",
    "DocumentError",
    "DocumentInfo",
    "DocumentNotFoundError",
    "DocumentStore",
    "ExtractedText",
    "IngestResult",
    "IngestStage",
    "SearchHit",
    "TextChunk",
    "chunk_text",
    "delete_user",
    "detect_mime_type",
    "extract_text",
    "find_user",
    "get_or_create_user",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
