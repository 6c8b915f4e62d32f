"""llama.cpp in-process (llama-cpp-python): the default backend, with the bundled Gemma GGUF.

One ``Llama`` per process, loaded once. Generation is blocking C code, so it
runs in a worker thread that hands text to the event loop through a queue;
requests take turns on the model (a lock: one context, one sequence). The
worker checks for cancellation after every token, so setting ``cancel``,
closing the stream or cancelling the consuming task stops it at the next
token and frees the model for the next request.

Prompts are rendered by ``prompting`` (the format from
``JUNE_INFERENCE_LLM_PROMPT_FORMAT``; "auto" reads the GGUF's chat template)
and tokenized here, so token counts are exact. A prompt that leaves less room
than ``max_tokens`` gets a shorter answer (reason "length"), never an error;
``budget.fit_to_context`` is what keeps prompts in the window.

Run as a module, this file is ``python -m llama_cpp.server`` with June's
model loading (see ``llm_cpu_repack``) and June's prompt formats registered
as chat formats ``june-plain``, ``june-chatml``, ``june-gemma``, so a
llama.cpp server answers exactly as the in-process backend does::

    python -m june.inference.llm.llama_cpp --model M.gguf --chat_format june-plain --port 8080
"""

from __future__ import annotations

import asyncio
import codecs
import ctypes
import os
import random
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from june.inference.llm.base import (
    BackendError,
    BackendUnavailableError,
    ChatEvent,
    ChatMessage,
    ContextOverflowError,
    Finished,
    FinishReason,
    GenerationOptions,
    ToolSpec,
    queue_items,
)
from june.inference.llm.prompting import (
    JinjaTemplate,
    RenderedPrompt,
    StopScanner,
    render,
    resolve_format,
)
from june.inference.llm.thinking import ReplySplitter

if TYPE_CHECKING:
    from llama_cpp import Llama

_LOAD_LOCK = threading.Lock()


def default_threads() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


def cpu_has_amx() -> bool:
    try:
        with open("/proc/cpuinfo") as info:
            return any("amx_int8" in line for line in info if line.startswith("flags"))
    except OSError:
        return False


def repack_enabled(setting: str) -> bool:
    """Whether to use ggml's extra CPU buffers; "auto": not where AMX is (it crashes there)."""
    return setting == "on" or (setting == "auto" and not cpu_has_amx())


def disable_cpu_repack() -> Callable[[], None]:
    """Load models without ggml's extra CPU buffer types; returns the undo.

    llama-cpp-python has no argument for ``llama_model_params.use_extra_bufts``,
    so its default params are wrapped. On a Xeon with AMX, ggml's AMX matmul
    segfaults on the first decode of the bundled Gemma GGUF (seen with
    llama-cpp-python 0.3.36); plain CPU buffers are correct and about as fast.
    """
    import llama_cpp.llama_cpp as capi

    original = capi.llama_model_default_params

    def params() -> Any:
        value = original()
        value.use_extra_bufts = False
        return value

    capi.llama_model_default_params = params

    def undo() -> None:
        capi.llama_model_default_params = original

    return undo


def load_llama(path: Path, *, n_ctx: int, n_threads: int = 0, cpu_repack: str = "auto") -> Llama:
    from llama_cpp import Llama

    threads = n_threads or default_threads()
    with _LOAD_LOCK:
        undo = None if repack_enabled(cpu_repack) else disable_cpu_repack()
        try:
            return Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        finally:
            if undo is not None:
                undo()


@dataclass
class _Job:
    tokens: list[int]
    max_new: int
    options: GenerationOptions
    stops: tuple[str, ...]
    generated: int = 0


@dataclass(frozen=True)
class _Done:
    reason: FinishReason
    completion_tokens: int


class LlamaCppModel:
    """:class:`~june.inference.llm.base.ChatModel` on a local GGUF."""

    supports_native_tools = False

    def __init__(self, llama: Llama, *, name: str, prompt_format: str = "auto") -> None:
        import llama_cpp

        self._llama = llama
        self._api = llama_cpp
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self.name = name
        self.context_window = llama.n_ctx()
        template = llama.metadata.get("tokenizer.chat_template")
        self.chat_template_in_gguf = bool(template)
        self.prompt_format = resolve_format(prompt_format, template)
        # Template formats spell their control tokens as text; the plain format has none,
        # so there "<eos>" typed by a user stays text rather than ending the prompt.
        self._special = self.prompt_format != "plain"
        self._template = None
        if self.prompt_format == "jinja" and template:
            self._template = JinjaTemplate(
                template,
                bos_token=self._piece(llama.token_bos()),
                eos_token=self._piece(llama.token_eos()),
            )
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int = 0,
        prompt_format: str = "auto",
        cpu_repack: str = "auto",
    ) -> LlamaCppModel:
        llama = load_llama(path, n_ctx=n_ctx, n_threads=n_threads, cpu_repack=cpu_repack)
        return cls(llama, name=name or path.stem, prompt_format=prompt_format)

    def count_tokens(self, text: str) -> int:
        encoded = text.encode("utf-8")
        return len(self._llama.tokenize(encoded, add_bos=False, special=self._special))

    @property
    def tokens_in_context(self) -> int:
        """Tokens llama.cpp evaluated for the last request (prompt + answer), for tests."""
        return int(self._llama.n_tokens)

    def render(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] = ()
    ) -> RenderedPrompt:
        return render(self.prompt_format, messages, tools, self._template)

    def tokenize_prompt(self, prompt: str) -> list[int]:
        """Prompt tokens, with BOS unless the rendered template already starts with it."""
        tokens = self._llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=self._special)
        bos = self._llama.token_bos()
        if len(tokens) > 1 and tokens[0] == bos and tokens[1] == bos:
            tokens = tokens[1:]
        return tokens

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        tools: Sequence[ToolSpec] = (),
        cancel: threading.Event | None = None,
    ) -> AsyncIterator[ChatEvent]:
        if self._closed:
            raise BackendUnavailableError(f"the model {self.name} is closed")
        rendered = self.render(messages, tools)
        tokens = self.tokenize_prompt(rendered.text)
        room = self.context_window - len(tokens)
        if room < 1:
            raise ContextOverflowError(
                f"prompt of {len(tokens)} tokens does not fit the context of "
                f"{self.context_window} tokens"
            )
        job = _Job(tokens, min(options.max_tokens, room), options, rendered.stop + options.stop)
        splitter = ReplySplitter(
            starts_in_thinking=rendered.starts_in_thinking, tool_protocol=bool(tools)
        )
        queue: asyncio.Queue[Any] = asyncio.Queue()
        halt = threading.Event()
        worker = threading.Thread(
            target=self._work,
            args=(job, queue, asyncio.get_running_loop(), halt, cancel),
            name="june-llm-generate",
            daemon=True,
        )
        worker.start()
        done: _Done | None = None
        try:
            async for item in queue_items(queue, cancel):
                if isinstance(item, _Done):
                    done = item
                elif isinstance(item, BaseException):
                    raise item
                else:
                    for event in splitter.feed(item):
                        yield event
        finally:
            halt.set()  # consumer gone, task cancelled or cancel seen: stop at the next token
        if done is None or done.reason == "cancelled":
            yield Finished("cancelled", len(tokens), job.generated)
            return
        for event in splitter.finish():
            yield event
        reason = "tool_calls" if splitter.tool_calls and done.reason == "stop" else done.reason
        yield Finished(reason, len(tokens), done.completion_tokens)

    def _work(
        self,
        job: _Job,
        queue: asyncio.Queue[Any],
        loop: asyncio.AbstractEventLoop,
        halt: threading.Event,
        cancel: threading.Event | None,
    ) -> None:
        def put(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the consumer's loop is closed: nobody listens
                halt.set()

        def stopped() -> bool:
            return halt.is_set() or (cancel is not None and cancel.is_set())

        try:
            with self._lock:
                if self._closed:
                    put(BackendUnavailableError(f"the model {self.name} is closed"))
                elif stopped():
                    put(_Done("cancelled", 0))
                else:
                    put(self._generate(job, put, stopped))
        except Exception as exc:
            put(BackendError(f"llama.cpp generation failed: {exc}"))
        finally:
            put(None)

    def _generate(
        self, job: _Job, put: Callable[[object], None], stopped: Callable[[], bool]
    ) -> _Done:
        llama, options = self._llama, job.options
        llama.set_seed(options.seed if options.seed is not None else random.getrandbits(31))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        scanner = StopScanner(job.stops)
        reason: FinishReason = "length"
        # llama.cpp's own sampling chain: top-k 40, top-p, min-p 0.05, temperature (0: greedy).
        tokens = llama.generate(
            job.tokens, temp=options.temperature, top_p=options.top_p, repeat_penalty=1.0
        )
        try:
            for token in tokens:
                if self._api.llama_vocab_is_eog(self._vocab, token):
                    reason = "stop"
                    break
                job.generated += 1
                text = scanner.feed(decoder.decode(self._piece_bytes(token)))
                if text:
                    put(text)
                if scanner.stopped:
                    reason = "stop"
                    break
                if stopped():
                    return _Done("cancelled", job.generated)
                if job.generated >= job.max_new:
                    break
        finally:
            tokens.close()
        tail = scanner.feed(decoder.decode(b"", final=True)) + scanner.flush()
        if tail:
            put(tail)
        return _Done(reason, job.generated)

    def _piece_bytes(self, token: int) -> bytes:
        size = 64
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = self._api.llama_token_to_piece(self._vocab, token, buffer, size, 0, False)
            if n >= 0:
                return buffer.raw[:n]
            size = -n

    def _piece(self, token: int) -> str:
        buffer = ctypes.create_string_buffer(256)
        n = self._api.llama_token_to_piece(self._vocab, token, buffer, 256, 0, True)
        return buffer.raw[: max(n, 0)].decode("utf-8", errors="replace")

    async def aclose(self) -> None:
        """Wait for a running generation to let go of the model, then free it."""
        await asyncio.to_thread(self._lock.acquire)
        try:
            if not self._closed:
                self._closed = True
                self._llama.close()
        finally:
            self._lock.release()


# --- python -m june.inference.llm.llama_cpp: llama-cpp-python's server, June's way ---------


def _register_chat_formats() -> None:
    from llama_cpp import llama_chat_format

    for name in ("plain", "chatml", "gemma"):

        def formatter(*, messages: list[dict[str, Any]], _fmt: str = name, **_: Any) -> Any:
            chat = [ChatMessage(m["role"], _content(m.get("content"))) for m in messages]
            rendered = render(_fmt, chat)  # type: ignore[arg-type]
            return llama_chat_format.ChatFormatterResponse(rendered.text, list(rendered.stop))

        llama_chat_format.register_chat_format(f"june-{name}")(formatter)


def _content(content: object) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def serve(argv: list[str]) -> None:
    """``llama_cpp.server``'s main; ``--cpu_repack auto|on|off`` is June's own option."""
    repack = "auto"
    if "--cpu_repack" in argv:
        index = argv.index("--cpu_repack")
        repack = argv[index + 1]
        del argv[index : index + 2]
    if not repack_enabled(repack):
        disable_cpu_repack()
    _register_chat_formats()
    from llama_cpp.server.__main__ import main

    sys.argv = [sys.argv[0], *argv]
    main()


if __name__ == "__main__":
    serve(sys.argv[1:])
