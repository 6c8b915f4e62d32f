"""Documents for RAG, for real: extraction of every format, chunking, and the store on the
embedded PostgreSQL + pgvector with the bundled embedder — ingest, search, remove,
de-duplication, user isolation, and recall on the bundled evaluation set.

PDFs are written by :func:`make_pdf` here (a minimal, valid PDF with a Helvetica text
layer), so no binary fixture is committed.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import Engine

from june.db.migrate import alembic_config, current_revision, head_revision, upgrade
from june.db.schema import User
from june.inference.documents import (
    ChunkingOptions,
    DatabaseUnavailableError,
    DocumentError,
    DocumentNotFoundError,
    DocumentStore,
    IngestStage,
    chunk_text,
    delete_user,
    detect_mime_type,
    extract_text,
    find_user,
    get_or_create_user,
)
from june.inference.documents.database import open_engine, open_migrated_engine, sqlalchemy_url
from june.inference.embedder import MiniLmEmbedder
from june.inference.rag_eval import DEFAULT_DATA, evaluate, load_eval_set
from june.infra.ports import free_port
from june.infra.postgres import EmbeddedPostgres, libpq_url
from june.storage.objects import LocalObjectStore
from tests.conftest import make_settings
from tests.documents import BOILER_PDF, make_pdf

# --- extraction ------------------------------------------------------------------------


def test_plain_text_in_any_common_encoding() -> None:
    assert extract_text("a.txt", "Café au lait\r\nline two\n".encode()).text == (
        "Café au lait\nline two"
    )
    assert extract_text("b.txt", "\ufeffnaïve".encode()).text == "naïve"
    assert extract_text("c.txt", "naïve café".encode("utf-16")).text == "naïve café"
    assert extract_text("d.txt", "naïve café".encode("cp1252")).text == "naïve café"
    nul = extract_text("e.log", b"text with a \x07 bell").text
    assert "\x07" not in nul  # PostgreSQL text cannot hold control characters like NUL


def test_markdown_keeps_headings_and_reduces_links() -> None:
    source = b"# Notes\n\nSee [the manual](http://x.example/m) and ![a photo](p.png).\n\n<!-- x -->"
    result = extract_text("notes.md", source)
    assert result.mime_type == "text/markdown"
    assert result.text == "# Notes\n\nSee the manual and a photo."


def test_html_drops_scripts_styles_and_menus_and_keeps_structure() -> None:
    page = b"""<!DOCTYPE html><html><head><title>Heating</title>
    <style>p { color: red }</style><script>var secret = "tracking";</script></head>
    <body><nav><a href="/">Home</a> | <a href="/x">Menu</a></nav>
    <h1>Heating</h1><p>The boiler is in the <b>utility room</b>.</p>
    <h2>Pressure</h2><p>Keep it between 1.0 and 1.5&nbsp;bar.<br>Top up slowly.</p>
    <ul><li>Open the taps</li><li>Close them</li></ul>
    <noscript>Enable JavaScript</noscript><template><p>hidden</p></template></body></html>"""
    result = extract_text("page.html", page)
    assert result.mime_type == "text/html"
    assert result.text == (
        "# Heating\n\nThe boiler is in the utility room.\n\n## Pressure\n\n"
        "Keep it between 1.0 and 1.5 bar.\nTop up slowly.\n\n- Open the taps\n- Close them"
    )
    for hidden in ("secret", "color", "Menu", "JavaScript", "hidden"):
        assert hidden not in result.text


def test_pdf_text_page_by_page() -> None:
    result = extract_text("service.pdf", make_pdf(BOILER_PDF))
    assert result.mime_type == "application/pdf"
    assert result.pages == 2
    assert result.text == (
        "Boiler service record\nThe Vireo boiler was serviced on 9 September 2024.\n\n"
        "Next service is due in September 2025.\nEngineer: Tom, Warmflow Heating."
    )


@pytest.mark.parametrize(
    ("name", "data", "code", "words"),
    [
        ("broken.pdf", make_pdf(BOILER_PDF)[:150], "corrupt", "damaged PDF"),
        ("fake.pdf", b"just some text pretending", "corrupt", "not a PDF"),
        ("letter.docx", b"PK\x03\x04" + b"\x00" * 40, "unsupported", "ZIP archive"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 40, "unsupported", "JPEG image"),
        ("blob", b"\x00\x01\x02\x03binary", "unsupported", "binary file"),
        ("empty.txt", b"", "empty", "is empty"),
        ("blank.md", b" \n\n\t ", "empty", "is empty"),
        ("tags.html", b"<html><body><script>x()</script></body></html>", "empty", "no text"),
        ("scan.pdf", make_pdf([[]]), "empty", "no OCR"),
    ],
)
def test_unreadable_documents_are_refused_clearly(
    name: str, data: bytes, code: str, words: str
) -> None:
    with pytest.raises(DocumentError) as refused:
        extract_text(name, data)
    assert refused.value.code == code
    assert name in str(refused.value) and words in str(refused.value)


def test_too_large_is_refused_before_parsing() -> None:
    with pytest.raises(DocumentError) as refused:
        extract_text("big.txt", b"x" * 2_000_001, max_bytes=2_000_000)
    assert refused.value.code == "too_large" and "2.0 MB" in str(refused.value)
    with pytest.raises(DocumentError, match="characters of text") as long_text:
        extract_text("long.txt", b"word " * 1000, max_chars=1000)
    assert long_text.value.code == "too_large"


def test_type_comes_from_the_bytes_then_the_hint_then_the_name() -> None:
    pdf = make_pdf(BOILER_PDF)
    assert detect_mime_type("report.txt", pdf) == "application/pdf"  # bytes win
    assert detect_mime_type("notes", b"plain words") == "text/plain"
    assert detect_mime_type("page", b"<!doctype html><p>x</p>") == "text/html"
    assert detect_mime_type("page.txt", b"<html><p>x</p></html>") == "text/plain"
    assert detect_mime_type("readme", b"# Title", "text/markdown; charset=utf-8") == (
        "text/markdown"
    )
    assert detect_mime_type("x.MD", b"# Title") == "text/markdown"


# --- chunking --------------------------------------------------------------------------

SENTENCES = [
    f"Sentence number {i} says something about topic {i % 5} in a few more words."
    for i in range(60)
]


def test_chunks_end_on_sentences_overlap_and_stay_under_the_limit() -> None:
    options = ChunkingOptions(target_chars=300, max_chars=500, overlap_chars=100)
    text = "\n\n".join(" ".join(SENTENCES[i : i + 6]) for i in range(0, 60, 6))
    chunks = chunk_text(text, options)
    assert len(chunks) > 5
    assert [c.index for c in chunks] == list(range(len(chunks)))
    sentence = re.compile(r"Sentence number \d+ [^.]*\.")
    for chunk in chunks:
        assert len(chunk.text) <= options.max_chars
        # starts and ends on sentence boundaries, never inside a sentence
        assert sentence.match(chunk.text) and sentence.fullmatch(chunk.text.split(" ")[-1]) is None
        assert chunk.text.endswith("more words.")
    for before, after in itertools.pairwise(chunks):
        assert after.text.startswith(sentence.findall(before.text)[-1])  # repeated as overlap
    covered = " ".join(c.text for c in chunks)
    assert all(sentence in covered for sentence in SENTENCES)


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    paragraphs = [" ".join(SENTENCES[i : i + 2]) for i in range(0, 12, 2)]  # ~150 chars each
    chunks = chunk_text("\n\n".join(paragraphs), ChunkingOptions(400, 600, 100))
    for chunk in chunks:
        for part in chunk.text.split("\n\n"):
            assert part in paragraphs or any(p.endswith(part) for p in paragraphs)


def test_headings_start_chunks_and_never_end_them() -> None:
    body = " ".join(SENTENCES[:4])
    text = f"# Lease\n\n{body}\n\n## Rent\n\n{body}\n\n## Deposit\n\n{body}"
    chunks = chunk_text(text, ChunkingOptions(target_chars=400, max_chars=600, overlap_chars=100))
    assert [c.text.split("\n")[0] for c in chunks] == ["# Lease", "## Rent", "## Deposit"]
    assert [c.heading for c in chunks] == ["Lease", "Rent", "Deposit"]
    assert not any(c.text.rstrip().split("\n")[-1].startswith("#") for c in chunks)


def test_an_endless_sentence_is_cut_between_words() -> None:
    chunks = chunk_text("word " * 1000, ChunkingOptions(target_chars=300, max_chars=400))
    assert all(len(c.text) <= 400 for c in chunks)
    assert all(not c.text.startswith(" ") and "wor d" not in c.text for c in chunks)
    assert sum(c.text.count("word") for c in chunks) >= 1000


def test_abbreviations_do_not_end_sentences() -> None:
    text = "Dr. Okafor prescribed it, e.g. in the morning. Take it with water."
    chunks = chunk_text(text, ChunkingOptions(target_chars=60, max_chars=100, overlap_chars=0))
    assert chunks[0].text == "Dr. Okafor prescribed it, e.g. in the morning."


# --- the store -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(postgres: EmbeddedPostgres) -> Iterator[Engine]:
    engine = open_migrated_engine(postgres.url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> MiniLmEmbedder:
    return MiniLmEmbedder.from_settings(make_settings(tmp_path_factory.mktemp("embedder")))


@pytest.fixture
def store(engine: Engine, embedder: MiniLmEmbedder, tmp_path: Path) -> DocumentStore:
    return DocumentStore(engine, embedder, LocalObjectStore(tmp_path / "objects"))


def new_user(engine: Engine, prefix: str = "user") -> uuid.UUID:
    return get_or_create_user(engine, f"{prefix}-{uuid.uuid4().hex[:8]}")


def eval_doc(name: str) -> bytes:
    return (DEFAULT_DATA / "documents" / name).read_bytes()


def test_migration_0002_adds_document_columns_and_goes_down_and_up(
    postgres: EmbeddedPostgres,
) -> None:
    admin = libpq_url(postgres.url).rsplit("/", 1)[0] + "/postgres"
    name = f"june_migrations_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    assert current_revision(url) == head_revision()
    engine = open_engine(url)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("documents")}
        indexes = {i["name"]: i for i in inspect(conn).get_indexes("documents")}
    assert {"size_bytes", "chunk_count"} <= columns
    assert indexes["uq_documents_user_sha256"]["unique"]
    command.downgrade(alembic_config(url), "0001")
    assert current_revision(url) == "0001"
    upgrade(url)
    assert current_revision(url) == head_revision()
    engine.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}"')


def test_ingest_list_search_remove(store: DocumentStore, engine: Engine, tmp_path: Path) -> None:
    user = new_user(engine)
    stages: list[tuple[IngestStage, int, int]] = []
    lease = store.ingest(
        user, "lease.md", eval_doc("lease.md"), progress=lambda *a: stages.append(a)
    )
    assert not lease.duplicate
    doc = lease.document
    assert (doc.name, doc.mime_type) == ("lease.md", "text/markdown")
    assert doc.size_bytes == len(eval_doc("lease.md"))
    assert doc.chunk_count >= 3 and len(doc.sha256) == 64
    assert [s for s, _, _ in stages][:3] == [
        IngestStage.PARSING,
        IngestStage.CHUNKING,
        IngestStage.EMBEDDING,
    ]
    assert stages[-1] == (IngestStage.STORING, doc.chunk_count, doc.chunk_count)
    key = f"documents/{user}/{doc.id}/lease.md"
    assert doc.object_key == key and store.objects.get(key) == eval_doc("lease.md")

    pdf = store.ingest(user, "boiler-record.pdf", make_pdf(BOILER_PDF)).document
    assert pdf.mime_type == "application/pdf" and pdf.chunk_count == 1
    assert [d.name for d in store.list_documents(user)] == ["lease.md", "boiler-record.pdf"]

    hits = store.search(user, "How much rent do we pay each month?", k=3)
    assert len(hits) == 3
    assert hits[0].document_name == "lease.md" and "1,380 euros" in hits[0].text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert 0.3 < hits[0].score <= 1.0
    boiler = store.search(user, "when was the heating serviced", k=1)[0]
    assert boiler.document_id == pdf.id and boiler.chunk_index == 0
    only_pdf = store.search(user, "rent", k=5, document_ids=[pdf.id])
    assert {h.document_id for h in only_pdf} == {pdf.id}

    assert store.remove(user, [doc.id]) == [doc.id]
    assert [d.name for d in store.list_documents(user)] == ["boiler-record.pdf"]
    assert not store.objects.exists(key)
    assert all(h.document_id == pdf.id for h in store.search(user, "rent", k=5))
    with pytest.raises(DocumentNotFoundError, match=str(doc.id)):
        store.remove(user, [doc.id])


def test_same_content_is_stored_once_per_user(store: DocumentStore, engine: Engine) -> None:
    user, other = new_user(engine), new_user(engine)
    first = store.ingest(user, "recipe.md", eval_doc("lasagne-recipe.md"))
    again = store.ingest(user, "copy-of-recipe.md", eval_doc("lasagne-recipe.md"))
    assert again.duplicate and again.document == first.document
    assert len(store.list_documents(user)) == 1
    theirs = store.ingest(other, "recipe.md", eval_doc("lasagne-recipe.md"))
    assert not theirs.duplicate and theirs.document.id != first.document.id


@pytest.fixture(scope="module")
def hnsw_engine(postgres: EmbeddedPostgres, engine: Engine) -> Iterator[Engine]:
    """Connections whose planner must use the HNSW index for a nearest-neighbour query.

    On a small table PostgreSQL would rather scan and sort (exact, and isolation holds
    trivially); production tables are large, so the index path is the one to prove.
    """
    forced = create_engine(
        sqlalchemy_url(postgres.url),
        connect_args={"options": "-c enable_seqscan=off -c enable_sort=off"},
    )
    yield forced
    forced.dispose()


def test_a_user_never_retrieves_another_users_chunks(
    hnsw_engine: Engine, embedder: MiniLmEmbedder, tmp_path: Path
) -> None:
    store = DocumentStore(hnsw_engine, embedder, LocalObjectStore(tmp_path / "objects"))
    alice, bob = new_user(hnsw_engine, "alice"), new_user(hnsw_engine, "bob")
    # Alice has the perfect answer, many times over: more chunks than the HNSW scan's first
    # 40 candidates (hnsw.ef_search), so a user filter applied only to those would leave
    # Bob nothing. The store's iterative scan keeps going until Bob's best chunks are found.
    notes = "\n\n".join(
        " ".join([f"Wi-Fi note {i}: the home Wi-Fi password is maple-harbour-{i}."] * 9)
        for i in range(60)
    )
    assert store.ingest(alice, "wifi-notes.txt", notes.encode()).document.chunk_count > 40
    store.ingest(alice, "wifi.md", eval_doc("home-network.md"))
    store.ingest(bob, "recipe.md", eval_doc("lasagne-recipe.md"))
    store.ingest(bob, "garden.txt", eval_doc("vegetable-garden.txt"))
    alice_ids = {d.id for d in store.list_documents(alice)}

    query = "What is the Wi-Fi password at home?"
    with hnsw_engine.connect() as conn:
        plan = conn.execute(
            text(
                "EXPLAIN SELECT id FROM chunks WHERE user_id = :u ORDER BY embedding <=> "
                "CAST(:q AS vector) LIMIT 5"
            ),
            {"u": bob, "q": str([float(x) for x in embedder.embed_one(query)])},
        ).scalars()
        assert "ix_chunks_embedding_hnsw" in "\n".join(plan)
    assert store.search(alice, query, k=1)[0].document_id in alice_ids
    hits = store.search(bob, query, k=5)
    assert len(hits) == 5  # Bob's own best chunks are all found, in order
    assert not {h.document_id for h in hits} & alice_ids
    assert {h.document_name for h in hits} <= {"recipe.md", "garden.txt"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # Nor can Bob list or remove Alice's documents by their ids.
    assert {d.id for d in store.list_documents(bob)}.isdisjoint(alice_ids)
    with pytest.raises(DocumentNotFoundError):
        store.remove(bob, list(alice_ids))
    assert {d.id for d in store.list_documents(alice)} == alice_ids


def test_remove_all_empties_only_that_user(store: DocumentStore, engine: Engine) -> None:
    user, other = new_user(engine), new_user(engine)
    kept = store.ingest(other, "tax.md", eval_doc("tax-notes.md")).document
    docs = [store.ingest(user, n, eval_doc(n)).document for n in ("dog-care.md", "school-info.md")]
    assert sorted(store.remove_all(user)) == sorted(d.id for d in docs)
    assert store.list_documents(user) == [] and store.search(user, "dog food", k=3) == []
    assert not any(store.objects.exists(d.object_key or "") for d in docs)
    assert [d.id for d in store.list_documents(other)] == [kept.id]
    assert store.remove_all(user) == []


def test_bad_input_is_a_document_error(store: DocumentStore, engine: Engine) -> None:
    user = new_user(engine)
    with pytest.raises(DocumentError, match="damaged PDF"):
        store.ingest(user, "broken.pdf", make_pdf(BOILER_PDF)[:150])
    assert store.list_documents(user) == [] and store.objects.list() == []
    with pytest.raises(DocumentError, match="query is empty"):
        store.search(user, "  ")
    with pytest.raises(DocumentError, match="between 1 and 100"):
        store.search(user, "rent", k=0)


def test_users_by_name(engine: Engine) -> None:
    name = f"carol-{uuid.uuid4().hex[:6]}"
    assert find_user(engine, name) is None
    created = get_or_create_user(engine, name)
    assert get_or_create_user(engine, f"  {name} ") == created == find_user(engine, name)
    assert delete_user(engine, name) and find_user(engine, name) is None
    with pytest.raises(DocumentError, match="invalid user name"):
        get_or_create_user(engine, "   ")


def test_unreachable_database_is_a_clear_error() -> None:
    port = free_port()
    with pytest.raises(DatabaseUnavailableError) as down:
        open_engine(f"postgresql://june:s3cret@127.0.0.1:{port}/june")
    message = str(down.value)
    assert message.startswith(f"PostgreSQL is unavailable at 127.0.0.1:{port}/june")
    assert "june up" in message and "JUNE_DATABASE_URL" in message
    assert "s3cret" not in message


def test_recall_at_3_on_the_evaluation_set(store: DocumentStore, engine: Engine) -> None:
    eval_set = load_eval_set(DEFAULT_DATA)
    assert len(eval_set.documents) >= 10 and len(eval_set.questions) >= 20
    report = evaluate(store, eval_set, k=3)
    assert report.questions == len(eval_set.questions)
    assert report.recall_at_k >= 0.8, [r for r in report.results if not r.hit]
    assert report.mrr >= 0.7
    # the throwaway user and all of its documents are gone again
    with engine.connect() as conn:
        leftover = conn.scalar(select(func.count()).where(User.name.startswith("eval-rag-")))
    assert leftover == 0 and store.objects.list() == []
