"""Users by name, as the command line knows them: documents belong to a user id.

The gateway will own accounts (passwords, admins); documents only need a row
to hang off, so a name is made into a user on first use. The command line's
default user is the machine's local owner, :data:`OWNER`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from june.db.schema import User
from june.inference.documents.errors import DocumentError

#: The user the command line acts for unless ``--user`` says otherwise.
OWNER = "owner"
_MAX_NAME = 200


def _clean(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > _MAX_NAME or not cleaned.isprintable():
        raise DocumentError(
            "invalid", f"invalid user name {name!r}: 1 to {_MAX_NAME} printable characters"
        )
    return cleaned


def find_user(engine: Engine, name: str) -> uuid.UUID | None:
    """The id of user ``name``, or None (reading never creates a user)."""
    with engine.connect() as conn:
        return conn.scalar(select(User.id).where(User.name == _clean(name)))


def get_or_create_user(engine: Engine, name: str) -> uuid.UUID:
    """The id of user ``name``, created if new; safe when two processes race to create it."""
    cleaned = _clean(name)
    with engine.begin() as conn:
        created = conn.scalar(
            insert(User)
            .values(id=uuid.uuid4(), name=cleaned, is_admin=False)
            .on_conflict_do_nothing(index_elements=[User.name])
            .returning(User.id)
        )
        if created is not None:
            return created
        existing = conn.scalar(select(User.id).where(User.name == cleaned))
    assert existing is not None
    return existing


def delete_user(engine: Engine, name: str) -> bool:
    """Remove user ``name`` and, by cascade, everything of theirs in the database."""
    with engine.begin() as conn:
        removed = conn.execute(delete(User).where(User.name == _clean(name)).returning(User.id))
        return removed.first() is not None
