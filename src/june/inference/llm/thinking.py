"""Split a streamed reply into spoken answer, hidden reasoning and text-protocol tool calls.

Thinking models (Qwen3, DeepSeek-R1 …) write their reasoning between
``<think>`` and ``</think>`` before the answer. What is spoken must never
contain it, but the record keeps it. Tags arrive cut anywhere: a delta may end
in ``"<thi"`` and the next begin with ``"nk>"``, so :class:`TagSplitter` holds
back exactly the tail that could still become a tag, and nothing more (the
answer keeps streaming word by word).

:class:`ReplySplitter` stacks what every backend needs on the raw text:

1. reasoning: ``<think>…</think>`` (or, with ``starts_in_thinking``, everything
   up to the first ``</think>``: templates such as Qwen3-Thinking-2507's open the
   tag in the prompt, so the output has only the closing one);
2. tool calls of the text protocol (``<tool_call>{json}</tool_call>``, see
   ``prompting``), when the backend has no native tool calls;
3. the answer, without leading whitespace and without trailing whitespace at
   the end (a base model's ``" Paris.\\n"`` is spoken as ``"Paris."``).
"""

from __future__ import annotations

from june.inference.llm.base import ReasoningChunk, TextChunk, ToolCallChunk, ToolCallRequest
from june.inference.llm.prompting import (
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    new_call_id,
    parse_tool_call,
    partial_match_len,
)

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

Segment = tuple[bool, str]  # (inside the tags, text)
ReplyEvent = TextChunk | ReasoningChunk | ToolCallChunk


class TagSplitter:
    """Streaming split of text into the parts outside and inside ``open_tag … close_tag``."""

    def __init__(self, open_tag: str, close_tag: str, *, start_inside: bool = False) -> None:
        self.open_tag, self.close_tag = open_tag, close_tag
        self.inside = start_inside
        self._pending = ""

    def feed(self, text: str) -> list[Segment]:
        """Segments that are certain now; a tail that may start a tag is kept for later.

        A segment ``(inside, "")`` marks a tag that closed (or opened) here.
        """
        buffer = self._pending + text
        out: list[Segment] = []
        while True:
            tag = self.close_tag if self.inside else self.open_tag
            index = buffer.find(tag)
            if index < 0:
                break
            out.append((self.inside, buffer[:index]))
            self.inside = not self.inside
            buffer = buffer[index + len(tag) :]
        keep = partial_match_len(buffer, self.close_tag if self.inside else self.open_tag)
        if len(buffer) > keep:
            out.append((self.inside, buffer[: len(buffer) - keep]))
        self._pending = buffer[len(buffer) - keep :]
        return out

    def flush(self) -> list[Segment]:
        """The held-back tail, at the end of the stream (an unfinished tag is plain text)."""
        rest, self._pending = self._pending, ""
        return [(self.inside, rest)] if rest else []


class ReplySplitter:
    """Raw reply text in, typed events out (see the module docstring)."""

    def __init__(self, *, starts_in_thinking: bool = False, tool_protocol: bool = False) -> None:
        self._think = TagSplitter(THINK_OPEN, THINK_CLOSE, start_inside=starts_in_thinking)
        self._tools = TagSplitter(TOOL_CALL_OPEN, TOOL_CALL_CLOSE) if tool_protocol else None
        self._call_body: list[str] = []
        self._answer_started = False
        self._trailing_space = ""
        self.tool_calls = 0
        #: Characters of answer, reasoning and tool calls seen: whether anything came out.
        self.chars = 0

    def feed(self, text: str) -> list[ReplyEvent]:
        self.chars += len(text)
        return self._think_segments(self._think.feed(text))

    def feed_reasoning(self, text: str) -> list[ReplyEvent]:
        """Reasoning that a server already separated (``reasoning_content`` deltas)."""
        self.chars += len(text)
        return [ReasoningChunk(text)] if text else []

    def finish(self) -> list[ReplyEvent]:
        """Everything still held back, at the end of the stream."""
        events = self._think_segments(self._think.flush())
        if self._tools is not None:
            events += self._tool_segments(self._tools.flush())
            if self._tools.inside and self._call_body:  # cut off inside a call: try it
                events += self._end_call()
        self._trailing_space = ""  # the answer ends here: trailing whitespace is dropped
        return events

    def _think_segments(self, segments: list[Segment]) -> list[ReplyEvent]:
        events: list[ReplyEvent] = []
        for inside, text in segments:
            if inside:
                if text:
                    events.append(ReasoningChunk(text))
            elif self._tools is not None:
                events += self._tool_segments(self._tools.feed(text))
            else:
                events += self._answer(text)
        return events

    def _tool_segments(self, segments: list[Segment]) -> list[ReplyEvent]:
        assert self._tools is not None
        events: list[ReplyEvent] = []
        for index, (inside, text) in enumerate(segments):
            if inside:
                self._call_body.append(text)
                closed = index + 1 < len(segments) or not self._tools.inside
                if closed:
                    events += self._end_call()
            else:
                events += self._answer(text)
        return events

    def _end_call(self) -> list[ReplyEvent]:
        body, self._call_body = "".join(self._call_body), []
        self.tool_calls += 1
        try:
            call = parse_tool_call(body)
        except ValueError:
            # A malformed call still goes to the tool loop, which reports it to the
            # model as an unknown tool, rather than being spoken.
            call = ToolCallRequest(id=new_call_id(), name="", arguments_json=body.strip())
        return [ToolCallChunk(call)]

    def _answer(self, text: str) -> list[ReplyEvent]:
        if not self._answer_started:
            text = text.lstrip()
            if not text:
                return []
            self._answer_started = True
        text = self._trailing_space + text
        body = text.rstrip()
        self._trailing_space = text[len(body) :]
        return [TextChunk(body)] if body else []
