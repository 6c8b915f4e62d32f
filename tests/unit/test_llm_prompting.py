"""Prompt handling, reasoning split and context budget: pure functions, table-driven."""

from __future__ import annotations

import json

import pytest

from june.inference.llm.base import (
    ChatMessage,
    ContextOverflowError,
    ReasoningChunk,
    TextChunk,
    ToolCallChunk,
    ToolCallRequest,
    ToolSpec,
)
from june.inference.llm.budget import (
    DOCUMENTS_HEADER,
    TRUNCATION_MARK,
    fit_to_context,
    split_turns,
)
from june.inference.llm.prompting import (
    PLAIN_STOPS,
    JinjaTemplate,
    StopScanner,
    format_tool_call,
    parse_tool_call,
    parse_tool_calls,
    render,
    resolve_format,
    with_text_tools,
)
from june.inference.llm.thinking import ReplySplitter, TagSplitter

# --- thinking ---------------------------------------------------------------------------


def split(pieces: list[str], **kwargs: bool) -> tuple[str, str, list[object]]:
    """(answer, reasoning, events) of a reply fed in ``pieces``."""
    splitter = ReplySplitter(**kwargs)
    events: list[object] = []
    for piece in pieces:
        events += splitter.feed(piece)
    events += splitter.finish()
    answer = "".join(e.text for e in events if isinstance(e, TextChunk))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningChunk))
    return answer, reasoning, events


def cuts(text: str) -> list[list[str]]:
    """``text`` cut into three pieces at every pair of positions (empty pieces included)."""
    return [
        [text[:i], text[i:j], text[j:]]
        for i in range(len(text) + 1)
        for j in range(i, len(text) + 1)
    ]


THINK_CASES = [
    # (reply, starts_in_thinking, answer, reasoning)
    (
        "<think>The user greets me.</think>Hello there!",
        False,
        "Hello there!",
        "The user greets me.",
    ),
    (
        "<think>\nplan\n</think>\n\nParis is the capital.",
        False,
        "Paris is the capital.",
        "\nplan\n",
    ),
    ("No thinking at all.", False, "No thinking at all.", ""),
    (
        "Qwen opens the tag in the prompt.</think>\n\nAnswer.",
        True,
        "Answer.",
        "Qwen opens the tag in the prompt.",
    ),
    ("a < b and <thin ice>, not a tag", False, "a < b and <thin ice>, not a tag", ""),
    ("<think>unfinished reasoning", False, "", "unfinished reasoning"),
]


@pytest.mark.parametrize(("reply", "starts_inside", "answer", "reasoning"), THINK_CASES)
def test_think_split_at_every_cut_position(
    reply: str, starts_inside: bool, answer: str, reasoning: str
) -> None:
    for pieces in cuts(reply):
        got_answer, got_reasoning, events = split(pieces, starts_in_thinking=starts_inside)
        assert (got_answer, got_reasoning) == (answer, reasoning), pieces
        assert all(e.text for e in events), pieces  # no empty chunks
        assert "<think" not in got_answer and "</think" not in got_answer


def test_tag_splitter_holds_back_only_a_possible_tag() -> None:
    splitter = TagSplitter("<think>", "</think>")
    assert splitter.feed("Hello <thi") == [(False, "Hello ")]
    assert splitter.feed("s is fine") == [(False, "<this is fine")]
    assert splitter.feed("<") == []
    assert splitter.flush() == [(False, "<")]


def test_answer_streams_word_by_word_and_drops_trailing_whitespace() -> None:
    _, _, events = split([" The", " capital", " is", " Paris", ".", "\n"])
    assert [e.text for e in events] == ["The", " capital", " is", " Paris", "."]


def test_reasoning_from_server_field_is_kept_apart() -> None:
    splitter = ReplySplitter()
    events = splitter.feed_reasoning("thinking…") + splitter.feed("Answer") + splitter.finish()
    assert events == [ReasoningChunk("thinking…"), TextChunk("Answer")]


# --- prompt formats ---------------------------------------------------------------------

CONVERSATION = [
    ChatMessage("system", "You are June."),
    ChatMessage("user", "Hi!"),
    ChatMessage("assistant", "Hello."),
    ChatMessage("user", "What is the capital of France?"),
]

FORMAT_CASES = [
    (
        "plain",
        "You are June.\n\nUser: Hi!\nAssistant: Hello.\nUser: What is the capital of France?\n"
        "Assistant:",
        PLAIN_STOPS,
    ),
    (
        "chatml",
        "<|im_start|>system\nYou are June.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n"
        "What is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
        ("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
    ),
    (
        "gemma",
        "<start_of_turn>user\nYou are June.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello."
        "<end_of_turn>\n<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n"
        "<start_of_turn>model\n",
        ("<end_of_turn>", "<start_of_turn>"),
    ),
]


@pytest.mark.parametrize(("fmt", "text", "stops"), FORMAT_CASES)
def test_format_rendering(fmt: str, text: str, stops: tuple[str, ...]) -> None:
    rendered = render(fmt, CONVERSATION)  # type: ignore[arg-type]
    assert rendered.text == text
    assert rendered.stop == stops


def test_plain_format_without_system_prompt() -> None:
    assert render("plain", [ChatMessage("user", " Hi ")]).text == "User: Hi\nAssistant:"


def test_gguf_chat_template_and_auto_choice() -> None:
    template = JinjaTemplate(
        "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}",
        bos_token="<s>",
        eos_token="</s>",
    )
    rendered = render("jinja", CONVERSATION[:2], template=template)
    assert rendered.text == "<s><|system|>You are June.<|user|>Hi!<|assistant|><think>\n"
    assert rendered.stop == ("</s>",)
    assert rendered.starts_in_thinking
    assert resolve_format("auto", None) == "plain"
    assert resolve_format("auto", "{{ messages }}") == "jinja"
    assert resolve_format("chatml", "{{ messages }}") == "chatml"
    with pytest.raises(ValueError, match="unknown prompt format"):
        resolve_format("llama-9", None)


STOP_CASES = [
    # (pieces, answer)
    ([" Paris", ".", "\n", "User", ":", " and"], "Paris."),
    ([" Paris.\n\n", "You are June"], "Paris."),
    (["\n\n", " Paris."], "Paris."),  # a leading blank line is not the end of the answer
    ([" Use", "r is a word"], "User is a word"),
    ([" one\nUs", "e two"], "one\nUse two"),
]


@pytest.mark.parametrize(("pieces", "answer"), STOP_CASES)
def test_stop_sequences_are_cut_from_the_stream(pieces: list[str], answer: str) -> None:
    scanner = StopScanner(PLAIN_STOPS)
    out = "".join(scanner.feed(p) for p in pieces) + scanner.flush()
    assert out.strip() == answer
    assert "User:" not in out


# --- tools as text ----------------------------------------------------------------------

TOOLS = [
    ToolSpec(
        "calculator",
        "Evaluate an arithmetic expression.",
        {"type": "object", "properties": {"expression": {"type": "string"}}},
    )
]


@pytest.mark.parametrize(
    "arguments",
    [{"expression": "2 + 2"}, {}, {"text": "naïve \u2013 \u201cquoted\u201d", "n": [1, 2.5, None]}],
)
def test_tool_call_round_trip(arguments: dict[str, object]) -> None:
    call = ToolCallRequest("call_1", "calculator", json.dumps(arguments))
    text = format_tool_call(call)
    parsed = parse_tool_call(text.removeprefix("<tool_call>").removesuffix("</tool_call>"))
    assert (parsed.name, json.loads(parsed.arguments_json)) == ("calculator", arguments)
    rest, calls = parse_tool_calls(f"Let me compute.\n{text}")
    assert rest == "Let me compute."
    assert [(c.name, json.loads(c.arguments_json)) for c in calls] == [("calculator", arguments)]


@pytest.mark.parametrize("body", ["not json", '{"arguments": {}}', "[1, 2]", '{"name": ""}'])
def test_malformed_tool_call_is_refused(body: str) -> None:
    with pytest.raises(ValueError):
        parse_tool_call(body)


def test_tool_call_parsed_from_the_stream_at_every_cut() -> None:
    call = '{"name": "calculator", "arguments": {"expression": "6*7"}}'
    reply = f"Checking. <tool_call>{call}</tool_call>"
    for pieces in cuts(reply)[:: max(1, len(reply) // 7)]:  # a spread of cut positions
        answer, _, events = split(pieces, tool_protocol=True)
        calls = [e.call for e in events if isinstance(e, ToolCallChunk)]
        assert answer == "Checking.", pieces
        assert [(c.name, json.loads(c.arguments_json)) for c in calls] == [
            ("calculator", {"expression": "6*7"})
        ]


def test_text_protocol_messages() -> None:
    call = ToolCallRequest("call_1", "calculator", '{"expression": "6*7"}')
    messages = [
        ChatMessage("system", "You are June."),
        ChatMessage("user", "What is 6 times 7?"),
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", "42", name="calculator", tool_call_id="call_1"),
    ]
    out = with_text_tools(messages, TOOLS)
    assert [m.role for m in out] == ["system", "user", "assistant", "user"]
    assert out[0].content.startswith("You are June.\n\nYou can call these tools:")
    assert '"name": "calculator"' in out[0].content
    assert parse_tool_calls(out[2].content)[1][0].name == "calculator"
    assert out[3].content == '<tool_response name="calculator">\n42\n</tool_response>'
    prompt = render("plain", messages, TOOLS).text
    assert prompt.endswith("</tool_response>\nAssistant:")


# --- budget -----------------------------------------------------------------------------


class WordModel:
    """A ChatModel stand-in that counts one token per word (the budget needs nothing else)."""

    name = "words"
    supports_native_tools = False

    def __init__(self, context_window: int) -> None:
        self.context_window = context_window

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def words(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


HISTORY = [
    ChatMessage("user", words(20, "u1-")),
    ChatMessage("assistant", words(20, "a1-")),
    ChatMessage("user", words(20, "u2-")),
    ChatMessage("assistant", "", tool_calls=(ToolCallRequest("c", "calculator", "{}"),)),
    ChatMessage("tool", words(20, "t2-"), tool_call_id="c"),
    ChatMessage("assistant", words(20, "a2-")),
    ChatMessage("user", words(20, "u3-")),
    ChatMessage("assistant", words(20, "a3-")),
]
DOCS = [f"[doc{i}.md] {words(30, f'd{i}-')}" for i in range(3)]
SYSTEM, USER = "You are June.", words(10, "q-")

BUDGET_CASES = [
    # (context_window, dropped_turns, dropped_chunks); everything takes 355 tokens, and
    # 32 for the answer + 8 for the prompt's own markers leave window - 40 for the prompt.
    (1000, 0, 0),  # everything fits
    (395, 0, 0),  # exactly
    (394, 1, 0),  # one token short: the oldest turn goes first
    (338, 2, 0),  # then the next oldest (with its tool call and result)
    (237, 3, 0),  # all history goes before any chunk
    (181, 3, 1),  # then the lowest-ranked chunk
    (148, 3, 2),
    (115, 3, 3),  # then every chunk: the system prompt and the question stay
]


@pytest.mark.parametrize(("window", "turns", "chunks"), BUDGET_CASES)
def test_budget_trims_oldest_turns_then_chunks(window: int, turns: int, chunks: int) -> None:
    model = WordModel(window)
    messages, dropped_turns, dropped_chunks = fit_to_context(
        model, SYSTEM, HISTORY, DOCS, USER, max_new_tokens=32
    )
    assert (dropped_turns, dropped_chunks) == (turns, chunks)
    assert messages[0].role == "system" and messages[0].content.startswith(SYSTEM)
    assert messages[-1] == ChatMessage("user", USER)
    kept_history = messages[1:-1]
    assert kept_history == [m for turn in split_turns(HISTORY)[turns:] for m in turn]
    kept_docs = [d for d in DOCS if d in messages[0].content]
    assert kept_docs == DOCS[: len(DOCS) - chunks]  # best first: the tail goes
    assert (DOCUMENTS_HEADER in messages[0].content) == bool(kept_docs)
    used = sum(model.count_tokens(m.content) + 8 for m in messages) + 8
    assert used <= window - 32


def test_budget_cuts_an_overlong_question_in_the_middle() -> None:
    model = WordModel(120)
    question = words(300, "w")
    messages, _, _ = fit_to_context(model, SYSTEM, HISTORY, DOCS, question, max_new_tokens=32)
    asked = messages[-1].content
    assert TRUNCATION_MARK in asked
    assert asked.startswith("w0 w1") and asked.endswith("w298 w299")
    assert sum(model.count_tokens(m.content) + 8 for m in messages) + 8 <= 120 - 32


def test_budget_refuses_a_system_prompt_that_leaves_no_room() -> None:
    with pytest.raises(ContextOverflowError, match="system prompt"):
        fit_to_context(WordModel(100), words(90, "s"), [], [], "hi", max_new_tokens=32)
