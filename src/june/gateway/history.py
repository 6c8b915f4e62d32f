"""Conversation history for the REST API: list, read, rename and delete a user's conversations.

The inference service writes conversations and messages (``june.inference.memory``);
the gateway only reads them back, renames and deletes, straight from the shared
schema. Every query is scoped to the owner: another user's conversation is
indistinguishable from one that does not exist, so its id is never confirmed.
Synchronous SQLAlchemy, as elsewhere in June; routes run these calls in a
worker thread.

Pagination is by cursor: conversations come newest first (by last activity)
and ``before=<id>`` continues after that conversation; messages come oldest
first and ``before=<message id>`` gives the page before that message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, tuple_, update
from sqlalchemy.engine import Engine

from june.db.schema import Conversation, Message

MAX_PAGE = 200


class ConversationNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    has_more: bool


def parse_id(text: str, what: str = "conversation") -> uuid.UUID:
    """A path or cursor id; one that is not a UUID cannot exist."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ConversationNotFoundError(f"no {what} {text!r}") from None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _conversation(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "object": "conversation",
        "title": row.title,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "message_count": row.message_count,
    }


def _message(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "object": "conversation.message",
        "role": row.role,
        "text": row.text,
        "created_at": _iso(row.created_at),
        "timings": row.timings,
        "sources": row.sources or [],
        "tokens_in": row.tokens_in,
        "tokens_out": row.tokens_out,
        "has_audio": bool(row.audio_key),
    }


_COUNT = (
    select(func.count(Message.id))
    .where(Message.conversation_id == Conversation.id)
    .correlate(Conversation)
    .scalar_subquery()
    .label("message_count")
)
_COLUMNS = (
    Conversation.id,
    Conversation.title,
    Conversation.created_at,
    Conversation.updated_at,
    _COUNT,
)

_MESSAGE_COLUMNS = (
    Message.id,
    Message.role,
    Message.text,
    Message.created_at,
    Message.timings,
    Message.sources,
    Message.tokens_in,
    Message.tokens_out,
    Message.audio_key,
)


def list_conversations(
    engine: Engine, user_id: uuid.UUID, limit: int, before: str | None = None
) -> Page:
    """The user's conversations, most recently active first."""
    query = select(*_COLUMNS).where(Conversation.user_id == user_id)
    with engine.connect() as conn:
        if before:
            cursor = conn.execute(
                select(Conversation.updated_at, Conversation.id).where(
                    Conversation.id == parse_id(before), Conversation.user_id == user_id
                )
            ).first()
            if cursor is None:
                raise ConversationNotFoundError(f"no conversation {before!r}")
            query = query.where(tuple_(Conversation.updated_at, Conversation.id) < tuple_(*cursor))
        rows = conn.execute(
            query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit + 1)
        ).all()
    return Page([_conversation(r) for r in rows[:limit]], len(rows) > limit)


def get_conversation(engine: Engine, user_id: uuid.UUID, conversation_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            select(*_COLUMNS).where(
                Conversation.id == parse_id(conversation_id), Conversation.user_id == user_id
            )
        ).first()
    if row is None:
        raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
    return _conversation(row)


def list_messages(
    engine: Engine,
    user_id: uuid.UUID,
    conversation_id: str,
    limit: int,
    before: str | None = None,
) -> Page:
    """The last ``limit`` messages (before the ``before`` message), oldest first."""
    conversation = parse_id(conversation_id)
    with engine.connect() as conn:
        owner = conn.scalar(select(Conversation.user_id).where(Conversation.id == conversation))
        if owner != user_id:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
        query = select(*_MESSAGE_COLUMNS).where(Message.conversation_id == conversation)
        if before:
            cursor = conn.execute(
                select(Message.created_at, Message.id).where(
                    Message.id == parse_id(before, "message"),
                    Message.conversation_id == conversation,
                )
            ).first()
            if cursor is None:
                raise ConversationNotFoundError(f"no message {before!r} in this conversation")
            query = query.where(
                or_(
                    Message.created_at < cursor.created_at,
                    and_(Message.created_at == cursor.created_at, Message.id < cursor.id),
                )
            )
        rows = conn.execute(
            query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1)
        ).all()
    return Page([_message(r) for r in reversed(rows[:limit])], len(rows) > limit)


def rename_conversation(
    engine: Engine, user_id: uuid.UUID, conversation_id: str, title: str
) -> dict[str, Any]:
    with engine.begin() as conn:
        changed = conn.execute(
            update(Conversation)
            .where(Conversation.id == parse_id(conversation_id), Conversation.user_id == user_id)
            # a new title is no activity: keep the conversation's place in the list
            .values(title=title, updated_at=Conversation.updated_at)
        ).rowcount
    if not changed:
        raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
    return get_conversation(engine, user_id, conversation_id)


def delete_conversation(engine: Engine, user_id: uuid.UUID, conversation_id: str) -> None:
    """Delete the conversation and its messages (the foreign key cascades)."""
    with engine.begin() as conn:
        removed = conn.execute(
            delete(Conversation).where(
                Conversation.id == parse_id(conversation_id), Conversation.user_id == user_id
            )
        ).rowcount
    if not removed:
        raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
