"""A user's documents: ingest (extract, chunk, embed, store), list, remove, and search.

Every operation takes the user's id and touches only that user's rows:
chunks carry ``user_id`` (denormalised from their document), and search
filters on it *inside* the nearest-neighbour query, so another user's chunk
can never be returned, however close it is to the question.

Search ranks by cosine distance (pgvector's ``<=>``) with the HNSW index.
An HNSW scan yields ``hnsw.ef_search`` candidates before the user filter
applies, so with many users a plain filtered scan could return fewer than
``k`` hits; pgvector's iterative scan (0.8+, ``strict_order``) keeps scanning
until ``k`` of the user's chunks are found, in exact distance order.

The original file is kept in the object store under
``documents/<user id>/<document id>/<name>``; its bytes' SHA-256 de-duplicates
per user (ingesting the same content again returns the stored document).
Blocking throughout: the gRPC service calls it from a worker thread.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog
from numpy.typing import NDArray
from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError

from june.db.schema import EMBEDDING_DIM, Chunk, Document
from june.inference.documents.chunking import ChunkingOptions, TextChunk, chunk_text
from june.inference.documents.errors import DocumentError, DocumentNotFoundError
from june.inference.documents.extract import MAX_DOCUMENT_BYTES, extract_text

if TYPE_CHECKING:
    from june.inference.embedder import Embedder
    from june.settings import Settings
    from june.storage.objects import ObjectStore

log = structlog.get_logger(__name__)

#: Chunks embedded per call, and so how often progress is reported.
EMBED_BATCH = 64
#: Search results per query at most (a prompt holds a handful).
MAX_K = 100
#: Core selects of whole rows (the store returns plain dataclasses, not ORM objects).
_DOCUMENTS = Document.__table__


class IngestStage(StrEnum):
    """The stages reported to a progress callback (the proto's IngestStage, after receiving)."""

    PARSING = "parsing"
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    STORING = "storing"


#: ``progress(stage, done, total)``: units are chunks while embedding, else 0 / 1.
ProgressCallback = Callable[[IngestStage, int, int], None]


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document as listed (the proto's ``Document``)."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    mime_type: str
    size_bytes: int
    sha256: str
    chunk_count: int
    created_at: datetime
    object_key: str | None


@dataclass(frozen=True)
class IngestResult:
    document: DocumentInfo
    #: True when the user already had this content: nothing new was stored.
    duplicate: bool = False


@dataclass(frozen=True)
class SearchHit:
    """One retrieved chunk (the proto's ``SearchHit``); ``score`` is cosine similarity."""

    document_id: uuid.UUID
    document_name: str
    chunk_id: uuid.UUID
    chunk_index: int
    score: float
    text: str


def object_key(user_id: uuid.UUID, document_id: uuid.UUID, name: str) -> str:
    return f"documents/{user_id}/{document_id}/{safe_name(name)}"


def safe_name(name: str) -> str:
    """The file name part of ``name``, usable as an object key part and shown to users."""
    base = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return "document" if base in ("", ".", "..") else base[:200]


def embedding_text(chunk: TextChunk) -> str:
    """What is embedded for a chunk: its section heading first, when the chunk lacks it.

    A chunk in the middle of a long "## Deposit" section need not say
    "deposit"; the heading tells the embedding what the chunk is about. (On
    the bundled evaluation set, whose sections are short, it changes nothing.)
    The stored text is unchanged.
    """
    if chunk.heading and chunk.heading not in chunk.text[: len(chunk.heading) + 8]:
        return f"{chunk.heading}\n{chunk.text}"
    return chunk.text


class DocumentStore:
    """Documents of every user, in PostgreSQL (rows, vectors) and the object store (files)."""

    def __init__(
        self,
        engine: Engine,
        embedder: Embedder,
        objects: ObjectStore,
        *,
        chunking: ChunkingOptions | None = None,
        max_bytes: int = MAX_DOCUMENT_BYTES,
    ) -> None:
        self.engine = engine
        self.embedder = embedder
        self.objects = objects
        self.chunking = chunking or ChunkingOptions()
        self.max_bytes = max_bytes
        self._checked_dimensions = False

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None) -> DocumentStore:
        """The store on ``JUNE_DATABASE_URL`` (or the embedded server), migrated, with its files.

        The database is checked first (DatabaseUnavailableError), then the
        embedding model is resolved (it loads on the first ingest or search,
        so listing and removing never load it).
        """
        from june.inference.documents.database import engine_from_settings
        from june.inference.embedder import MiniLmEmbedder
        from june.storage.objects import open_object_store

        engine = engine_from_settings(settings)
        try:
            embedder = embedder or MiniLmEmbedder.from_settings(settings)
            objects = open_object_store(settings)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, embedder, objects)

    def close(self) -> None:
        """Close the database connections."""
        self.engine.dispose()

    def _embed(self, texts: list[str]) -> list[NDArray[np.float32]]:
        if not self._checked_dimensions:
            if self.embedder.dimensions != EMBEDDING_DIM:
                raise ValueError(
                    f"embedding model '{self.embedder.model_id}' makes "
                    f"{self.embedder.dimensions}-dimensional vectors, but chunks.embedding "
                    f"holds {EMBEDDING_DIM}; a bigger model needs a migration"
                )
            self._checked_dimensions = True
        return list(self.embedder.embed(texts).vectors)

    # ------------------------------------------------------------------ ingest
    def ingest(
        self,
        user_id: uuid.UUID,
        name: str,
        data: bytes,
        mime_type: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> IngestResult:
        """Store ``data`` as document ``name`` of ``user_id``; DocumentError for bad input."""
        report = progress or (lambda stage, done, total: None)
        name = safe_name(name)
        digest = hashlib.sha256(data).hexdigest()
        existing = self._by_sha256(user_id, digest)
        if existing is not None:
            return IngestResult(existing, duplicate=True)

        report(IngestStage.PARSING, 0, 1)
        extracted = extract_text(name, data, mime_type, max_bytes=self.max_bytes)
        report(IngestStage.CHUNKING, 0, 1)
        chunks = chunk_text(extracted.text, self.chunking)
        vectors: list[NDArray[np.float32]] = []
        report(IngestStage.EMBEDDING, 0, len(chunks))
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            vectors.extend(self._embed([embedding_text(c) for c in batch]))
            report(IngestStage.EMBEDDING, start + len(batch), len(chunks))

        report(IngestStage.STORING, 0, len(chunks))
        document_id = uuid.uuid4()
        key = object_key(user_id, document_id, name)
        self.objects.put(key, data, extracted.mime_type)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(Document).values(
                        id=document_id,
                        user_id=user_id,
                        name=name,
                        mime_type=extracted.mime_type,
                        object_key=key,
                        sha256=digest,
                        size_bytes=len(data),
                        chunk_count=len(chunks),
                    )
                )
                conn.execute(
                    insert(Chunk),
                    [
                        {
                            "id": uuid.uuid4(),
                            "document_id": document_id,
                            "user_id": user_id,
                            "ordinal": chunk.index,
                            "text": chunk.text,
                            "embedding": vector,
                        }
                        for chunk, vector in zip(chunks, vectors, strict=True)
                    ],
                )
        except IntegrityError:
            self._delete_objects([key])
            raced = self._by_sha256(user_id, digest)
            if raced is None:  # not the de-duplication index: a vanished user, say
                raise
            return IngestResult(raced, duplicate=True)
        except BaseException:
            self._delete_objects([key])
            raise
        report(IngestStage.STORING, len(chunks), len(chunks))
        stored = self.get(user_id, document_id)
        log.info("documents.ingested", document=str(document_id), chunks=len(chunks))
        return IngestResult(stored)

    def _by_sha256(self, user_id: uuid.UUID, digest: str) -> DocumentInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_DOCUMENTS).where(Document.user_id == user_id, Document.sha256 == digest)
            ).first()
        return _info(row) if row is not None else None

    # -------------------------------------------------------------- list, get
    def list_documents(self, user_id: uuid.UUID) -> list[DocumentInfo]:
        """The user's documents, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_DOCUMENTS)
                .where(Document.user_id == user_id)
                .order_by(Document.created_at, Document.name)
            ).all()
        return [_info(row) for row in rows]

    def get(self, user_id: uuid.UUID, document_id: uuid.UUID) -> DocumentInfo:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_DOCUMENTS).where(Document.user_id == user_id, Document.id == document_id)
            ).first()
        if row is None:
            raise DocumentNotFoundError([str(document_id)])
        return _info(row)

    # ------------------------------------------------------------------ remove
    def remove(self, user_id: uuid.UUID, document_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Remove these documents of the user, all or none; DocumentNotFoundError names strays."""
        wanted = list(dict.fromkeys(document_ids))
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(Document.id, Document.object_key).where(
                    Document.user_id == user_id, Document.id.in_(wanted)
                )
            ).all()
            missing = [str(i) for i in wanted if i not in {row.id for row in rows}]
            if missing:
                raise DocumentNotFoundError(missing)
            conn.execute(delete(Document).where(Document.id.in_(wanted)))
        self._delete_objects([row.object_key for row in rows if row.object_key])
        return wanted

    def remove_all(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """Remove every document of the user (their chunks go with them)."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                delete(Document)
                .where(Document.user_id == user_id)
                .returning(Document.id, Document.object_key)
            ).all()
        self._delete_objects([row.object_key for row in rows if row.object_key])
        return [row.id for row in rows]

    def _delete_objects(self, keys: list[str]) -> None:
        """Best effort: a file left behind is harmless, a failed removal of rows is not."""
        for key in keys:
            try:
                self.objects.delete(key)
            except Exception as exc:  # the store may be remote; the rows are already gone
                log.warning("documents.object_not_deleted", key=key, error=str(exc))

    # ------------------------------------------------------------------ search
    def search(
        self,
        user_id: uuid.UUID,
        query: str,
        k: int = 5,
        document_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[SearchHit]:
        """The ``k`` chunks of the user's documents closest to ``query``, best first."""
        if not query.strip():
            raise DocumentError("invalid", "the search query is empty")
        if not 1 <= k <= MAX_K:
            raise DocumentError("invalid", f"k must be between 1 and {MAX_K}, not {k}")
        (vector,) = self._embed([query])
        distance = Chunk.embedding.cosine_distance(vector).label("distance")
        statement = (
            select(
                Chunk.id,
                Chunk.document_id,
                Document.name,
                Chunk.ordinal,
                Chunk.text,
                distance,
            )
            .join(Document, Document.id == Chunk.document_id)
            .where(Chunk.user_id == user_id)
            .order_by(distance)
            .limit(k)
        )
        if document_ids:
            statement = statement.where(Chunk.document_id.in_(list(document_ids)))
        with self.engine.begin() as conn:
            conn.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
            rows = conn.execute(statement).all()
        return [
            SearchHit(
                document_id=row.document_id,
                document_name=row.name,
                chunk_id=row.id,
                chunk_index=row.ordinal,
                score=1.0 - float(row.distance),
                text=row.text,
            )
            for row in rows
        ]


def _info(row: Row[Any]) -> DocumentInfo:
    return DocumentInfo(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        mime_type=row.mime_type or "",
        size_bytes=row.size_bytes,
        sha256=row.sha256 or "",
        chunk_count=row.chunk_count,
        created_at=row.created_at,
        object_key=row.object_key,
    )
