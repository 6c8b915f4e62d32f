"""``june docs add|list|search|remove`` and ``june eval rag``: a user's documents, directly.

These commands work on the database itself (``JUNE_DATABASE_URL``, or the
embedded server that ``june up`` starts) rather than through the inference
service, so documents can be added before June runs and scripts need no
service; the schema is migrated first (idempotent). The embedding model loads
only for ``add``, ``search`` and ``eval rag``.

Standard output carries results (``--json``: one JSON document); progress,
notes and errors go to standard error. Exit codes: 0 done, 1 failed (a bad
file, an unknown id, PostgreSQL down), 2 a wrong command line.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from june.cli.common import JsonOpt, cli_settings, fail
from june.inference.rag_eval import DEFAULT_DATA

if TYPE_CHECKING:
    from june.inference.documents.store import DocumentInfo, DocumentStore

#: ``june.inference.documents.users.OWNER``, the machine's local owner: a literal here so that
#: building the command line (``june --help``) does not import the database layer.
OWNER = "owner"

docs_app = typer.Typer(
    help="Your documents: what June searches to answer you (text, Markdown, HTML, PDF).",
    no_args_is_help=True,
)

UserOpt = Annotated[str, typer.Option("--user", help="Whose documents (default: the local owner).")]
FilesArg = Annotated[
    list[Path],
    typer.Argument(exists=True, dir_okay=False, readable=True, help="Files to add."),
]


@contextmanager
def _open_store() -> Iterator[DocumentStore]:
    """The document store, or a one-line error and exit 1 when it cannot be reached."""
    from sqlalchemy.exc import OperationalError

    from june.inference.documents.database import unavailable
    from june.inference.documents.errors import DatabaseUnavailableError
    from june.inference.documents.store import DocumentStore
    from june.models import ModelNotInstalledError, UnknownModelError

    settings = cli_settings()
    try:
        store = DocumentStore.from_settings(settings)
    except (DatabaseUnavailableError, ModelNotInstalledError, UnknownModelError) as exc:
        raise fail(str(exc), 1) from None
    try:
        yield store
    except OperationalError as exc:  # the server went away mid-command
        url = store.engine.url.render_as_string(hide_password=True)
        typer.echo(f"error: {unavailable(url, exc.orig)}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()


def _user_id(store: DocumentStore, name: str, create: bool) -> uuid.UUID | None:
    from june.inference.documents.errors import DocumentError
    from june.inference.documents.users import find_user, get_or_create_user

    try:
        return get_or_create_user(store.engine, name) if create else find_user(store.engine, name)
    except DocumentError as exc:
        raise fail(str(exc), 2) from None


def _document_json(doc: DocumentInfo) -> dict[str, Any]:
    return {
        "id": str(doc.id),
        "name": doc.name,
        "mime_type": doc.mime_type,
        "size_bytes": doc.size_bytes,
        "sha256": doc.sha256,
        "chunk_count": doc.chunk_count,
        "created_at": doc.created_at.isoformat(),
    }


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1000 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


# --- add -----------------------------------------------------------------------------


@docs_app.command("add")
def add(files: FilesArg, user: UserOpt = OWNER, as_json: JsonOpt = False) -> None:
    """Add FILE… to the user's documents (the same content twice is stored once)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from june.inference.documents.errors import DocumentError
    from june.inference.documents.extract import MAX_DOCUMENT_BYTES
    from june.inference.documents.store import IngestStage

    console = Console(stderr=True)
    added: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    with _open_store() as store:
        user_id = _user_id(store, user, create=True)
        assert user_id is not None
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            for path in files:
                task = progress.add_task(path.name, total=None)

                def report(
                    stage: IngestStage,
                    done: int,
                    total: int,
                    task: Any = task,
                    name: str = path.name,
                ) -> None:
                    label = f"{name}: {stage.value}"
                    progress.update(task, description=label, completed=done, total=total or None)

                try:
                    if path.stat().st_size > MAX_DOCUMENT_BYTES:
                        raise DocumentError(
                            "too_large",
                            f"{path.name} is {path.stat().st_size / 1e6:.1f} MB; documents up "
                            f"to {MAX_DOCUMENT_BYTES / 1e6:.0f} MB are accepted",
                        )
                    result = store.ingest(user_id, path.name, path.read_bytes(), progress=report)
                except DocumentError as exc:
                    failed.append({"file": str(path), "code": exc.code, "error": str(exc)})
                    progress.console.print(f"[red]error:[/red] {exc}", highlight=False)
                    continue
                finally:
                    progress.remove_task(task)
                row = _document_json(result.document) | {"duplicate": result.duplicate}
                added.append(row)
                if not as_json:
                    doc = result.document
                    what = "already added" if result.duplicate else "added"
                    chunks = f"{doc.chunk_count} chunk{'s' if doc.chunk_count != 1 else ''}"
                    typer.echo(f"{what}: {doc.name} ({chunks}) {doc.id}")
    if as_json:
        typer.echo(json.dumps({"added": added, "failed": failed}, indent=2))
    if failed:
        raise typer.Exit(1)


# --- list ----------------------------------------------------------------------------


@docs_app.command("list")
def list_documents(user: UserOpt = OWNER, as_json: JsonOpt = False) -> None:
    """List the user's documents."""
    with _open_store() as store:
        user_id = _user_id(store, user, create=False)
        documents = store.list_documents(user_id) if user_id is not None else []
    if as_json:
        typer.echo(json.dumps([_document_json(d) for d in documents], indent=2))
        return
    if not documents:
        typer.echo(f"{user} has no documents; add some with `june docs add FILE…`", err=True)
        return
    from june.inference.documents.extract import SUPPORTED_TYPES

    # One line per document, name last: never truncated, whatever the terminal's width,
    # and the id is whole for `june docs remove`.
    for doc in documents:
        kind = SUPPORTED_TYPES.get(doc.mime_type, doc.mime_type)
        chunks = f"{doc.chunk_count} chunk{'s' if doc.chunk_count != 1 else ''}"
        added = doc.created_at.strftime("%Y-%m-%d")
        typer.echo(
            f"{doc.id}  {kind:<10}  {_size(doc.size_bytes):>8}  {chunks:>10}  {added}  {doc.name}"
        )


# --- search --------------------------------------------------------------------------


@docs_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many chunks.")] = 5,
    user: UserOpt = OWNER,
    as_json: JsonOpt = False,
) -> None:
    """The chunks of the user's documents that best match QUERY, best first."""
    from june.inference.documents.errors import DocumentError

    if not query.strip():
        raise fail("the search query is empty", 2)
    with _open_store() as store:
        user_id = _user_id(store, user, create=False)
        try:
            hits = store.search(user_id, query, k=k) if user_id is not None else []
        except DocumentError as exc:
            raise fail(str(exc), 2) from None
    if as_json:
        rows = [
            {
                "document": hit.document_name,
                "document_id": str(hit.document_id),
                "chunk_index": hit.chunk_index,
                "score": round(hit.score, 4),
                "text": hit.text,
            }
            for hit in hits
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not hits:
        typer.echo(f"nothing found: {user} has no documents", err=True)
        return
    for rank, hit in enumerate(hits, start=1):
        text = hit.text.replace("\n", "\n   ")
        typer.echo(f"{rank}. {hit.document_name} (score {hit.score:.3f})\n   {text}\n")


# --- remove --------------------------------------------------------------------------


@docs_app.command("remove")
def remove(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Document ids (see `june docs list`).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Remove every document of the user.")] = False,
    user: UserOpt = OWNER,
    as_json: JsonOpt = False,
) -> None:
    """Remove documents by ID, or all of the user's with --all."""
    from june.inference.documents.errors import DocumentNotFoundError

    if bool(ids) == all_:
        raise fail("give document ids or --all (not both)", 2)
    wanted: list[uuid.UUID] = []
    for raw in ids or []:
        try:
            wanted.append(uuid.UUID(raw))
        except ValueError:
            raise fail(f"not a document id: {raw!r}; `june docs list` shows them", 2) from None
    with _open_store() as store:
        user_id = _user_id(store, user, create=False)
        try:
            if user_id is None:
                if wanted:
                    raise DocumentNotFoundError([str(i) for i in wanted])
                removed: list[uuid.UUID] = []
            elif all_:
                removed = store.remove_all(user_id)
            else:
                removed = store.remove(user_id, wanted)
        except DocumentNotFoundError as exc:
            raise fail(str(exc), 1) from None
    if as_json:
        typer.echo(json.dumps({"removed": [str(i) for i in removed]}, indent=2))
    else:
        typer.echo(f"removed {len(removed)} document{'s' if len(removed) != 1 else ''}")


# --- eval rag ------------------------------------------------------------------------


def eval_rag(
    data: Annotated[
        Path, typer.Option(help="Folder with documents/ and questions.jsonl.")
    ] = DEFAULT_DATA,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Chunks retrieved.")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Retrieval quality: recall@k and MRR of the documents' own questions (throwaway user)."""
    from rich.console import Console
    from rich.progress import Progress

    from june.inference.documents.errors import DocumentError
    from june.inference.rag_eval import evaluate, load_eval_set

    try:
        eval_set = load_eval_set(data)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    console = Console(stderr=True)
    with _open_store() as store, Progress(console=console, transient=True) as progress:
        ingesting = progress.add_task("ingesting", total=len(eval_set.documents))
        asking = progress.add_task("asking", total=len(eval_set.questions))
        try:
            report = evaluate(
                store,
                eval_set,
                k,
                on_document=lambda _: progress.advance(ingesting),
                on_question=lambda _: progress.advance(asking),
            )
        except DocumentError as exc:
            raise fail(f"the evaluation set has a bad document: {exc}", 1) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print_report(report)


def _print_report(report: Any) -> None:
    """One line per question (misses say what came back instead), then the figures."""
    for row in report.results:
        mark = "hit " if row.hit else "MISS"
        rank = f"rank {row.rank}" if row.rank else "rank -"
        line = f"{mark}  {rank:<7}  {row.id}: {row.question}"
        if not row.hit:
            line += f"\n      expected {row.expected}, got {', '.join(row.top) or 'nothing'}"
        typer.echo(line)
    typer.echo(
        f"recall@{report.k} {report.recall_at_k:.3f}, MRR {report.mrr:.3f} "
        f"({report.questions} questions, {report.documents} documents, {report.chunks} chunks, "
        f"{report.embedding_model}; ingest {report.ingest_s:.1f} s, "
        f"{report.query_ms:.0f} ms per search)"
    )
