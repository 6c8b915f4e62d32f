"""The context-window budget: trim the prompt so the model never rejects it.

The prompt of a turn is the system prompt (with the retrieved document chunks
appended to it), the conversation history and the latest user message. It
must leave room for the answer: prompt tokens ≤ ``context_window -
max_new_tokens``. When it does not fit, :func:`fit_to_context` drops, in
this order, until it does:

1. the oldest history turns (a turn is a user message and the assistant and
   tool messages that answer it, so no answer or tool result is left
   without its question);
2. the retrieved chunks, lowest ranked first (they come best first);
3. as a last resort, the middle of an overlong latest user message.

The system prompt and the latest user message are always kept; a system
prompt that alone leaves no room raises :class:`ContextOverflowError`.

Tokens are counted with ``model.count_tokens`` — the backend's own tokenizer
for llama.cpp, an estimate for a remote server (see ``openai_compat``) — per
message, plus :data:`MESSAGE_OVERHEAD_TOKENS` for the role markers a prompt
format adds around each message (ChatML adds 5, the plain format 3) and
:data:`PROMPT_OVERHEAD_TOKENS` for BOS and the generation prompt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from june.inference.llm.base import ChatMessage, ChatModel, ContextOverflowError, ToolSpec

MESSAGE_OVERHEAD_TOKENS = 8
PROMPT_OVERHEAD_TOKENS = 8
DOCUMENTS_HEADER = "Passages from the user's documents (cite the source when you use one):"
TRUNCATION_MARK = "\n[…]\n"
#: Room always left for the latest user message (cut in the middle if longer).
MIN_USER_TOKENS = 16


def with_documents(system: str, documents: Sequence[str]) -> str:
    """The system prompt with the retrieved chunks appended (each already names its source)."""
    if not documents:
        return system
    chunks = "\n\n".join(documents)
    return (
        f"{system}\n\n{DOCUMENTS_HEADER}\n\n{chunks}"
        if system
        else f"{DOCUMENTS_HEADER}\n\n{chunks}"
    )


def message_tokens(model: ChatModel, message: ChatMessage) -> int:
    tokens = model.count_tokens(message.content) + MESSAGE_OVERHEAD_TOKENS
    for call in message.tool_calls:
        tokens += model.count_tokens(call.name + call.arguments_json) + MESSAGE_OVERHEAD_TOKENS
    return tokens


def tools_tokens(model: ChatModel, tools: Sequence[ToolSpec]) -> int:
    """What tool definitions cost (JSON in the prompt, natively or as text)."""
    if not tools:
        return 0
    specs = [
        {"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools
    ]
    return model.count_tokens(json.dumps(specs)) + 64  # + the protocol's instructions


def split_turns(history: Sequence[ChatMessage]) -> list[list[ChatMessage]]:
    """History in turns: each starts at a user message (leading others form their own)."""
    turns: list[list[ChatMessage]] = []
    for message in history:
        if message.role == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return turns


def fit_to_context(
    model: ChatModel,
    system: str,
    history: Sequence[ChatMessage],
    documents: Sequence[str],
    user: str,
    max_new_tokens: int,
    *,
    tools: Sequence[ToolSpec] = (),
) -> tuple[list[ChatMessage], int, int]:
    """``(messages, dropped_turns, dropped_chunks)`` that fit ``model.context_window``.

    ``history`` is the conversation before this turn, oldest first, without
    the system prompt; ``documents`` are the retrieved chunks, best first, as
    they should read in the prompt. ``messages`` is ``[system + documents,
    *history kept, user]`` (no system message when both are empty).
    """
    limit = model.context_window - max_new_tokens - PROMPT_OVERHEAD_TOKENS
    fixed = tools_tokens(model, tools) + MESSAGE_OVERHEAD_TOKENS  # the system message's markers
    system_tokens = model.count_tokens(system) if system else 0
    header_tokens = model.count_tokens(DOCUMENTS_HEADER) + 2 if documents else 0
    user_tokens = message_tokens(model, ChatMessage("user", user))
    if fixed + system_tokens + MESSAGE_OVERHEAD_TOKENS + MIN_USER_TOKENS > limit:
        raise ContextOverflowError(
            f"the system prompt ({system_tokens} tokens) leaves no room in a context of "
            f"{model.context_window} tokens with {max_new_tokens} tokens for the answer"
        )
    doc_tokens = [model.count_tokens(d) + 2 for d in documents]
    turns = split_turns(history)
    turn_tokens = [sum(message_tokens(model, m) for m in turn) for turn in turns]

    def total() -> int:
        docs = header_tokens + sum(doc_tokens) if doc_tokens else 0
        return fixed + system_tokens + docs + sum(turn_tokens) + user_tokens

    dropped_turns = dropped_chunks = 0
    while total() > limit and turns:
        turns.pop(0)
        turn_tokens.pop(0)
        dropped_turns += 1
    kept_docs = list(documents)
    while total() > limit and kept_docs:
        kept_docs.pop()
        doc_tokens.pop()
        dropped_chunks += 1
    if total() > limit:
        room = limit - (total() - user_tokens) - MESSAGE_OVERHEAD_TOKENS
        user = truncate_to_tokens(model, user, room)

    messages: list[ChatMessage] = []
    system_text = with_documents(system, kept_docs)
    if system_text:
        messages.append(ChatMessage("system", system_text))
    messages += [m for turn in turns for m in turn]
    messages.append(ChatMessage("user", user))
    return messages, dropped_turns, dropped_chunks


def truncate_to_tokens(model: ChatModel, text: str, max_tokens: int) -> str:
    """``text`` cut in the middle (start and end kept, ``[…]`` between) to ``max_tokens``."""
    if model.count_tokens(text) <= max_tokens:
        return text
    low, high = 0, len(text)  # characters kept: binary search for the most that fit
    while low < high:
        mid = (low + high + 1) // 2
        if model.count_tokens(_cut(text, mid)) <= max_tokens:
            low = mid
        else:
            high = mid - 1
    return _cut(text, low)


def _cut(text: str, keep: int) -> str:
    head = (keep + 1) // 2
    return text[:head] + TRUNCATION_MARK + text[len(text) - (keep - head) :]
