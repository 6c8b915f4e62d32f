"""LLM backends on the real bundled model: llama.cpp in-process and a real OpenAI-compatible server.

The server is llama-cpp-python's own (``python -m llama_cpp.server``, started
through ``june.inference.llm.llama_cpp`` so it loads the model as June does
and renders June's plain prompt format) on a free loopback port, with the
same Gemma 3 270M GGUF, talked to over real HTTP and SSE.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from june.inference.bench import LlamaServer
from june.inference.llm import (
    BackendError,
    BackendUnavailableError,
    ChatEvent,
    ChatMessage,
    ContextOverflowError,
    Finished,
    GenerationOptions,
    TextChunk,
    ToolCallRequest,
    ToolSpec,
    create_chat_model,
    fit_to_context,
)
from june.inference.llm.llama_cpp import LlamaCppModel
from june.inference.llm.openai_compat import OpenAICompatModel
from june.infra.ports import free_port
from june.models.resolve import resolve_model
from june.settings import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.timeout(120)

N_CTX = 2048
API_KEY = "june-test-key"
SYSTEM = "You are June, a helpful voice assistant. Answer briefly."
FRANCE = [ChatMessage("system", SYSTEM), ChatMessage("user", "What is the capital of France?")]
STORY = [ChatMessage("user", "Tell me a very long story about a dragon who learns to sing.")]
# The bundled base model ends most answers after a sentence; this one it goes on with for
# hundreds of tokens (10+ s on two cores), so a stop within a few tokens is the cancel's doing.
COUNT = [
    ChatMessage("user", "Count to 100."),
    ChatMessage("assistant", ", ".join(str(i) for i in range(1, 101)) + "."),
    ChatMessage("user", "Count to 100 again."),
]
LONG = GenerationOptions(max_tokens=1000, temperature=0.0)
GREEDY = GenerationOptions(max_tokens=24, temperature=0.0)
WORKER = "june-llm-generate"


@pytest.fixture(scope="module")
def llm_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("june-llm"), inference={"llm_context_size": N_CTX})


@pytest.fixture(scope="module")
def gguf(llm_settings: Settings) -> Path:
    return resolve_model(llm_settings, llm_settings.inference.llm_model, "llm")


@pytest.fixture(scope="module")
async def gemma(llm_settings: Settings, gguf: Path) -> AsyncIterator[LlamaCppModel]:
    model = create_chat_model(llm_settings)
    assert isinstance(model, LlamaCppModel)
    yield model
    await model.aclose()


@pytest.fixture(scope="module")
def server(gguf: Path) -> Iterator[LlamaServer]:
    with LlamaServer(gguf, n_ctx=N_CTX, api_key=API_KEY, chat_format="june-plain") as running:
        yield running


@pytest.fixture
async def remote(server: LlamaServer) -> AsyncIterator[OpenAICompatModel]:
    # The URL without /v1, as an operator may write it: the backend adds it.
    model = OpenAICompatModel(server.url.removesuffix("/v1"), api_key=API_KEY, context_window=N_CTX)
    yield model
    await model.aclose()


async def collect(events: AsyncIterator[ChatEvent]) -> tuple[str, list[ChatEvent]]:
    out = [event async for event in events]
    return "".join(e.text for e in out if isinstance(e, TextChunk)), out


def finished(events: Sequence[ChatEvent]) -> Finished:
    assert isinstance(events[-1], Finished)
    assert sum(isinstance(e, Finished) for e in events) == 1
    return events[-1]


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER]


async def wait_for_workers(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while workers() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert not workers(), "the generation thread did not end"


# --- llama.cpp in-process ---------------------------------------------------------------


def test_bundled_gemma_has_no_chat_template_so_auto_is_plain(gemma: LlamaCppModel) -> None:
    assert not gemma.chat_template_in_gguf
    assert gemma.prompt_format == "plain"
    assert gemma.context_window == N_CTX
    assert not gemma.supports_native_tools
    assert gemma.count_tokens("hello world") == 2


async def test_llama_streams_text_deltas(gemma: LlamaCppModel) -> None:
    text, events = await collect(gemma.stream(FRANCE, GREEDY))
    chunks = [e for e in events if isinstance(e, TextChunk)]
    assert "Paris" in text
    assert len(chunks) > 3 and all(c.text for c in chunks)
    assert text == text.strip() and "User:" not in text
    done = finished(events)
    assert done.reason == "stop"
    assert done.prompt_tokens == len(gemma.tokenize_prompt(gemma.render(FRANCE).text))
    assert done.completion_tokens >= len(chunks)


async def test_llama_greedy_and_seeded_sampling_repeat(gemma: LlamaCppModel) -> None:
    first, _ = await collect(gemma.stream(FRANCE, GREEDY))
    again, _ = await collect(gemma.stream(FRANCE, GREEDY))
    assert first == again
    seeded = GenerationOptions(max_tokens=16, temperature=0.9, seed=7)
    one, _ = await collect(gemma.stream(STORY, seeded))
    two, _ = await collect(gemma.stream(STORY, seeded))
    assert one and one == two


async def test_llama_stop_sequences(gemma: LlamaCppModel) -> None:
    full, _ = await collect(gemma.stream(FRANCE, GREEDY))
    assert "Paris" in full
    options = GenerationOptions(max_tokens=24, temperature=0.0, stop=("Paris",))
    text, events = await collect(gemma.stream(FRANCE, options))
    assert text == full[: full.index("Paris")].strip()
    assert finished(events).reason == "stop"


async def test_llama_max_tokens_means_length(gemma: LlamaCppModel) -> None:
    options = GenerationOptions(max_tokens=5, temperature=0.0)
    _, events = await collect(gemma.stream(COUNT, options))
    done = finished(events)
    assert (done.reason, done.completion_tokens) == ("length", 5)


async def test_llama_cancel_event_stops_generation(gemma: LlamaCppModel) -> None:
    cancel = threading.Event()
    events: list[ChatEvent] = []
    async for event in gemma.stream(COUNT, LONG, cancel=cancel):
        events.append(event)
        if len(events) == 3:
            cancel.set()
    done = finished(events)
    assert done.reason == "cancelled"
    assert len(events) == 4  # nothing but Finished after the cancel
    await wait_for_workers()
    assert gemma.tokens_in_context - done.prompt_tokens < 20  # not the hundreds it would write
    text, after = await collect(gemma.stream(FRANCE, GREEDY))  # the model is free and sane
    assert "Paris" in text and finished(after).reason == "stop"


async def test_llama_closing_the_stream_or_cancelling_the_task_stops_it(
    gemma: LlamaCppModel,
) -> None:
    async with contextlib.aclosing(gemma.stream(COUNT, LONG)) as stream:
        async for event in stream:
            assert isinstance(event, TextChunk)
            break
    await wait_for_workers()
    prompt_tokens = len(gemma.tokenize_prompt(gemma.render(COUNT).text))
    assert gemma.tokens_in_context - prompt_tokens < 20

    first_text = asyncio.Event()

    async def consume() -> None:
        async for event in gemma.stream(COUNT, LONG):
            if isinstance(event, TextChunk):
                first_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for_workers()
    assert gemma.tokens_in_context - prompt_tokens < 20
    text, _ = await collect(gemma.stream(FRANCE, GREEDY))
    assert "Paris" in text


async def test_llama_prompt_trimmed_at_the_context_limit(gemma: LlamaCppModel) -> None:
    turn = "Tell me about the weather in a city you like, with many details. " * 6
    history: list[ChatMessage] = []
    for i in range(30):  # ~3,000 tokens of conversation in a 2,048-token window
        history += [
            ChatMessage("user", f"{i}: {turn}"),
            ChatMessage("assistant", f"It was sunny the day {i}."),
        ]
    documents = [f"[notes-{i}.md] " + "Paris is the capital of France. " * 20 for i in range(4)]
    question = "What is the capital of France?"
    untrimmed = [ChatMessage("system", SYSTEM), *history, ChatMessage("user", question)]
    with pytest.raises(ContextOverflowError, match="does not fit"):
        await collect(gemma.stream(untrimmed, GREEDY))

    max_new = 64
    messages, dropped_turns, dropped_chunks = fit_to_context(
        gemma, SYSTEM, history, documents, question, max_new
    )
    assert dropped_turns > 0 and dropped_chunks == 0
    assert messages[0].content.startswith(SYSTEM) and messages[-1].content == question
    assert messages[1].content.startswith(f"{dropped_turns}: ")  # the oldest turns went
    text, events = await collect(gemma.stream(messages, GenerationOptions(max_new, 0.0)))
    done = finished(events)
    assert text and done.reason in ("stop", "length")
    assert done.prompt_tokens <= N_CTX - max_new
    assert done.prompt_tokens > N_CTX // 2  # trimmed to fit, not emptied


# --- OpenAI-compatible backend against a real server ------------------------------------


async def test_openai_streams_text_and_usage(remote: OpenAICompatModel, gguf: Path) -> None:
    text, events = await collect(remote.stream(FRANCE, GREEDY))
    chunks = [e for e in events if isinstance(e, TextChunk)]
    assert "Paris" in text and len(chunks) > 3
    assert remote.name == str(gguf)  # discovered from /v1/models
    done = finished(events)
    assert done.reason == "stop"
    assert done.prompt_tokens > 10 and done.completion_tokens >= len(chunks) - 1


async def test_openai_cancel_closes_the_stream_and_the_server_still_answers(
    remote: OpenAICompatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []  # SSE events read from the server, per HTTP response
    aiter_lines = httpx.Response.aiter_lines

    async def counted(response: httpx.Response) -> AsyncIterator[str]:
        read.append(0)
        index = len(read) - 1
        async for line in aiter_lines(response):
            read[index] += line.startswith("data:")
            yield line

    monkeypatch.setattr(httpx.Response, "aiter_lines", counted)
    cancel = threading.Event()
    events: list[ChatEvent] = []
    async for event in remote.stream(COUNT, LONG, cancel=cancel):
        events.append(event)
        if len(events) == 2:
            cancel.set()
    done = finished(events)
    assert done.reason == "cancelled"
    assert len(events) == 3  # nothing but Finished after the cancel
    assert done.completion_tokens < 10  # the deltas seen before the cancel

    async with contextlib.aclosing(remote.stream(COUNT, LONG)) as stream:
        async for _ in stream:
            break
    text, after = await collect(remote.stream(FRANCE, GREEDY))
    assert "Paris" in text and finished(after).reason == "stop"
    # Each of the two COUNT streams was closed where it was left, not read on to its
    # hundreds of tokens (not even in the background while the next requests ran).
    assert len(read) == 3 and max(read[:2]) < 20, read
    assert read[2] > 3  # the whole answer about France, to its end


async def test_openai_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for model_name in ("some-model", None):  # a request, and the model discovery
        model = OpenAICompatModel(url, model=model_name)
        with pytest.raises(BackendUnavailableError, match="LLM server unavailable at") as caught:
            await collect(model.stream(FRANCE, GREEDY))
        assert f"{url}/v1" in str(caught.value)
        await model.aclose()


async def test_openai_client_errors_carry_the_server_message(server: LlamaServer) -> None:
    intruder = OpenAICompatModel(server.url, model="gemma", api_key="wrong-key")
    with pytest.raises(BackendError, match="Invalid API key") as caught:
        await collect(intruder.stream(FRANCE, GREEDY))
    assert caught.value.status == 401
    assert not isinstance(caught.value, BackendUnavailableError)
    await intruder.aclose()

    model = OpenAICompatModel(server.url, model="gemma", api_key=API_KEY)
    bad = GenerationOptions(max_tokens=8, top_p=5.0)  # the server validates top_p <= 1
    with pytest.raises(BackendError, match="less than or equal to 1"):
        await collect(model.stream(FRANCE, bad))
    # Past the server's context, llama-cpp-python ends the stream early (and then drops
    # the kept-alive connection, which the next request must survive).
    overflow = [ChatMessage("user", "word " * 3000)]
    with pytest.raises(BackendError, match="closed the stream before it finished"):
        await collect(model.stream(overflow, GREEDY))
    text, _ = await collect(model.stream(FRANCE, GREEDY))
    assert "Paris" in text
    await model.aclose()


def test_openai_request_body_native_and_text_tools() -> None:
    tool = ToolSpec("calculator", "Arithmetic.", {"type": "object", "properties": {}})
    call = ToolCallRequest("call_9", "calculator", '{"expression": "6*7"}')
    messages = [
        *FRANCE,
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", "42", name="calculator", tool_call_id="call_9"),
    ]
    options = GenerationOptions(max_tokens=8, stop=("\n",), seed=5)
    native = OpenAICompatModel("http://127.0.0.1:1/v1/", model="m")
    body = native.request_body("m", messages, options, [tool])
    assert native.url == "http://127.0.0.1:1/v1"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["stop"], body["seed"], body["max_tokens"]) == (["\n"], 5, 8)
    assert body["tools"][0]["function"]["name"] == "calculator"
    assert body["messages"][2]["tool_calls"][0]["id"] == "call_9"
    assert body["messages"][3] == {
        "role": "tool",
        "content": "42",
        "tool_call_id": "call_9",
        "name": "calculator",
    }
    text_only = OpenAICompatModel("http://127.0.0.1:1", model="m", native_tools=False)
    body = text_only.request_body("m", messages, options, [tool])
    assert "tools" not in body
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert "<tool_call>" in body["messages"][2]["content"]


# --- june bench llm -----------------------------------------------------------------------


def test_bench_llm_json(llm_settings: Settings, gguf: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUNE_")}
    env.update(JUNE_DATA_DIR=str(llm_settings.data_dir), JUNE_INFERENCE_LLM_CONTEXT_SIZE="2048")
    args = ["--json", "--repeats", "2", "--max-tokens", "16", "--no-llama-server"]
    done = subprocess.run(
        [sys.executable, "-m", "june", "bench", "llm", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["model"] == "gemma-3-270m-q4_k_m" and report["repeats"] == 2
    assert report["max_tokens"] == 16
    # both paths ran and wrote an answer: the backend directly, and gRPC Chat through the
    # inference service (in-process here)
    assert report["service"] == "gRPC Chat, in-process"
    direct, service = report["direct"], report["service_detail"]
    assert 1 < direct["completion_tokens"] <= 16
    # greedy with a fixed seed: the service path writes the same answer as the backend
    assert service["completion_tokens"] == direct["completion_tokens"]
    for path in (direct, service):
        assert 0 < path["ttft_s"] <= path["total_s"] and path["tokens_per_s"] > 0
    for key in ("ttft_s", "tokens_per_s"):  # the headline figures are the paths' own
        assert report[f"direct_{key}"] == direct[key] and report[key] == service[key]
    assert report["overhead_ratio_ttft"] == report["ttft_s"] / report["direct_ttft_s"]
    assert "llama_server" not in report  # --no-llama-server
