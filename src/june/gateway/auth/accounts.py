"""Accounts and API keys in PostgreSQL: the part of auth that the command line shares.

Synchronous SQLAlchemy, like the document store: ``june users`` / ``june keys``
call it directly, the gateway in a worker thread. A user row may exist without
a password: ``june docs add`` makes one per name to hang documents off. Such a
row is not an account yet (no one can log in as it), so ``june users add`` with
that name gives it a password and keeps its documents, rather than refusing.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from june.db.schema import ApiKey, User
from june.gateway.auth.passwords import (
    WeakPasswordError,
    check_strength,
    hash_password,
    needs_rehash,
    verify_password,
)

#: Every API key starts with this, so a bearer token that is a key is told from a JWT at once.
KEY_PREFIX = "june_"
#: Characters of a key kept in clear, to tell keys apart in listings ("june_" + 7).
SHOWN_CHARS = 12
_MAX_NAME = 200
#: ``last_used_at`` is written at most this often per key, not on every request.
LAST_USED_RESOLUTION_S = 60


class AccountError(Exception):
    """A refused account or key operation; ``code``: invalid, exists, not_found."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    name: str
    is_admin: bool
    has_password: bool
    created_at: datetime
    #: Keys that are not revoked (filled by :func:`list_accounts`).
    api_keys: int = 0


@dataclass(frozen=True)
class KeyInfo:
    id: uuid.UUID
    user_id: uuid.UUID
    user_name: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


def clean_name(name: str, what: str = "user name") -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > _MAX_NAME or not cleaned.isprintable():
        raise AccountError(
            "invalid", f"invalid {what} {name!r}: 1 to {_MAX_NAME} printable characters"
        )
    return cleaned


def _account(row: object, api_keys: int = 0) -> Account:
    return Account(
        id=row.id,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        is_admin=row.is_admin,  # type: ignore[attr-defined]
        has_password=row.password_hash is not None,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        api_keys=api_keys,
    )


# --- accounts --------------------------------------------------------------------------


def add_account(engine: Engine, name: str, password: str, admin: bool = False) -> Account:
    """Make account ``name``; a passwordless user row of that name becomes the account.

    Raises :class:`AccountError` ``exists`` when ``name`` already has a password,
    ``invalid`` for a bad name or a password shorter than 8 characters.
    """
    cleaned = clean_name(name)
    try:
        check_strength(password)
    except WeakPasswordError as exc:
        raise AccountError("invalid", str(exc)) from None
    password_hash = hash_password(password)
    statement = (
        insert(User)
        .values(id=uuid.uuid4(), name=cleaned, password_hash=password_hash, is_admin=admin)
        .on_conflict_do_update(
            index_elements=[User.name],
            set_={"password_hash": password_hash, "is_admin": admin},
            where=User.password_hash.is_(None),
        )
        .returning(User.id, User.name, User.is_admin, User.password_hash, User.created_at)
    )
    with engine.begin() as conn:
        row = conn.execute(statement).first()
    if row is None:
        raise AccountError("exists", f"user {cleaned!r} already exists")
    return _account(row)


def find_account(engine: Engine, name: str) -> Account | None:
    with engine.connect() as conn:
        row = conn.execute(select(User).where(User.name == clean_name(name))).first()
    return _account(row) if row is not None else None


def get_account(engine: Engine, user_id: str | uuid.UUID) -> Account | None:
    """The user with this id, or None (a malformed id is None too)."""
    try:
        wanted = uuid.UUID(str(user_id))
    except ValueError:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(User).where(User.id == wanted)).first()
    return _account(row) if row is not None else None


def list_accounts(engine: Engine) -> list[Account]:
    """Every user, admins first, then by name, with the number of live keys."""
    live_keys = (
        select(func.count())
        .where(ApiKey.user_id == User.id, ApiKey.revoked.is_(False))
        .scalar_subquery()
    )
    with engine.connect() as conn:
        rows = conn.execute(
            select(User, live_keys.label("keys")).order_by(User.is_admin.desc(), User.name)
        ).all()
    return [_account(row, row.keys) for row in rows]


def anyone_can_sign_in(engine: Engine) -> bool:
    """Whether some user has a password (the documents' local owner, for one, has none)."""
    with engine.connect() as conn:
        someone = select(User.id).where(User.password_hash.is_not(None)).limit(1)
        return conn.scalar(someone) is not None


def remove_account(engine: Engine, name: str) -> bool:
    """Remove user ``name`` and, by cascade, their keys, conversations and documents."""
    with engine.begin() as conn:
        removed = conn.execute(delete(User).where(User.name == clean_name(name)).returning(User.id))
        return removed.first() is not None


def check_login(engine: Engine, name: str, password: str) -> Account | None:
    """The account when ``password`` is right, else None, taking the same time either way.

    An unknown name, a user without a password and a wrong password are all
    just None, so a caller cannot tell which part was wrong. A hash made with
    weaker parameters than today's is replaced on success.
    """
    try:
        cleaned = clean_name(name)
    except AccountError:
        cleaned = None
    row = None
    if cleaned is not None:
        with engine.connect() as conn:
            row = conn.execute(select(User).where(User.name == cleaned)).first()
    stored = row.password_hash if row is not None else None
    if not verify_password(stored, password) or row is None:
        return None
    if needs_rehash(stored):  # type: ignore[arg-type]
        with engine.begin() as conn:
            conn.execute(
                update(User).where(User.id == row.id).values(password_hash=hash_password(password))
            )
    return _account(row)


# --- API keys --------------------------------------------------------------------------


def new_key() -> str:
    """A fresh API key: ``june_`` and 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def _key_info(row: object) -> KeyInfo:
    return KeyInfo(
        id=row.id,  # type: ignore[attr-defined]
        user_id=row.user_id,  # type: ignore[attr-defined]
        user_name=row.user_name,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        prefix=row.prefix,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        last_used_at=row.last_used_at,  # type: ignore[attr-defined]
        revoked=row.revoked,  # type: ignore[attr-defined]
    )


def _key_columns() -> tuple[object, ...]:
    return (
        ApiKey.id,
        ApiKey.user_id,
        User.name.label("user_name"),
        ApiKey.name,
        ApiKey.prefix,
        ApiKey.created_at,
        ApiKey.last_used_at,
        ApiKey.revoked,
    )


def create_key(engine: Engine, user_id: uuid.UUID, name: str) -> tuple[str, KeyInfo]:
    """A new key named ``name`` for the user: the key itself (shown once) and its record.

    Raises :class:`AccountError` ``exists`` when the user has a live key of that
    name, ``not_found`` when the user does not exist.
    """
    cleaned = clean_name(name, "key name")
    key = new_key()
    try:
        with engine.begin() as conn:
            key_id = conn.scalar(
                insert(ApiKey)
                .values(
                    id=uuid.uuid4(),
                    user_id=user_id,
                    name=cleaned,
                    prefix=key[:SHOWN_CHARS],
                    key_hash=key_hash(key),
                )
                .returning(ApiKey.id)
            )
            row = conn.execute(
                select(*_key_columns()).join(User).where(ApiKey.id == key_id)  # type: ignore[call-overload]
            ).one()
    except IntegrityError as exc:
        if "uq_api_keys_user_name_active" in str(exc.orig):
            raise AccountError("exists", f"a key named {cleaned!r} already exists") from None
        if "api_keys_user_id_fkey" in str(exc.orig):
            raise AccountError("not_found", "the user does not exist") from None
        raise
    return key, _key_info(row)


def list_keys(
    engine: Engine, user_id: uuid.UUID | None = None, include_revoked: bool = True
) -> list[KeyInfo]:
    """Keys of one user (or of everyone), oldest first; never the keys themselves."""
    query = select(*_key_columns()).join(User)  # type: ignore[call-overload]
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked.is_(False))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(User.name, ApiKey.created_at)).all()
    return [_key_info(row) for row in rows]


def revoke_key(engine: Engine, key_id: uuid.UUID) -> bool:
    """Revoke a key at once (the next request with it is refused); False if already revoked."""
    with engine.begin() as conn:
        done = conn.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked.is_(False))
            .values(revoked=True)
            .returning(ApiKey.id)
        )
        return done.first() is not None


def key_owner(engine: Engine, key: str) -> Account | None:
    """The account a live key acts for, or None; notes when the key was last used.

    ``last_used_at`` is written only when it is older than
    :data:`LAST_USED_RESOLUTION_S`, so a busy key costs a read per request, not a write.
    """
    digest = key_hash(key)
    with engine.connect() as conn:
        row = conn.execute(
            select(User, ApiKey.id.label("key_id"), ApiKey.last_used_at)
            .join(ApiKey, ApiKey.user_id == User.id)
            .where(ApiKey.key_hash == digest, ApiKey.revoked.is_(False))
        ).first()
        if row is None:
            return None
        stale = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, LAST_USED_RESOLUTION_S)
        conn.execute(
            update(ApiKey)
            .where(
                ApiKey.id == row.key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale),
            )
            .values(last_used_at=func.now())
        )
        conn.commit()
    return _account(row)
