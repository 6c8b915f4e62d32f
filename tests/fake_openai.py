"""A scripted OpenAI-compatible chat server on loopback, speaking the real streaming protocol.

It stands in for the production LLM (a 30B model on vLLM, which needs a GPU)
where a test needs the model to *decide* something — call a tool, answer from
a tool result — deterministically. The wire format is the real one:
``POST /v1/chat/completions`` with ``stream: true`` answered as server-sent
events of ``chat.completion.chunk`` objects, tool calls as incremental
``delta.tool_calls`` fragments, a usage chunk, then ``data: [DONE]``. Every
request body is recorded so a test can check what June sent (history,
documents, tool results).

The script: a user message containing "calculate" gets a ``calculator`` tool
call for the expression after it; "remember" gets a ``remember_fact`` call;
after a tool result the answer quotes it; anything else is answered with
"You said: <the message>".
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from june.infra.ports import free_port

MODEL = "scripted-gpt"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


def _text(text: str) -> Iterator[str]:
    yield _chunk({"role": "assistant", "content": ""})
    for word in re.findall(r"\S+\s*", text):
        yield _chunk({"content": word})
    yield _chunk({}, "stop")


def _tool_call(name: str, arguments: dict[str, Any]) -> Iterator[str]:
    encoded = json.dumps(arguments)
    half = len(encoded) // 2
    yield _chunk(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": name, "arguments": encoded[:half]},
                }
            ],
        }
    )
    yield _chunk({"tool_calls": [{"index": 0, "function": {"arguments": encoded[half:]}}]})
    yield _chunk({}, "tool_calls")


def reply(body: dict[str, Any]) -> Iterator[str]:
    last = body["messages"][-1]
    content = last.get("content") or ""
    if last["role"] == "tool":
        events = _text(f"The result is {content}.")
    elif "calculate" in content and body.get("tools"):
        expression = content.split("calculate", 1)[1].strip(" ?.")
        events = _tool_call("calculator", {"expression": expression})
    elif "remember" in content and body.get("tools"):
        events = _tool_call("remember_fact", {"fact": content.split("remember", 1)[1].strip(" .")})
    else:
        events = _text(f"You said: {content}")
    yield from events
    usage = {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}
    yield f"data: {json.dumps({'id': 'chatcmpl-1', 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> JSONResponse:
            return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> StreamingResponse:
            body = await request.json()
            self.requests.append(body)
            return StreamingResponse(reply(body), media_type="text/event-stream")

        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(5)
