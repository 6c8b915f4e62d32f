"""Any OpenAI-compatible server by URL: vLLM, llama.cpp's server, Ollama.

Streams ``POST {url}/chat/completions`` (server-sent events, ``stream: true``,
``stream_options.include_usage``) with httpx. Reasoning arrives either as
``reasoning_content`` / ``reasoning`` deltas (vLLM with a reasoning parser,
llama.cpp's server, Ollama) or as ``<think>`` tags in the content; both
become :class:`ReasoningChunk`. Tools go natively (``tools``, streamed
``tool_calls`` deltas) unless ``JUNE_INFERENCE_LLM_NATIVE_TOOLS=false``, then
as ``prompting``'s text protocol.

The server's tokenizer is not reachable synchronously, so :meth:`count_tokens`
estimates: one token per :data:`BYTES_PER_TOKEN` bytes of UTF-8, rounded up —
on the safe side for English (≈4 characters per token with Qwen, Llama and
Gemma tokenizers) and about one token per character for CJK. Usage comes from
the server's last chunk; a server that sends none (llama-cpp-python) or a
cancelled stream gets estimates (the prompt by ``count_tokens``, one token
per delta).

Errors: connection refused or a timeout → :class:`BackendUnavailableError`
naming the URL; a 4xx → :class:`BackendError` with the server's own message;
503 → unavailable. Cancellation closes the HTTP stream, which makes vLLM and
llama.cpp abort the request.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from june.inference.llm.base import (
    BackendError,
    BackendUnavailableError,
    ChatEvent,
    ChatMessage,
    Finished,
    FinishReason,
    GenerationOptions,
    ToolCallChunk,
    ToolCallRequest,
    ToolSpec,
    queue_items,
)
from june.inference.llm.prompting import new_call_id, with_text_tools
from june.inference.llm.thinking import ReplySplitter

BYTES_PER_TOKEN = 3
CONNECT_TIMEOUT_S = 10.0
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "tool_calls": "tool_calls"}


def api_base(url: str) -> str:
    """``http://host:port`` or ``…/v1`` → the ``/v1`` base every request goes under."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


class OpenAICompatModel:
    """:class:`~june.inference.llm.base.ChatModel` over HTTP."""

    def __init__(
        self,
        url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        context_window: int = 4096,
        native_tools: bool = True,
        starts_in_thinking: bool = False,
        timeout_s: float = 120.0,
    ) -> None:
        self.url = api_base(url)
        self._model = model
        self.name = model or self.url
        self.context_window = context_window
        self.supports_native_tools = native_tools
        self.starts_in_thinking = starts_in_thinking
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))
        self._client = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout)

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def model_name(self) -> str:
        """The configured model, or the first one the server lists (asked once)."""
        if self._model is None:
            data = await self._request("GET", "/models")
            models = data.get("data") or []
            if not models:
                raise BackendError(f"LLM server at {self.url} lists no models")
            self._model = str(models[0]["id"])
            self.name = self._model
        return self._model

    def request_body(
        self,
        model: str,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        tools: Sequence[ToolSpec],
    ) -> dict[str, Any]:
        if self.supports_native_tools:
            wire = [_wire_message(m) for m in messages]
        else:
            wire = [
                {"role": m.role, "content": m.content} for m in with_text_tools(messages, tools)
            ]
        body: dict[str, Any] = {
            "model": model,
            "messages": wire,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
        }
        if options.stop:
            body["stop"] = list(options.stop)
        if options.seed is not None:
            body["seed"] = options.seed
        if tools and self.supports_native_tools:
            body["tools"] = [_wire_tool(t) for t in tools]
        return body

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        tools: Sequence[ToolSpec] = (),
        cancel: threading.Event | None = None,
    ) -> AsyncIterator[ChatEvent]:
        body = self.request_body(await self.model_name(), messages, options, tools)
        splitter = ReplySplitter(
            starts_in_thinking=self.starts_in_thinking,
            tool_protocol=bool(tools) and not self.supports_native_tools,
        )
        prompt_estimate = sum(estimate_tokens(m.content) + 4 for m in messages)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        reader = asyncio.create_task(self._read(body, queue))
        calls: dict[int, dict[str, str]] = {}
        deltas = 0
        finish: str | None = None
        usage: dict[str, Any] | None = None
        try:
            async for item in queue_items(queue, cancel):
                if isinstance(item, BaseException):
                    raise item
                if item.get("usage"):
                    usage = item["usage"]
                for choice in item.get("choices") or []:
                    delta = choice.get("delta") or {}
                    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                    content = delta.get("content")
                    deltas += bool(reasoning or content or delta.get("tool_calls"))
                    for event in splitter.feed_reasoning(reasoning or ""):
                        yield event
                    for event in splitter.feed(content or ""):
                        yield event
                    for call in delta.get("tool_calls") or []:
                        _merge_call(calls, call)
                    finish = choice.get("finish_reason") or finish
        finally:
            reader.cancel()  # closes the HTTP stream: the server stops generating
        if cancel is not None and cancel.is_set() and finish is None:
            yield Finished("cancelled", prompt_estimate, deltas)
            return
        for event in splitter.finish():
            yield event
        for index in sorted(calls):
            yield ToolCallChunk(_call_request(calls[index]))
        reason = _FINISH.get(finish or "stop", "stop")
        if calls or splitter.tool_calls:
            reason = "tool_calls"
        prompt = int(usage["prompt_tokens"]) if usage else prompt_estimate
        completion = int(usage.get("completion_tokens") or 0) if usage else deltas
        yield Finished(reason, prompt, completion)

    async def _read(self, body: dict[str, Any], queue: asyncio.Queue[Any]) -> None:
        """SSE chunks onto ``queue`` (parsed JSON), then ``None``; an error as the exception.

        A connection that breaks before the first chunk is retried once on a new
        one: a server may close a kept-alive connection just as it is reused
        (llama-cpp-python does, and even answers on it, after an aborted stream).
        Nothing reached the consumer yet, so asking again is safe.
        """
        try:
            for attempt in (1, 2):
                sent = [0]
                try:
                    await self._read_once(body, queue, sent)
                    break
                except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                    if attempt == 2 or sent[0]:
                        raise
        except asyncio.CancelledError:
            raise
        except BackendError as exc:
            queue.put_nowait(exc)
        except httpx.HTTPError as exc:
            queue.put_nowait(self._transport_error(exc))
        except json.JSONDecodeError as exc:
            queue.put_nowait(BackendError(f"LLM server at {self.url} sent a bad event: {exc}"))
        queue.put_nowait(None)

    async def _read_once(
        self, body: dict[str, Any], queue: asyncio.Queue[Any], sent: list[int]
    ) -> None:
        async with self._client.stream("POST", "/chat/completions", json=body) as response:
            if response.status_code >= 400:
                await response.aread()
                raise self._http_error(response)
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                chunk = json.loads(data)
                if "error" in chunk:  # an error after the stream began
                    raise BackendError(f"LLM server at {self.url}: {_error_text(chunk)}")
                queue.put_nowait(chunk)
                sent[0] += _has_payload(chunk)
        # No [DONE]: e.g. llama-cpp-python when the prompt overflows its context.
        raise BackendError(
            f"LLM server at {self.url} closed the stream before it finished (its log says why)"
        )

    async def _request(self, method: str, path: str) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        if response.status_code >= 400:
            raise self._http_error(response)
        return dict(response.json())

    def _transport_error(self, exc: httpx.HTTPError) -> BackendError:
        if isinstance(exc, httpx.TimeoutException):
            return BackendUnavailableError(
                f"LLM server unavailable at {self.url}: no answer in time"
            )
        if isinstance(exc, httpx.TransportError):
            reason = str(exc) or type(exc).__name__
            return BackendUnavailableError(f"LLM server unavailable at {self.url}: {reason}")
        return BackendError(f"LLM server at {self.url}: {exc}")

    def _http_error(self, response: httpx.Response) -> BackendError:
        try:
            message = _error_text(response.json())
        except ValueError:
            message = response.text.strip() or response.reason_phrase
        status = response.status_code
        text = f"LLM server at {self.url} answered {status}: {message}"
        if status in (502, 503, 504):
            return BackendUnavailableError(text, status)
        return BackendError(text, status)

    async def aclose(self) -> None:
        await self._client.aclose()


def _has_payload(chunk: dict[str, Any]) -> bool:
    """More than the opening ``{"role": "assistant"}`` delta: something the consumer saw."""
    return any((c.get("delta") or {}).keys() - {"role"} for c in chunk.get("choices") or [])


def _error_text(data: Any) -> str:
    """The message of an OpenAI (``error.message``), FastAPI (``detail``) or plain error body."""
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            if "message" in error:
                return str(error["message"])
            if "detail" in error:
                detail = error["detail"]
                if isinstance(detail, list):  # FastAPI validation errors
                    return "; ".join(
                        f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail
                    )
                return str(detail)
        return str(error)
    return str(data)


def _wire_message(message: ChatMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        wire["content"] = message.content or None
        wire["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_json},
            }
            for c in message.tool_calls
        ]
    if message.role == "tool":
        wire["tool_call_id"] = message.tool_call_id or ""
        if message.name:
            wire["name"] = message.name
    return wire


def _wire_tool(tool: ToolSpec) -> dict[str, Any]:
    parameters = tool.parameters or {"type": "object", "properties": {}}
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": parameters},
    }


def _merge_call(calls: dict[int, dict[str, str]], delta: dict[str, Any]) -> None:
    """Accumulate a streamed ``tool_calls`` delta (id and name once, arguments in pieces)."""
    entry = calls.setdefault(
        int(delta.get("index", len(calls))), {"id": "", "name": "", "arguments": ""}
    )
    if delta.get("id"):
        entry["id"] = delta["id"]
    function = delta.get("function") or {}
    if function.get("name"):
        entry["name"] += function["name"]
    if function.get("arguments"):
        entry["arguments"] += function["arguments"]


def _call_request(entry: dict[str, str]) -> ToolCallRequest:
    return ToolCallRequest(
        id=entry["id"] or new_call_id(),
        name=entry["name"],
        arguments_json=entry["arguments"] or "{}",
    )
