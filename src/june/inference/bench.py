"""``june bench llm``: time to first token and tokens/s, through the service and directly.

The same prompt, options and repeats go through each path in the same run:

- **direct** — the :class:`~june.inference.llm.base.ChatModel` that
  ``create_chat_model(settings)`` builds, called in this process (llama.cpp
  in-process with the bundled GGUF by default): what the model costs by itself;
- **service** — a stream function the caller passes (the inference service over
  gRPC); the difference to direct is the service's overhead;
- **llama_server** (extra, a different thing) — llama-cpp-python's own
  OpenAI-compatible server, started here on a free loopback port with the same
  GGUF, threads and prompt format, read through June's OpenAI-compatible
  backend. It shows what an HTTP hop costs; its token counts are estimates
  (the server reports no usage when streaming: one token per delta), and its
  answers differ (the server samples with its default repeat penalty, 1.1).

Each run is one turn of a conversation: repeat *i* asks ``"Question i: PROMPT"``
after the same system prompt, so, as in a real conversation, the system
prompt is in llama.cpp's prefix cache and the new user message is evaluated.
Greedy decoding with a fixed seed makes the direct and service paths write
the same answer.
One untimed warm-up per path. Figures are medians.

- ``ttft_s``: from the call to the first answer or reasoning text;
- ``tokens_per_s``: completion tokens after the first, divided by the time
  from the first text to the end of the stream (decode speed).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from june.inference.llm.base import (
    ChatEvent,
    ChatMessage,
    Finished,
    GenerationOptions,
    ReasoningChunk,
    TextChunk,
)

StreamFn = Callable[[Sequence[ChatMessage], GenerationOptions], AsyncIterator[ChatEvent]]

SYSTEM_PROMPT = "You are June, a helpful voice assistant. Answer in a few sentences."
DEFAULT_PROMPT = "Tell me a short story about a lighthouse keeper and a storm."


@dataclass(frozen=True)
class Sample:
    ttft_s: float
    tokens_per_s: float
    completion_tokens: int
    total_s: float


def conversation(prompt: str, index: int) -> list[ChatMessage]:
    return [
        ChatMessage("system", SYSTEM_PROMPT),
        ChatMessage("user", f"Question {index + 1}: {prompt}"),
    ]


async def time_stream(
    stream: StreamFn, messages: Sequence[ChatMessage], options: GenerationOptions
) -> Sample:
    start = time.perf_counter()
    first: float | None = None
    finished: Finished | None = None
    async for event in stream(messages, options):
        if first is None and isinstance(event, TextChunk | ReasoningChunk) and event.text:
            first = time.perf_counter()
        if isinstance(event, Finished):
            finished = event
    end = time.perf_counter()
    if first is None or finished is None:
        raise RuntimeError("the model wrote nothing; use a prompt that gets an answer")
    decode_s = end - first
    tokens = finished.completion_tokens
    rate = (tokens - 1) / decode_s if tokens > 1 and decode_s > 0 else 0.0
    return Sample(first - start, rate, tokens, end - start)


async def measure(
    stream: StreamFn, prompt: str, options: GenerationOptions, repeats: int
) -> list[Sample]:
    await time_stream(stream, conversation(prompt, -1), options)  # warm-up, not timed
    return [await time_stream(stream, conversation(prompt, i), options) for i in range(repeats)]


def summarize(samples: list[Sample]) -> dict[str, float]:
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    return {
        "ttft_s": med([s.ttft_s for s in samples]),
        "tokens_per_s": med([s.tokens_per_s for s in samples]),
        "completion_tokens": med([float(s.completion_tokens) for s in samples]),
        "total_s": med([s.total_s for s in samples]),
    }


def ratio(service: float | None, direct: float | None) -> float | None:
    return service / direct if service is not None and direct else None


class LlamaServer:
    """llama-cpp-python's server on a free loopback port, as June starts it (a context manager).

    ``python -m june.inference.llm.llama_cpp`` is ``python -m llama_cpp.server``
    with June's model loading and prompt formats (``june-plain`` …).
    """

    def __init__(
        self,
        model: Path,
        *,
        n_ctx: int = 2048,
        n_threads: int = 0,
        chat_format: str | None = "june-plain",
        api_key: str | None = None,
        cpu_repack: str = "auto",
        start_timeout_s: float = 120.0,
    ) -> None:
        from june.inference.llm.llama_cpp import default_threads
        from june.infra.ports import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threads = str(n_threads or default_threads())
        self.command = [
            sys.executable, "-m", "june.inference.llm.llama_cpp",
            "--model", str(model), "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(n_ctx), "--n_threads", threads, "--n_threads_batch", threads,
            "--cpu_repack", cpu_repack,
        ]  # fmt: skip
        if chat_format:  # None: the GGUF's own chat template, read by the server
            self.command += ["--chat_format", chat_format]
        if api_key:
            self.command += ["--api_key", api_key]
        self.api_key = api_key
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="june-llama-server-", suffix=".log")  # noqa: SIM115

    def start(self) -> LlamaServer:
        self.process = subprocess.Popen(
            self.command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"llama.cpp server exited ({self.process.returncode}):\n{self.log()}"
                )
            try:
                if httpx.get(f"{self.url}/models", headers=headers, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"llama.cpp server did not answer in {self.start_timeout_s} s:\n{self.log()}"
        )

    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def run_bench(
    settings: Any,
    *,
    repeats: int = 5,
    prompt: str = DEFAULT_PROMPT,
    max_tokens: int = 64,
    service: StreamFn | None = None,
    service_label: str = "grpc",
    llama_server: bool = True,
) -> dict[str, Any]:
    """The report of ``june bench llm`` (see the module docstring for each figure)."""
    from june.inference.llm.factory import create_chat_model

    options = GenerationOptions(max_tokens=max_tokens, temperature=0.0, seed=1234)
    model = create_chat_model(settings)
    prompt_format = getattr(model, "prompt_format", None)  # llama.cpp's choice, for the server
    try:
        direct = summarize(await measure(model.stream, prompt, options, repeats))
    finally:
        await model.aclose()
    report: dict[str, Any] = {
        "model": model.name,
        "repeats": repeats,
        "max_tokens": max_tokens,
        "prompt": prompt,
        "service": service_label if service is not None else None,
        "ttft_s": None,
        "tokens_per_s": None,
        "direct_ttft_s": direct["ttft_s"],
        "direct_tokens_per_s": direct["tokens_per_s"],
        "direct": direct,
    }
    if service is not None:
        through = summarize(await measure(service, prompt, options, repeats))
        report.update(ttft_s=through["ttft_s"], tokens_per_s=through["tokens_per_s"])
        report["service_detail"] = through
    report["overhead_ratio_ttft"] = ratio(report["ttft_s"], direct["ttft_s"])
    report["overhead_ratio_tokens_per_s"] = ratio(report["tokens_per_s"], direct["tokens_per_s"])
    if llama_server and not settings.inference.llm_url:
        report["llama_server"] = await _llama_server(
            settings, prompt_format, prompt, options, repeats
        )
    return report


async def _llama_server(
    settings: Any,
    prompt_format: str | None,
    prompt: str,
    options: GenerationOptions,
    repeats: int,
) -> dict[str, Any]:
    from june.inference.llm.openai_compat import OpenAICompatModel
    from june.models.resolve import resolve_model

    config = settings.inference
    path = resolve_model(settings, config.llm_model, "llm")
    server = LlamaServer(
        path,
        n_ctx=config.llm_context_size,
        n_threads=config.llm_threads,
        chat_format=f"june-{prompt_format}" if prompt_format != "jinja" else None,
        cpu_repack=config.llm_cpu_repack,
    )
    with server:
        model = OpenAICompatModel(server.url, context_window=config.llm_context_size)
        try:
            samples = await measure(model.stream, prompt, options, repeats)
        finally:
            await model.aclose()
    summary = summarize(samples)
    return {
        "what": "llama-cpp-python's OpenAI-compatible server (HTTP, SSE) via June's "
        "OpenAI-compatible backend; tokens estimated as one per delta; the server's own "
        "sampling defaults (repeat penalty 1.1), so its answers differ",
        "ttft_s": summary["ttft_s"],
        "tokens_per_s": summary["tokens_per_s"],
        "detail": summary,
        "samples": [asdict(s) for s in samples],
    }
