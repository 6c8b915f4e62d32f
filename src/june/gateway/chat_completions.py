"""OpenAI's chat completion request and response shapes, over June's ``Chat`` RPC.

Memory: OpenAI's API is stateless — the client sends the whole conversation
each time — and so is this one by default (the request is ``ephemeral``:
nothing is stored). A request that names a June conversation
(``"conversation_id": "<id>"`` in the body, or the ``X-June-Conversation-Id``
header; ``"new"`` starts one) sends only its last user message: June holds the
history, continues the conversation and stores the turn, like a voice turn.

System (and ``developer``) messages replace June's own system prompt for the
request. Only text content is taken; an image or audio part is refused by name.
Client-side ``tools`` are not offered to the model (June runs its own tools on
the server), so ``tools``/``tool_choice`` are accepted and ignored.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from june.gateway.errors import ApiError, bad_request
from june.protos import llm_pb2

#: Ask for a new stored conversation.
NEW_CONVERSATION = "new"

_ROLES = {
    "system": llm_pb2.ROLE_SYSTEM,
    "developer": llm_pb2.ROLE_SYSTEM,
    "user": llm_pb2.ROLE_USER,
    "assistant": llm_pb2.ROLE_ASSISTANT,
    "tool": llm_pb2.ROLE_TOOL,
}
#: June's finish reasons → OpenAI's: a stop at the tool-round limit or by cancellation
#: still ends a normal answer.
_FINISH = {
    llm_pb2.FINISH_REASON_STOP: "stop",
    llm_pb2.FINISH_REASON_LENGTH: "length",
    llm_pb2.FINISH_REASON_TOOL_LIMIT: "stop",
    llm_pb2.FINISH_REASON_CANCELLED: "stop",
}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_call_id: str | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's request body; unknown fields (``logprobs``, ``tools`` …) are ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(None, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(1, ge=1)
    #: June: continue (or, with "new", start) a stored conversation.
    conversation_id: str | None = None
    #: June: search the user's documents / let the model use tools (default on, as in Chat).
    use_documents: bool | None = None
    use_tools: bool | None = None


def text_of(message: ChatMessageIn) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    parts = []
    for part in message.content:
        if part.type != "text":
            raise bad_request(f"content parts of type {part.type!r} are not supported; send text")
        parts.append(part.text or "")
    return "".join(parts)


def to_chat_request(
    body: ChatCompletionRequest, user_id: str, conversation: str | None
) -> llm_pb2.ChatRequest:
    """The ``Chat`` call for ``body``; ``conversation`` None: ephemeral, "": a new one."""
    if body.n != 1:
        raise bad_request("n must be 1: June writes one answer per request")
    system = [text_of(m) for m in body.messages if m.role in ("system", "developer")]
    turns = [m for m in body.messages if m.role not in ("system", "developer")]
    if not turns or turns[-1].role != "user" or not text_of(turns[-1]).strip():
        raise bad_request("the last message must be a non-empty user message")
    if conversation is not None:
        turns = turns[-1:]  # June holds the history of a stored conversation
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    if len(stop) > 4:
        raise bad_request("stop takes at most 4 sequences")
    options = llm_pb2.ChatOptions(
        max_tokens=body.max_completion_tokens or body.max_tokens or 0,
        stop=stop,
        system_prompt="\n\n".join(s for s in system if s.strip()),
    )
    for name in ("temperature", "top_p", "seed", "use_documents", "use_tools"):
        value = getattr(body, name)
        if value is not None:
            setattr(options, name, value)
    return llm_pb2.ChatRequest(
        user_id=user_id,
        conversation_id=conversation or "",
        messages=[
            llm_pb2.Message(
                role=_ROLES[m.role], content=text_of(m), tool_call_id=m.tool_call_id or ""
            )
            for m in turns
        ],
        options=options,
        ephemeral=conversation is None,
    )


def conversation_of(body: ChatCompletionRequest, header: str | None) -> str | None:
    """None (ephemeral), "" (a new stored conversation) or the id to continue."""
    given = (body.conversation_id or header or "").strip()
    if not given:
        return None
    if given.lower() == NEW_CONVERSATION:
        return ""
    try:
        return str(uuid.UUID(given))
    except ValueError:
        raise ApiError(404, "not_found", f"no conversation {given!r}") from None


@dataclass(frozen=True)
class Completion:
    """What every object of one response shares."""

    id: str
    created: int
    model: str
    conversation_id: str | None

    @classmethod
    def start(cls, model: str, conversation_id: str | None) -> Completion:
        return cls(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model, conversation_id)

    def _base(self, kind: str) -> dict[str, Any]:
        base: dict[str, Any] = {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
        }
        if self.conversation_id:
            base["conversation_id"] = self.conversation_id
        return base

    def whole(self, done: llm_pb2.ChatDone, text: str) -> dict[str, Any]:
        """The ``chat.completion`` object of a non-streaming request."""
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if done.reasoning:
            message["reasoning_content"] = done.reasoning
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": finish_reason(done),
        }
        return {**self._base("chat.completion"), "choices": [choice], "usage": usage(done)}

    def chunk(
        self, delta: dict[str, Any], finish: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**self._base("chat.completion.chunk"), "choices": [choice], **extra}

    def usage_chunk(self, done: llm_pb2.ChatDone) -> dict[str, Any]:
        """The extra last chunk of ``stream_options.include_usage``: no choices, the usage."""
        return {**self._base("chat.completion.chunk"), "choices": [], "usage": usage(done)}


def finish_reason(done: llm_pb2.ChatDone) -> str:
    return _FINISH.get(done.finish_reason, "stop")


def usage(done: llm_pb2.ChatDone) -> dict[str, int]:
    u = done.usage
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens or u.prompt_tokens + u.completion_tokens,
    }


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event line, as OpenAI streams them."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()
