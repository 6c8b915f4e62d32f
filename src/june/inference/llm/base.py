"""The one interface every LLM backend implements, and the events it streams.

A backend turns a list of :class:`ChatMessage` into a stream of typed events:
:class:`TextChunk` (the answer, what is spoken), :class:`ReasoningChunk` (a
thinking model's hidden reasoning, kept for the record), :class:`ToolCallChunk`
(the model asks for a tool; the caller runs it and calls ``stream`` again with
the result) and exactly one :class:`Finished` at the end, with token counts.

``stream`` is an async generator. Generation stops at the next token when the
``cancel`` event is set (from any thread), when the consumer closes the
iterator (``aclose()``, ``break`` in ``async for``) or when the consuming task
is cancelled. After ``cancel`` the stream still ends with
``Finished(reason="cancelled")``; after ``aclose()`` nothing more is yielded.

Errors: :class:`BackendUnavailableError` (the server or model cannot be
reached: a service answers UNAVAILABLE / 503), :class:`BackendError` (the
backend refused this request, with its reason), :class:`ContextOverflowError`
(the prompt alone does not fit the context window; ``budget.fit_to_context``
prevents it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "cancelled"]


@dataclass(frozen=True)
class ToolCallRequest:
    """The model asks to call tool ``name`` with ``arguments_json`` (a JSON object, as text)."""

    id: str
    name: str
    arguments_json: str


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation.

    ``tool_calls`` is set on an assistant message that called tools; a ``tool``
    message carries one result, with ``tool_call_id`` (and ``name``) of its call.
    """

    role: Role
    content: str
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCallRequest, ...] = ()


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call; ``parameters`` is a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationOptions:
    """How much to generate and how to sample; ``temperature=0`` is greedy."""

    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    #: Extra stop sequences, on top of the prompt format's own.
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class TextChunk:
    """A piece of the answer: the text that is shown and spoken."""

    text: str


@dataclass(frozen=True)
class ReasoningChunk:
    """A piece of a thinking model's reasoning: never spoken, kept for the record."""

    text: str


@dataclass(frozen=True)
class ToolCallChunk:
    call: ToolCallRequest


@dataclass(frozen=True)
class Finished:
    """The last event of every stream.

    Token counts come from the backend's tokenizer or the server's ``usage``;
    where a server reports none (a cancelled stream, llama-cpp-python's server)
    they are estimates: the prompt by ``count_tokens``, one token per delta.
    """

    reason: FinishReason
    prompt_tokens: int
    completion_tokens: int


ChatEvent: TypeAlias = TextChunk | ReasoningChunk | ToolCallChunk | Finished


class ChatModel(Protocol):
    """What the inference service (and the benchmark) use; one per process."""

    #: A label for logs and metrics (the model id or the remote model's name).
    name: str
    #: Tokens the prompt and the answer share.
    context_window: int
    #: True: tools go to the backend natively (OpenAI ``tools``); false: ``prompting``'s
    #: text protocol, parsed back into ToolCallChunk by the backend.
    supports_native_tools: bool

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        tools: Sequence[ToolSpec] = (),
        cancel: threading.Event | None = None,
    ) -> AsyncIterator[ChatEvent]: ...

    async def aclose(self) -> None: ...


class LLMError(Exception):
    """Base of the errors a backend raises."""


class BackendError(LLMError):
    """The backend refused or failed this request; ``status`` is the HTTP status if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BackendUnavailableError(BackendError):
    """The LLM server or model cannot be reached now (connection refused, timeout, 503)."""


class ContextOverflowError(BackendError):
    """The prompt alone fills the context window."""


# Shared by the backends: a producer puts items on an asyncio queue; the consumer
# takes them while watching a threading.Event that may be set from any thread.
POLL_S = 0.05


async def queue_items(
    queue: asyncio.Queue[Any], cancel: threading.Event | None
) -> AsyncIterator[Any]:
    """Items from ``queue`` until one is ``None``; stops early (silently) once ``cancel`` is set.

    The consumer checks ``cancel`` every ``POLL_S`` while it waits, so a
    cancellation is seen even while the producer is busy (a long prompt).
    """
    getter: asyncio.Future[Any] | None = None
    try:
        while True:
            if cancel is not None and cancel.is_set():
                return
            if getter is None:
                getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter}, timeout=POLL_S if cancel is not None else None)
            if not done:
                continue
            item = getter.result()
            getter = None
            if item is None:
                return
            yield item
    finally:
        if getter is not None:
            getter.cancel()
