"""One chat turn: memory + documents + tools around a streaming model, as a stream of events.

The flow, one way: resolve the user and the conversation → read its recent
history and the user's remembered facts → retrieve the user's closest document
chunks (only theirs) → fit everything to the context window (oldest turns
dropped first, then the weakest chunks) → stream the model; when it asks for
tools, run them (failures are reported to the model), feed the results back and
stream again, at most ``max_tool_rounds`` times → store the user's message and
the answer with its timings and token counts.

Blocking work (database, embeddings) runs in worker threads; the model streams
on its own. Cancelling the consumer (the client went away) sets ``cancel``,
which stops generation at the next token.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from june.inference.documents.store import DocumentStore, SearchHit
from june.inference.llm.base import (
    ChatMessage,
    ChatModel,
    Finished,
    GenerationOptions,
    ReasoningChunk,
    TextChunk,
    ToolCallChunk,
    ToolCallRequest,
)
from june.inference.llm.budget import fit_to_context
from june.inference.memory import ConversationStore
from june.inference.tools import ToolContext, ToolOutcome, ToolRegistry

log = structlog.get_logger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are June, a helpful voice assistant. Answer briefly and clearly, in plain "
    "sentences that read well aloud. When the user's documents are given, use them and "
    "name the document you used."
)


@dataclass(frozen=True)
class TurnRequest:
    user: str
    text: str
    conversation_id: str | None = None
    options: GenerationOptions = field(default_factory=GenerationOptions)
    use_documents: bool = True
    use_tools: bool = True
    documents_top_k: int = 3
    system_prompt: str | None = None
    #: Do not read or write memory (a one-off question).
    ephemeral: bool = False
    timezone: str = "UTC"
    #: With ``ephemeral``: the conversation before ``text``, as the caller holds it.
    history: list[ChatMessage] = field(default_factory=list)


@dataclass(frozen=True)
class TurnStarted:
    conversation_id: str
    message_id: str
    model: str


@dataclass(frozen=True)
class SourcesFound:
    hits: list[SearchHit]


@dataclass(frozen=True)
class ToolRan:
    outcome: ToolOutcome


@dataclass(frozen=True)
class TurnDone:
    text: str
    reasoning: str
    finish_reason: str  # stop | length | tool_limit | cancelled
    prompt_tokens: int
    completion_tokens: int
    retrieval_s: float
    time_to_first_token_s: float
    tokens_per_second: float
    total_s: float
    tool_rounds: int
    message_id: str
    #: The retrieved chunks that were in the prompt (stored with the answer).
    sources: tuple[SearchHit, ...] = ()


TurnEvent = (
    TurnStarted | SourcesFound | TextChunk | ReasoningChunk | ToolCallChunk | ToolRan | TurnDone
)


class ChatService:
    def __init__(
        self,
        model: ChatModel,
        memory: ConversationStore,
        documents: DocumentStore | None,
        tools: ToolRegistry,
        *,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        max_tool_rounds: int = 3,
    ) -> None:
        self.model = model
        self.memory = memory
        self.documents = documents
        self.tools = tools
        self.system_prompt = system_prompt
        self.max_tool_rounds = max_tool_rounds

    async def turn(
        self, request: TurnRequest, cancel: threading.Event | None = None
    ) -> AsyncIterator[TurnEvent]:
        """The turn's events; a conversation this turn opened is removed again if the turn
        ends (cancelled, failed) before anything was stored in it, so a dropped speculative
        answer or a client that went away leaves no empty conversation behind."""
        opened: list[uuid.UUID] = []
        stored = False
        try:
            async for event in self._turn(request, cancel, opened):
                stored = stored or isinstance(event, TurnDone)
                yield event
        finally:
            if opened and not stored:  # synchronous: this may run while being cancelled
                self.memory.discard_if_empty(opened[0])

    async def _turn(
        self, request: TurnRequest, cancel: threading.Event | None, opened: list[uuid.UUID]
    ) -> AsyncIterator[TurnEvent]:
        started = time.perf_counter()
        cancel = cancel or threading.Event()
        user_id = await asyncio.to_thread(self.memory.resolve_user, request.user)
        conversation_id: uuid.UUID | None = None
        history: list[ChatMessage] = list(request.history)
        facts: list[str] = []
        if not request.ephemeral:
            conversation_id = await asyncio.to_thread(
                self.memory.open, user_id, request.conversation_id, request.text
            )
            if not request.conversation_id:
                opened.append(conversation_id)
            history = await asyncio.to_thread(self.memory.history, conversation_id)
            facts = await asyncio.to_thread(self.memory.facts, user_id)
        message_id = str(uuid.uuid4())
        yield TurnStarted(str(conversation_id or ""), message_id, self.model.name)

        retrieval_started = time.perf_counter()
        hits: list[SearchHit] = []
        if request.use_documents and self.documents is not None and request.text.strip():
            hits = await asyncio.to_thread(
                self.documents.search, user_id, request.text, request.documents_top_k
            )
            if hits:
                yield SourcesFound(hits)
        retrieval_s = time.perf_counter() - retrieval_started

        tools = self.tools.specs if request.use_tools else []
        messages, dropped_turns, dropped_chunks = fit_to_context(
            self.model,
            self._system(request, facts),
            history,
            [f"[{h.document_name}] {h.text}" for h in hits],
            request.text,
            request.options.max_tokens,
            tools=tools,
        )
        if dropped_turns or dropped_chunks:
            log.info("chat.trimmed", dropped_turns=dropped_turns, dropped_chunks=dropped_chunks)
        context = self._tool_context(user_id, request)

        text, reasoning = [], []
        prompt_tokens = completion_tokens = rounds = 0
        first_token_at: float | None = None
        generating_s = 0.0
        finish = "stop"
        while True:
            calls: list[ToolCallRequest] = []
            round_started = time.perf_counter()
            async for event in self.model.stream(messages, request.options, tools, cancel):
                if isinstance(event, TextChunk | ReasoningChunk) and first_token_at is None:
                    first_token_at = time.perf_counter()
                if isinstance(event, TextChunk):
                    text.append(event.text)
                elif isinstance(event, ReasoningChunk):
                    reasoning.append(event.text)
                elif isinstance(event, ToolCallChunk):
                    calls.append(event.call)
                elif isinstance(event, Finished):
                    prompt_tokens += event.prompt_tokens
                    completion_tokens += event.completion_tokens
                    finish = event.reason
                    continue
                yield event
            generating_s += time.perf_counter() - round_started
            if not calls or finish == "cancelled":
                break
            if rounds >= self.max_tool_rounds:
                finish = "tool_limit"
                break
            rounds += 1
            messages = [*messages, ChatMessage("assistant", "".join(text), tool_calls=tuple(calls))]
            text = []
            for call in calls:
                outcome = await self.tools.call(call, context)
                yield ToolRan(outcome)
                messages.append(
                    ChatMessage("tool", outcome.content, name=call.name, tool_call_id=call.id)
                )
        if finish == "tool_calls":
            finish = "stop"
        answer = "".join(text).strip()
        total_s = time.perf_counter() - started
        ttft = (first_token_at - started) if first_token_at else 0.0
        done = TurnDone(
            text=answer,
            reasoning="".join(reasoning).strip(),
            finish_reason=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            retrieval_s=retrieval_s,
            time_to_first_token_s=ttft,
            tokens_per_second=completion_tokens / generating_s if generating_s else 0.0,
            total_s=total_s,
            tool_rounds=rounds,
            message_id=message_id,
            sources=tuple(hits),
        )
        if conversation_id is not None:
            await asyncio.to_thread(self._store, conversation_id, request.text, done)
        yield done

    def _system(self, request: TurnRequest, facts: Sequence[str]) -> str:
        system = request.system_prompt or self.system_prompt
        if facts:
            system += "\n\nWhat you know about the user:\n" + "\n".join(f"- {f}" for f in facts)
        return system

    def _tool_context(self, user_id: uuid.UUID, request: TurnRequest) -> ToolContext:
        documents, memory = self.documents, self.memory

        async def search(query: str, k: int) -> list[tuple[str, float, str]]:
            if documents is None:
                return []
            hits = await asyncio.to_thread(documents.search, user_id, query, k)
            return [(h.document_name, h.score, h.text) for h in hits]

        async def remember(fact: str) -> None:
            await asyncio.to_thread(memory.remember, user_id, fact)

        return ToolContext(
            user_id=user_id,
            user_name=request.user,
            timezone=request.timezone,
            search=search if documents is not None else None,
            remember=None if request.ephemeral else remember,
        )

    def _store(self, conversation_id: uuid.UUID, user_text: str, done: TurnDone) -> None:
        self.memory.add(conversation_id, "user", user_text, tokens_in=done.prompt_tokens)
        timings = {
            "retrieval_s": round(done.retrieval_s, 4),
            "time_to_first_token_s": round(done.time_to_first_token_s, 4),
            "total_s": round(done.total_s, 4),
            "tool_rounds": done.tool_rounds,
            "finish_reason": done.finish_reason,
        }
        if done.reasoning:
            timings["reasoning"] = done.reasoning  # kept for the record, never spoken
        self.memory.add(
            conversation_id,
            "assistant",
            done.text,
            timings=timings,
            sources=[source_record(hit) for hit in done.sources],
            tokens_out=done.completion_tokens,
            # the id announced in TurnStarted, so a caller can add to this message (voice timings)
            message_id=uuid.UUID(done.message_id),
        )


def source_record(hit: SearchHit | Any) -> dict[str, Any]:
    """How a retrieved chunk is kept with the answer (``messages.sources``) and sent in
    ``turn.done``: what names the document for the person, without the chunk's text.

    Takes a :class:`SearchHit` or the proto's ``Source`` (the same fields), so the
    stored answer and the voice turn's event say it alike.
    """
    return {
        "document_id": str(hit.document_id),
        "document_name": hit.document_name,
        "chunk_index": int(hit.chunk_index),
        "score": round(float(hit.score), 4),
    }
