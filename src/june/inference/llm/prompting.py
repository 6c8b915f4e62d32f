"""Model-specific prompt handling, in one place: chat messages → prompt text + stop sequences.

Formats (``JUNE_INFERENCE_LLM_PROMPT_FORMAT``):

- ``plain`` — for base models without a chat template, such as the bundled
  Gemma 3 270M (its GGUF has no ``tokenizer.chat_template``, and its
  ``<start_of_turn>`` tokens were never trained). A transcript a base model
  continues naturally::

      {system messages, joined by a blank line}

      User: {user}
      Assistant: {assistant}
      User: {latest user message}
      Assistant:

  Generation stops at ``PLAIN_STOPS``: the model starting the next ``User:``
  line, or a blank line — an answer is one paragraph, because a base model
  that goes on past a blank line starts inventing the rest of the transcript
  (the bundled Gemma repeats the system prompt there). The stop text is never
  part of the answer, and the answer's surrounding whitespace is dropped
  (``thinking``).
- ``chatml`` — ``<|im_start|>role … <|im_end|>`` (Qwen, many fine-tunes).
- ``gemma`` — ``<start_of_turn>user … <end_of_turn>`` (Gemma instruction-tuned;
  the system prompt goes at the top of the first user turn, as Gemma's own
  template does).
- ``jinja`` — the GGUF's own ``tokenizer.chat_template``, rendered in a Jinja
  sandbox; ``auto`` picks it when the GGUF has one, else ``plain``.

Tools, for backends without native tool calls, use a text protocol (the one
Qwen/Hermes models are trained on): the system prompt lists the tools as JSON
and asks for ``<tool_call>{"name": …, "arguments": {…}}</tool_call>``; earlier
calls are written back the same way and results come back in a user turn as
``<tool_response name="…">…</tool_response>``. ``thinking.ReplySplitter``
parses calls out of the stream with :func:`parse_tool_call`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from june.inference.llm.base import ChatMessage, ToolCallRequest, ToolSpec

PromptFormat = Literal["plain", "chatml", "gemma", "jinja"]
PROMPT_FORMATS: tuple[str, ...] = ("auto", "plain", "chatml", "gemma")

PLAIN_STOPS: tuple[str, ...] = ("\nUser:", "\nAssistant:", "\nSystem:", "\n\n")
CHATML_STOPS: tuple[str, ...] = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")
GEMMA_STOPS: tuple[str, ...] = ("<end_of_turn>", "<start_of_turn>")

TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"


@dataclass(frozen=True)
class RenderedPrompt:
    text: str
    stop: tuple[str, ...]
    #: The prompt ends inside an opened ``<think>``: the output starts with reasoning.
    starts_in_thinking: bool = False


# --- tools as text ------------------------------------------------------------------------


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"


def tool_instructions(tools: Sequence[ToolSpec]) -> str:
    """The paragraph added to the system prompt that teaches the text protocol."""
    specs = "\n".join(
        json.dumps(
            {"name": t.name, "description": t.description, "parameters": t.parameters},
            ensure_ascii=False,
        )
        for t in tools
    )
    return (
        "You can call these tools:\n"
        f"{specs}\n"
        "To call a tool, answer with exactly one line per call and nothing else:\n"
        f'{TOOL_CALL_OPEN}{{"name": "<tool name>", "arguments": {{...}}}}{TOOL_CALL_CLOSE}\n'
        "The result comes back in a <tool_response> block; then answer the user."
    )


def format_tool_call(call: ToolCallRequest) -> str:
    try:
        arguments = json.loads(call.arguments_json or "{}")
    except json.JSONDecodeError:
        arguments = call.arguments_json
    body = json.dumps({"name": call.name, "arguments": arguments}, ensure_ascii=False)
    return f"{TOOL_CALL_OPEN}{body}{TOOL_CALL_CLOSE}"


def parse_tool_call(body: str) -> ToolCallRequest:
    """A call from the JSON between the tags; ValueError when it is not one."""
    body = body.strip()
    if body.startswith("```"):  # models like to fence JSON
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"tool call is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        raise ValueError("tool call has no name")
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        arguments_json = arguments or "{}"
    else:
        arguments_json = json.dumps(arguments, ensure_ascii=False)
    return ToolCallRequest(id=new_call_id(), name=data["name"], arguments_json=arguments_json)


_CALL_RE = re.compile(re.escape(TOOL_CALL_OPEN) + r"(.*?)" + re.escape(TOOL_CALL_CLOSE), re.S)


def parse_tool_calls(text: str) -> tuple[str, list[ToolCallRequest]]:
    """A whole reply: its text without the calls, and the calls that parse."""
    calls: list[ToolCallRequest] = []
    for match in _CALL_RE.finditer(text):
        try:
            calls.append(parse_tool_call(match.group(1)))
        except ValueError:
            continue
    return _CALL_RE.sub("", text).strip(), calls


def format_tool_result(message: ChatMessage) -> str:
    name = f' name="{message.name}"' if message.name else ""
    return f"<tool_response{name}>\n{message.content}\n</tool_response>"


def with_text_tools(
    messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
) -> list[ChatMessage]:
    """Messages with tools written as text: only system, user and assistant roles remain."""
    out: list[ChatMessage] = []
    for message in messages:
        if message.role == "assistant" and message.tool_calls:
            calls = "\n".join(format_tool_call(c) for c in message.tool_calls)
            content = f"{message.content}\n{calls}" if message.content else calls
            out.append(ChatMessage("assistant", content))
        elif message.role == "tool":
            result = format_tool_result(message)
            if out and out[-1].role == "user" and out[-1].content.startswith("<tool_response"):
                out[-1] = replace(out[-1], content=f"{out[-1].content}\n{result}")
            else:
                out.append(ChatMessage("user", result))
        else:
            out.append(ChatMessage(message.role, message.content))
    if tools:
        instructions = tool_instructions(tools)
        if out and out[0].role == "system":
            out[0] = replace(out[0], content=f"{out[0].content}\n\n{instructions}")
        else:
            out.insert(0, ChatMessage("system", instructions))
    return out


# --- formats -------------------------------------------------------------------------------


def _system_text(messages: Sequence[ChatMessage]) -> str:
    return "\n\n".join(m.content.strip() for m in messages if m.role == "system" and m.content)


def render_plain(messages: Sequence[ChatMessage]) -> RenderedPrompt:
    system = _system_text(messages)
    lines = [f"{system}\n"] if system else []
    for message in messages:
        if message.role != "system":
            label = "User" if message.role == "user" else "Assistant"
            lines.append(f"{label}: {message.content.strip()}")
    lines.append("Assistant:")
    return RenderedPrompt("\n".join(lines), PLAIN_STOPS)


def render_chatml(messages: Sequence[ChatMessage]) -> RenderedPrompt:
    parts = [f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages]
    parts.append("<|im_start|>assistant\n")
    return RenderedPrompt("".join(parts), CHATML_STOPS)


def render_gemma(messages: Sequence[ChatMessage]) -> RenderedPrompt:
    system = _system_text(messages)
    parts: list[str] = []
    for message in messages:
        if message.role == "system":
            continue
        content = message.content
        if system and not parts:
            content = f"{system}\n\n{content}"
        role = "model" if message.role == "assistant" else "user"
        parts.append(f"<start_of_turn>{role}\n{content}<end_of_turn>\n")
    parts.append("<start_of_turn>model\n")
    return RenderedPrompt("".join(parts), GEMMA_STOPS)


class JinjaTemplate:
    """A GGUF's ``tokenizer.chat_template``, rendered like transformers does (sandboxed)."""

    def __init__(self, template: str, *, bos_token: str = "", eos_token: str = "") -> None:
        import jinja2.ext
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
        )
        env.filters["tojson"] = lambda value, indent=None, **_: json.dumps(
            value, ensure_ascii=False, indent=indent
        )
        self._template = env.from_string(template)
        self.bos_token, self.eos_token = bos_token, eos_token

    def render(self, messages: Sequence[ChatMessage]) -> RenderedPrompt:
        def raise_exception(message: str) -> None:
            raise ValueError(f"chat template: {message}")

        text = self._template.render(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            add_generation_prompt=True,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            raise_exception=raise_exception,
        )
        stop = (self.eos_token,) if self.eos_token else ()
        return RenderedPrompt(text, stop, starts_in_thinking=text.rstrip().endswith("<think>"))


def resolve_format(setting: str, chat_template: str | None) -> PromptFormat:
    """The format a model uses: ``setting``, or for "auto" its template when it has one."""
    if setting == "auto":
        return "jinja" if chat_template else "plain"
    if setting not in PROMPT_FORMATS:
        raise ValueError(f"unknown prompt format {setting!r}; one of {', '.join(PROMPT_FORMATS)}")
    return setting  # type: ignore[return-value]


def render(
    fmt: PromptFormat,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec] = (),
    template: JinjaTemplate | None = None,
) -> RenderedPrompt:
    """The prompt for ``messages`` (tools as text) in format ``fmt``."""
    plain = with_text_tools(messages, tools)
    if fmt == "jinja":
        if template is None:
            raise ValueError("the jinja format needs the model's chat template")
        return template.render(plain)
    renderer = {"plain": render_plain, "chatml": render_chatml, "gemma": render_gemma}[fmt]
    return renderer(plain)


class StopScanner:
    """Streaming stop sequences: text is released only once it cannot start one.

    Whitespace before the first visible character is dropped, so a model that
    opens with a blank line has not yet hit the plain format's ``"\\n\\n"``.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self._pending = ""
        self._started = False
        self.stopped = False

    def feed(self, text: str) -> str:
        """Text that is safe to emit; after a stop sequence, nothing more (``stopped``)."""
        if self.stopped:
            return ""
        buffer = self._pending + text
        if not self._started:
            buffer = buffer.lstrip()
            self._started = bool(buffer)
        hits = [i for i in (buffer.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped, self._pending = True, ""
            return buffer[: min(hits)]
        keep = max((partial_match_len(buffer, s) for s in self.stops), default=0)
        self._pending = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return "" if self.stopped else rest


def partial_match_len(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(text), len(tag) - 1), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0
