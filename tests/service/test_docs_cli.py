"""``june docs add|list|search|remove`` and ``june eval rag`` as a user runs them: a separate
process, against the test session's real PostgreSQL through ``JUNE_DATABASE_URL``.

Until ``june.cli.main`` registers ``docs_app`` the commands run as
``python -c "from june.cli.docs import docs_app; docs_app()"`` — the same Typer app,
in its own process, with only the environment a user would set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from june.inference.rag_eval import DEFAULT_DATA
from june.infra.ports import free_port
from june.infra.postgres import EmbeddedPostgres
from tests.documents import BOILER_PDF, make_pdf

DOCS = DEFAULT_DATA / "documents"
DOCS_APP = ("docs",)
EVAL_APP = ("eval", "rag")


def run(
    tmp_path: Path, database_url: str | None, *args: str, program: tuple[str, ...] = DOCS_APP
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUNE_")}
    env["JUNE_DATA_DIR"] = str(tmp_path / "data")
    env["JUNE_POSTGRES_PORT"] = str(free_port())  # no embedded server listens there
    if database_url is not None:
        env["JUNE_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "june", *program, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def docs(tmp_path: Path, postgres: EmbeddedPostgres):  # type: ignore[no-untyped-def]
    """``docs(*args)``: run ``june docs`` against the session database."""
    return lambda *args: run(tmp_path, postgres.url, *args)


def user() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def test_add_list_search_remove(docs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    who = user()
    pdf = tmp_path / "boiler-record.pdf"
    pdf.write_bytes(make_pdf(BOILER_PDF))
    added = docs("add", str(DOCS / "lease.md"), str(DOCS / "lisbon-itinerary.html"), str(pdf),
                 "--user", who, "--json")  # fmt: skip
    assert added.returncode == 0, added.stderr
    body = json.loads(added.stdout)
    assert body["failed"] == []
    assert [(d["name"], d["mime_type"], d["duplicate"]) for d in body["added"]] == [
        ("lease.md", "text/markdown", False),
        ("lisbon-itinerary.html", "text/html", False),
        ("boiler-record.pdf", "application/pdf", False),
    ]

    listed = docs("list", "--user", who, "--json")
    assert listed.returncode == 0, listed.stderr
    documents = json.loads(listed.stdout)
    assert [d["name"] for d in documents] == ["lease.md", "lisbon-itinerary.html",
                                              "boiler-record.pdf"]  # fmt: skip
    for doc in documents:
        assert set(doc) >= {"id", "name", "mime_type", "size_bytes", "chunk_count", "created_at"}
        assert doc["chunk_count"] >= 1 and doc["size_bytes"] > 0
    assert documents[0]["size_bytes"] == (DOCS / "lease.md").stat().st_size

    found = docs("search", "what time does our flight leave", "--k", "4", "--user", who, "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) == 4
    for hit in hits:
        assert set(hit) >= {"document", "score", "text"}
    assert hits[0]["document"] == "lisbon-itinerary.html" and "07:40" in hits[0]["text"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)

    text = docs("search", "when was the boiler serviced", "--k", "1", "--user", who)
    assert text.returncode == 0 and text.stdout.startswith("1. boiler-record.pdf (score ")

    again = docs("add", str(DOCS / "lease.md"), "--user", who)
    assert again.returncode == 0 and again.stdout.startswith("already added: lease.md")

    lease_id = documents[0]["id"]
    removed = docs("remove", lease_id, "--user", who, "--json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout) == {"removed": [lease_id]}
    plain = docs("list", "--user", who)
    assert plain.returncode == 0
    assert "lease.md" not in plain.stdout and "lisbon-itinerary.html" in plain.stdout
    assert documents[1]["id"] in plain.stdout  # the whole id, to copy into `remove`

    everything = docs("remove", "--all", "--user", who)
    assert everything.returncode == 0 and everything.stdout.strip() == "removed 2 documents"
    assert json.loads(docs("list", "--user", who, "--json").stdout) == []


def test_users_are_kept_apart(docs) -> None:  # type: ignore[no-untyped-def]
    alice, bob = user(), user()
    assert docs("add", str(DOCS / "home-network.md"), "--user", alice).returncode == 0
    assert docs("add", str(DOCS / "dog-care.md"), "--user", bob).returncode == 0
    hits = json.loads(docs("search", "wifi password", "--user", bob, "--json").stdout)
    assert {h["document"] for h in hits} == {"dog-care.md"}
    alice_doc = json.loads(docs("list", "--user", alice, "--json").stdout)[0]
    refused = docs("remove", alice_doc["id"], "--user", bob)
    assert refused.returncode == 1 and "no such document" in refused.stderr
    assert len(json.loads(docs("list", "--user", alice, "--json").stdout)) == 1
    for who in (alice, bob):
        assert docs("remove", "--all", "--user", who).returncode == 0


def test_a_bad_file_is_reported_and_the_others_are_added(  # type: ignore[no-untyped-def]
    docs, tmp_path: Path
) -> None:
    who = user()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(make_pdf(BOILER_PDF)[:150])
    word = tmp_path / "letter.docx"
    word.write_bytes(b"PK\x03\x04" + bytes(64))
    result = docs("add", str(broken), str(DOCS / "tax-notes.md"), str(word), "--user", who)
    assert result.returncode == 1
    assert "broken.pdf is a damaged PDF" in result.stderr
    assert "letter.docx is a ZIP archive" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("added: tax-notes.md")
    assert [d["name"] for d in json.loads(docs("list", "--user", who, "--json").stdout)] == [
        "tax-notes.md"
    ]
    assert docs("remove", "--all", "--user", who).returncode == 0


def test_the_default_user_is_the_local_owner(  # type: ignore[no-untyped-def]
    docs, postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    """Without ``--user`` a document is the local owner's: the user June's own chats use."""
    from sqlalchemy import create_engine, select

    from june.db.schema import Document
    from june.inference.documents.database import sqlalchemy_url
    from june.inference.documents.users import OWNER, find_user

    note = tmp_path / "owner-note.md"
    note.write_text(f"# Spare key\nThe spare key {uuid.uuid4().hex} is under the blue pot.\n")
    added = docs("add", str(note), "--json")
    assert added.returncode == 0, added.stderr
    (document,) = json.loads(added.stdout)["added"]
    mine = [d["id"] for d in json.loads(docs("list", "--json").stdout)]
    assert document["id"] in mine
    assert [d["id"] for d in json.loads(docs("list", "--user", OWNER, "--json").stdout)] == mine
    engine = create_engine(sqlalchemy_url(postgres.url))
    try:
        owner_id = find_user(engine, OWNER)
        with engine.connect() as conn:
            stored = conn.scalar(select(Document.user_id).where(Document.id == document["id"]))
    finally:
        engine.dispose()
    assert owner_id is not None and stored == owner_id
    removed = docs("remove", document["id"], "--json")  # only this one: the owner may have more
    assert json.loads(removed.stdout) == {"removed": [document["id"]]}


def test_an_unknown_user_has_nothing(docs) -> None:  # type: ignore[no-untyped-def]
    who = user()
    assert json.loads(docs("list", "--user", who, "--json").stdout) == []
    assert json.loads(docs("search", "anything", "--user", who, "--json").stdout) == []
    removed = docs("remove", "--all", "--user", who, "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout) == {"removed": []}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["remove"], "give document ids or --all"),
        (["remove", "--all", str(uuid.uuid4())], "give document ids or --all"),
        (["remove", "not-an-id"], "not a document id: 'not-an-id'"),
        (["search", "  "], "the search query is empty"),
    ],
)
def test_wrong_command_lines_exit_2(docs, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = docs(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("how", ["JUNE_DATABASE_URL", "embedded"])
def test_database_down_is_a_clear_error(tmp_path: Path, how: str) -> None:
    port = free_port()
    url = f"postgresql://june:secret@127.0.0.1:{port}/june" if how != "embedded" else None
    for args in (["list"], ["add", str(DOCS / "lease.md")], ["search", "rent"]):
        result = run(tmp_path, url, *args)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("error: PostgreSQL is unavailable at 127.0.0.1:")
        assert "start June with `june up` or set JUNE_DATABASE_URL" in result.stderr
        assert "Traceback" not in result.stderr and "secret" not in result.stderr
        assert result.stdout == ""


def test_eval_rag_json(tmp_path: Path, postgres: EmbeddedPostgres) -> None:
    result = run(tmp_path, postgres.url, "--k", "3", "--json", program=EVAL_APP)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["k"] == 3 and report["questions"] >= 20 and report["documents"] >= 10
    assert report["recall_at_k"] >= 0.8 and 0 < report["mrr"] <= 1
    row = report["results"][0]
    assert set(row) == {"id", "question", "expected", "rank", "hit", "top"}
    assert len(row["top"]) == 3


def test_eval_rag_refuses_a_folder_that_is_not_a_set(tmp_path: Path) -> None:
    result = run(tmp_path, None, "--data", str(tmp_path), program=EVAL_APP)
    assert result.returncode == 2
    assert "is not a RAG evaluation set" in result.stderr
