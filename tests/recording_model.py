"""A recording proxy in front of the real bundled model: what June sent it, kept for the test.

``ChatService`` talks to its model through one seam, the ``ChatModel``
interface (``june.inference.llm.base``). :class:`RecordingModel` implements it
by handing every call to the real backend — the bundled Gemma 3 270M on
llama.cpp in-process — and records each request on the way: the messages,
the tools offered, the options, and the prompt text the model read, rendered
by the backend's own prompt format. Token counts, context window and the
answers are the real model's; a test checks what June sent and stored, never
what a 270M base model says.

One thing the proxy does that the model cannot: a base model this small does
not decide to call a tool. :meth:`RecordingModel.decide` queues a tool call
that the next round with tools asks for *instead* of asking the model (the
request is still recorded); June runs the real tool, and the round after,
which carries the tool's result, goes to the real model again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from june.inference.llm.base import (
    ChatEvent,
    ChatMessage,
    Finished,
    GenerationOptions,
    ToolCallChunk,
    ToolCallRequest,
    ToolSpec,
)
from june.inference.llm.llama_cpp import LlamaCppModel


@dataclass(frozen=True)
class Request:
    """One call of ``stream``, as June made it."""

    messages: list[ChatMessage]
    tools: list[ToolSpec]
    options: GenerationOptions
    #: The prompt text the backend renders from ``messages`` and ``tools``: what the model read.
    prompt: str
    #: That prompt's tokens as the backend counts them (BOS included).
    prompt_tokens: int
    #: True when a queued :meth:`RecordingModel.decide` answered instead of the model.
    scripted: bool = False

    @property
    def contents(self) -> list[str]:
        return [m.content for m in self.messages]


class RecordingModel:
    """A ``ChatModel`` that records every request and forwards it to the real model."""

    def __init__(self, model: LlamaCppModel) -> None:
        self.model = model
        self.name = model.name
        self.context_window = model.context_window
        self.supports_native_tools = model.supports_native_tools
        self.requests: list[Request] = []
        self._decisions: list[ToolCallRequest] = []

    def count_tokens(self, text: str) -> int:
        return self.model.count_tokens(text)

    def decide(self, tool: str, arguments: dict[str, Any]) -> None:
        """The next round offered tools calls ``tool`` with ``arguments`` (the model is skipped)."""
        call_id = f"call_scripted_{len(self._decisions) + 1}"
        self._decisions.append(ToolCallRequest(call_id, tool, json.dumps(arguments)))

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        tools: Sequence[ToolSpec] = (),
        cancel: threading.Event | None = None,
    ) -> AsyncIterator[ChatEvent]:
        prompt = self.model.render(messages, tools).text
        prompt_tokens = len(self.model.tokenize_prompt(prompt))
        scripted = bool(tools and self._decisions)
        self.requests.append(
            Request(list(messages), list(tools), options, prompt, prompt_tokens, scripted)
        )
        if scripted:
            yield ToolCallChunk(self._decisions.pop(0))
            yield Finished("tool_calls", prompt_tokens, 0)
            return
        async for event in self.model.stream(messages, options, tools, cancel):
            yield event

    async def aclose(self) -> None:
        """Nothing: the real model belongs to the fixture that loaded it."""
