"""LLM backends behind one interface (:class:`ChatModel`), prompt handling, context budget.

- ``base`` — the interface and its streamed events;
- ``llama_cpp`` — llama.cpp in-process (the bundled Gemma GGUF by default);
- ``openai_compat`` — any OpenAI-compatible server (vLLM, llama.cpp server, Ollama);
- ``prompting`` — chat templates, the plain format for base models, tools as text;
- ``thinking`` — ``<think>`` reasoning split from the spoken answer, streaming;
- ``budget`` — trimming a prompt to the context window;
- ``factory`` — ``create_chat_model(settings)``.

The backends import their engines lazily: importing this package loads no model.
"""

from june.inference.llm.base import (
    BackendError,
    BackendUnavailableError,
    ChatEvent,
    ChatMessage,
    ChatModel,
    ContextOverflowError,
    Finished,
    GenerationOptions,
    LLMError,
    ReasoningChunk,
    TextChunk,
    ToolCallChunk,
    ToolCallRequest,
    ToolSpec,
)
from june.inference.llm.budget import fit_to_context
from june.inference.llm.factory import create_chat_model, default_options

__all__ = [
    "BackendError",
    "BackendUnavailableError",
    "ChatEvent",
    "ChatMessage",
    "ChatModel",
    "ContextOverflowError",
    "Finished",
    "GenerationOptions",
    "LLMError",
    "ReasoningChunk",
    "TextChunk",
    "ToolCallChunk",
    "ToolCallRequest",
    "ToolSpec",
    "create_chat_model",
    "default_options",
    "fit_to_context",
]
