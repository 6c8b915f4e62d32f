"""The embedded PostgreSQL for real: migrations, pgvector search, restarts, clear refusals."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session

from june.db.migrate import current_revision, head_revision, upgrade
from june.db.schema import Chunk, Document, User
from june.infra import InfraError
from june.infra.postgres import EmbeddedPostgres, libpq_url
from june.settings import Settings
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def migrated(postgres: EmbeddedPostgres) -> str:
    upgrade(postgres.url)
    return postgres.url


def test_migration_creates_the_schema_and_is_idempotent(migrated: str) -> None:
    assert current_revision(migrated) == head_revision() == "0005"
    upgrade(migrated)  # a second run changes nothing and does not fail
    engine = create_engine(migrated)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        ext = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname='vector'"))
        assert ext.scalar() is not None
    engine.dispose()
    assert {"users", "conversations", "messages", "documents", "chunks", "user_facts"} <= tables


def _unit(*values: float) -> list[float]:
    vec = list(values) + [0.0] * (384 - len(values))
    norm = sum(v * v for v in vec) ** 0.5
    return [v / norm for v in vec]


def test_pgvector_nearest_neighbour_uses_the_hnsw_index(migrated: str) -> None:
    engine = create_engine(migrated)
    with Session(engine) as session:
        owner = User(name=f"owner-{uuid.uuid4().hex[:6]}")
        other = User(name=f"other-{uuid.uuid4().hex[:6]}")
        session.add_all([owner, other])
        session.flush()
        doc = Document(user_id=owner.id, name="notes.md")
        foreign = Document(user_id=other.id, name="secret.md")
        session.add_all([doc, foreign])
        session.flush()
        vectors = {"cats": _unit(1, 0, 0), "dogs": _unit(0, 1, 0), "fish": _unit(0, 0, 1)}
        for i, (word, vec) in enumerate(vectors.items()):
            session.add(
                Chunk(document_id=doc.id, user_id=owner.id, ordinal=i, text=word, embedding=vec)
            )
        # Closer to the query than anything the owner has, but it belongs to someone else.
        session.add(
            Chunk(
                document_id=foreign.id,
                user_id=other.id,
                ordinal=0,
                text="x",
                embedding=_unit(0.1, 1, 0),
            )
        )
        session.commit()

        query = _unit(0.2, 1, 0.1)
        nearest = session.scalars(
            select(Chunk.text)
            .where(Chunk.user_id == owner.id)
            .order_by(Chunk.embedding.cosine_distance(query))
            .limit(2)
        ).all()
        assert nearest == ["dogs", "cats"]

        session.execute(text("SET enable_seqscan = off"))
        plan = session.execute(
            text("EXPLAIN SELECT id FROM chunks ORDER BY embedding <=> CAST(:q AS vector) LIMIT 3"),
            {"q": str(query)},
        ).scalars()
        assert "ix_chunks_embedding_hnsw" in "\n".join(plan)
    engine.dispose()


def test_data_survives_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    server = EmbeddedPostgres(settings)
    upgrade(server.start())
    with psycopg.connect(libpq_url(server.url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, name, is_admin) VALUES (gen_random_uuid(), 'ada', true)"
        )
    server.stop()

    again = EmbeddedPostgres(settings)
    again.start()
    with psycopg.connect(libpq_url(again.url)) as conn:
        assert conn.execute("SELECT name FROM users").fetchall() == [("ada",)]
    again.stop()


def test_stale_pid_file_and_orphan_server_are_handled(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = EmbeddedPostgres(settings)
    first.start()
    # June was killed: its PostgreSQL is still running. A new start must take over cleanly.
    orphan_pid = first.pid
    second = EmbeddedPostgres(settings)
    second.start()
    assert second.pid != orphan_pid
    with psycopg.connect(libpq_url(second.url), autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('written before the crash')")
    second.stop()
    first.stop()

    # A crash left postmaster.pid behind, naming a process that no longer exists.
    pid_file = settings.postgres_dir / "data" / "postmaster.pid"
    pid_file.write_text("999999\n" + str(settings.postgres_dir / "data") + "\n")
    third = EmbeddedPostgres(settings)
    third.start()
    try:
        assert pid_file.read_text().splitlines()[0] == str(third.pid)  # a new server owns it
        with psycopg.connect(libpq_url(third.url), autocommit=True) as conn:
            assert conn.execute("SELECT body FROM notes").fetchall() == [
                ("written before the crash",)
            ]
            conn.execute("INSERT INTO notes VALUES ('and after it')")
            assert conn.execute("SELECT count(*) FROM notes").fetchone() == (2,)
    finally:
        third.stop()


def test_port_in_use_gives_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(tmp_path, postgres={"port": port})
        with pytest.raises(InfraError, match=rf"port {port} .*JUNE_POSTGRES_PORT"):
            EmbeddedPostgres(settings).start()
    assert not (settings.postgres_dir / "data").exists()


def test_foreign_folder_is_never_overwritten(tmp_path: Path) -> None:
    settings: Settings = make_settings(tmp_path)
    pgdata = settings.postgres_dir / "data"
    pgdata.mkdir(parents=True)
    (pgdata / "precious.txt").write_text("keep me")
    with pytest.raises(InfraError, match="not a PostgreSQL data directory"):
        EmbeddedPostgres(settings).start()
    assert (pgdata / "precious.txt").read_text() == "keep me"
