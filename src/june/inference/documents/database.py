"""Reaching PostgreSQL for documents: the URL, a checked engine, migrations, a clear refusal.

Synchronous SQLAlchemy on psycopg 3: every caller of the document store is
blocking work anyway (extraction, embedding, the object store), which the
gRPC service runs in a worker thread and the command line runs directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from june.inference.documents.errors import DatabaseUnavailableError

if TYPE_CHECKING:
    from june.settings import Settings

#: Seconds to wait for a connection before saying the database is unavailable.
CONNECT_TIMEOUT_S = 5


def sqlalchemy_url(url: str) -> str:
    """``url`` with the psycopg 3 driver named (``postgresql://`` alone means psycopg2)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url


def describe_url(url: str) -> str:
    """Where ``url`` points, for messages: ``host:port/database``, never the password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "the configured JUNE_DATABASE_URL"
    where = parsed.host or "localhost"
    if parsed.port:
        where += f":{parsed.port}"
    return f"{where}/{parsed.database}" if parsed.database else where


def unavailable(url: str, reason: object = None) -> DatabaseUnavailableError:
    """The error a user sees when PostgreSQL does not answer."""
    detail = f" ({str(reason).strip().splitlines()[0]})" if reason else ""
    return DatabaseUnavailableError(
        f"PostgreSQL is unavailable at {describe_url(url)}{detail}; "
        "start June with `june up` or set JUNE_DATABASE_URL"
    )


def open_engine(url: str) -> Engine:
    """An engine for ``url`` that has connected once; DatabaseUnavailableError if it cannot."""
    url = sqlalchemy_url(url)
    engine = create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
    )
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        raise unavailable(url, exc.orig) from None
    return engine


def open_migrated_engine(url: str) -> Engine:
    """:func:`open_engine`, after bringing the schema to the latest migration (idempotent)."""
    from june.db.migrate import upgrade

    engine = open_engine(url)
    try:
        upgrade(engine.url.render_as_string(hide_password=False))
    except OperationalError as exc:  # the server went away between the two
        engine.dispose()
        raise unavailable(url, exc.orig) from None
    return engine


def engine_from_settings(settings: Settings) -> Engine:
    """The migrated engine of ``JUNE_DATABASE_URL``, or of the embedded server June starts."""
    from june.infra.postgres import database_url

    return open_migrated_engine(database_url(settings))
