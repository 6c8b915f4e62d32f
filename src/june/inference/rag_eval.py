"""How well retrieval finds the right document: recall@k and MRR on a small question set.

The set (``eval_data/rag/`` by default) is a folder of documents in
``documents/`` and a ``questions.jsonl`` with one object per line::

    {"id": "lease-rent", "question": "How much do I pay …?", "document": "lease.md"}

Questions are phrased unlike their documents (a "kitten" for a lease that
says "cat", "tyres" asked as "air pressure of the wheels"), so the score
measures meaning, not shared words.

:func:`evaluate` ingests the documents for a throwaway user through the real
:class:`~june.inference.documents.store.DocumentStore` (extraction,
chunking, embedding, pgvector), asks every question, and removes that user
and everything of theirs afterwards, even when interrupted. A question is a
hit when a chunk of its expected document is among the top ``k`` chunks
(what a prompt with ``k`` retrieved chunks would contain). MRR uses the rank
of the expected document's first chunk among the top :data:`MRR_DEPTH`
chunks (0 when it is not there).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from june.inference.documents.store import DocumentStore

#: The bundled evaluation set.
DEFAULT_DATA = Path(__file__).parent / "eval_data" / "rag"
#: Chunks looked at for the reciprocal rank.
MRR_DEPTH = 10


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    document: str


@dataclass(frozen=True)
class EvalSet:
    documents: list[Path]
    questions: list[EvalQuestion]


@dataclass(frozen=True)
class QuestionResult:
    id: str
    question: str
    expected: str
    #: 1-based rank of the expected document's first chunk, None beyond MRR_DEPTH.
    rank: int | None
    hit: bool
    #: Document names of the top-k chunks, best first.
    top: list[str]


@dataclass
class EvalReport:
    k: int
    documents: int
    chunks: int
    questions: int
    recall_at_k: float
    mrr: float
    ingest_s: float
    query_ms: float
    embedding_model: str
    results: list[QuestionResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_eval_set(root: Path) -> EvalSet:
    """The documents and questions under ``root``; ValueError names what is wrong."""
    folder = root / "documents"
    index = root / "questions.jsonl"
    if not folder.is_dir() or not index.is_file():
        raise ValueError(
            f"{root} is not a RAG evaluation set (needs documents/ and questions.jsonl)"
        )
    documents = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    names = {p.name for p in documents}
    questions: list[EvalQuestion] = []
    for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = EvalQuestion(str(row["id"]), str(row["question"]), str(row["document"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{index}:{number}: not a question object ({exc})") from None
        if question.document not in names:
            raise ValueError(f"{index}:{number}: no document {question.document!r} in {folder}")
        questions.append(question)
    if not documents or not questions:
        raise ValueError(f"{root} has no documents or no questions")
    return EvalSet(documents, questions)


def score(
    store: DocumentStore,
    user_id: uuid.UUID,
    questions: list[EvalQuestion],
    k: int,
    on_question: Callable[[QuestionResult], None] | None = None,
) -> tuple[list[QuestionResult], float]:
    """Ask every question as ``user_id``; the results and the mean seconds per search."""
    results: list[QuestionResult] = []
    elapsed = 0.0
    for question in questions:
        started = time.perf_counter()
        hits = store.search(user_id, question.question, k=max(k, MRR_DEPTH))
        elapsed += time.perf_counter() - started
        names = [hit.document_name for hit in hits]
        rank = names.index(question.document) + 1 if question.document in names else None
        result = QuestionResult(
            question.id,
            question.question,
            question.document,
            rank,
            rank is not None and rank <= k,
            names[:k],
        )
        results.append(result)
        if on_question is not None:
            on_question(result)
    return results, elapsed / max(1, len(questions))


def evaluate(
    store: DocumentStore,
    eval_set: EvalSet,
    k: int = 3,
    on_document: Callable[[Path], None] | None = None,
    on_question: Callable[[QuestionResult], None] | None = None,
) -> EvalReport:
    """Ingest ``eval_set`` for a throwaway user, ask its questions, remove that user again."""
    from june.inference.documents.users import delete_user, get_or_create_user

    user = f"eval-rag-{uuid.uuid4().hex[:12]}"
    user_id = get_or_create_user(store.engine, user)
    try:
        started = time.perf_counter()
        chunks = 0
        for path in eval_set.documents:
            chunks += store.ingest(user_id, path.name, path.read_bytes()).document.chunk_count
            if on_document is not None:
                on_document(path)
        ingest_s = time.perf_counter() - started
        results, query_s = score(store, user_id, eval_set.questions, k, on_question)
    finally:
        store.remove_all(user_id)
        delete_user(store.engine, user)
    ranks = [r.rank for r in results]
    return EvalReport(
        k=k,
        documents=len(eval_set.documents),
        chunks=chunks,
        questions=len(results),
        recall_at_k=sum(r.hit for r in results) / len(results),
        mrr=sum(1 / rank for rank in ranks if rank) / len(results),
        ingest_s=ingest_s,
        query_ms=query_s * 1000,
        embedding_model=store.embedder.model_id,
        results=results,
    )
