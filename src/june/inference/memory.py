"""Conversation memory in PostgreSQL: conversations, their messages, and facts about the user.

Synchronous SQLAlchemy (psycopg 3), like the document store: the servicer runs
these calls in a worker thread. A turn reads the recent history of its
conversation (oldest first) and the user's remembered facts, and writes the
user's message and June's answer with its timings and token counts.

A user is named in requests either by id (a UUID, as the gateway knows it) or
by name (the command line's ``--user``); a name is made into a user on first
use. A conversation id that belongs to someone else is refused as unknown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.engine import Engine

from june.db.schema import Conversation, Message, User, UserFact
from june.inference.documents.users import get_or_create_user
from june.inference.llm.base import ChatMessage

#: How many recent messages a turn reads; the context budget trims further.
HISTORY_MESSAGES = 40
#: How many remembered facts go into a prompt (the newest).
MAX_FACTS = 20


class ConversationNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class StoredTurn:
    conversation_id: uuid.UUID
    user_message_id: uuid.UUID


class ConversationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def resolve_user(self, user: str) -> uuid.UUID:
        """A user id from an id or a name (created on first use)."""
        try:
            user_id = uuid.UUID(user)
        except ValueError:
            return get_or_create_user(self.engine, user)
        with self.engine.connect() as conn:
            if conn.scalar(select(User.id).where(User.id == user_id)) is None:
                raise ConversationNotFoundError(f"unknown user id {user}")
        return user_id

    def open(self, user_id: uuid.UUID, conversation_id: str | None, title: str) -> uuid.UUID:
        """The conversation to continue, or a new one titled after the first message."""
        with self.engine.begin() as conn:
            if conversation_id:
                try:
                    wanted = uuid.UUID(conversation_id)
                except ValueError:
                    raise ConversationNotFoundError(
                        f"conversation id {conversation_id!r} is not a UUID"
                    ) from None
                owner = conn.scalar(select(Conversation.user_id).where(Conversation.id == wanted))
                if owner != user_id:
                    raise ConversationNotFoundError(f"no conversation {conversation_id}")
                return wanted
            new_id = uuid.uuid4()
            conn.execute(
                Conversation.__table__.insert().values(
                    id=new_id, user_id=user_id, title=title.strip()[:120] or None
                )
            )
            return new_id

    def discard_if_empty(self, conversation_id: uuid.UUID) -> None:
        """Remove a conversation that holds no message (its only turn never completed)."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(Conversation).where(
                    Conversation.id == conversation_id,
                    ~exists().where(Message.conversation_id == conversation_id),
                )
            )

    def history(
        self, conversation_id: uuid.UUID, limit: int = HISTORY_MESSAGES
    ) -> list[ChatMessage]:
        """The last ``limit`` user/assistant messages, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Message.role, Message.text)
                .where(Message.conversation_id == conversation_id)
                .where(Message.role.in_(("user", "assistant")))
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(limit)
            ).all()
        return [ChatMessage(role=role, content=text) for role, text in reversed(rows)]

    def add(
        self,
        conversation_id: uuid.UUID,
        role: str,
        text: str,
        *,
        audio_key: str | None = None,
        timings: dict[str, Any] | None = None,
        sources: list[dict[str, Any]] | None = None,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        message_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        message_id = message_id or uuid.uuid4()
        with self.engine.begin() as conn:
            conn.execute(
                Message.__table__.insert().values(
                    id=message_id,
                    conversation_id=conversation_id,
                    role=role,
                    text=text,
                    audio_key=audio_key,
                    timings=timings,
                    sources=sources or None,
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                    created_at=func.clock_timestamp(),
                )
            )
            conn.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(updated_at=func.now())
            )
        return message_id

    def facts(self, user_id: uuid.UUID) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.scalars(
                select(UserFact.text)
                .where(UserFact.user_id == user_id)
                .order_by(UserFact.created_at.desc())
                .limit(MAX_FACTS)
            ).all()
        return list(reversed(rows))

    def remember(self, user_id: uuid.UUID, fact: str) -> None:
        with self.engine.begin() as conn:
            known = conn.scalar(
                select(UserFact.id).where(UserFact.user_id == user_id, UserFact.text == fact)
            )
            if known is None:
                conn.execute(
                    UserFact.__table__.insert().values(id=uuid.uuid4(), user_id=user_id, text=fact)
                )
