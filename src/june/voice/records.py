"""What a voice turn writes into the shared conversation store.

The inference service stores each exchange (the person's message and the
answer) when the answer is complete. A voice turn adds what only it knows —
the stage timings, on the answer's row — and removes an exchange that was
answered speculatively and then dropped (the person went on speaking), so
speculation never leaves a wrong turn in the conversation.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine

from june.db.schema import Message


class MessageRecorder:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def add_timings(self, message_id: str, timings: dict[str, float]) -> None:
        await asyncio.to_thread(self._add_timings, uuid.UUID(message_id), timings)

    async def forget(self, message_id: str) -> None:
        await asyncio.to_thread(self._forget, uuid.UUID(message_id))

    def _add_timings(self, message_id: uuid.UUID, timings: dict[str, float]) -> None:
        merged = func.coalesce(Message.timings, func.cast("{}", JSONB)).op("||")(
            func.cast(timings, JSONB)
        )
        with self.engine.begin() as conn:
            conn.execute(update(Message).where(Message.id == message_id).values(timings=merged))

    def _forget(self, message_id: uuid.UUID) -> None:
        """Delete the answer and the user message just before it in its conversation."""
        with self.engine.begin() as conn:
            answer = conn.execute(
                select(Message.conversation_id, Message.created_at).where(Message.id == message_id)
            ).first()
            if answer is None:
                return
            question = conn.scalar(
                select(Message.id)
                .where(
                    Message.conversation_id == answer.conversation_id,
                    Message.role == "user",
                    Message.created_at <= answer.created_at,
                )
                .order_by(Message.created_at.desc())
                .limit(1)
            )
            ids = [message_id] + ([question] if question is not None else [])
            conn.execute(delete(Message).where(Message.id.in_(ids)))
