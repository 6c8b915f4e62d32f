"""A chat turn end to end: the real bundled model, real PostgreSQL memory, real document search.

The model is the bundled Gemma 3 270M on llama.cpp, behind
``tests/recording_model.py``: a proxy that forwards every request to it and
records what June sent (the messages and the prompt text the model read), so
the tests check the prompt itself — history, retrieved passages, facts, tool
results, trimming — and what June stored and returned, never what the small
model says. Documents are ingested into the real store with the real MiniLM
embedder; the tools are the built-in ones, storing into PostgreSQL.

A 270M base model does not decide to call tools, so where a turn must call
one the proxy asks for it (``RecordingModel.decide``) and the real model
answers from the result. The two tests of the tool-call protocol itself use
the scripted OpenAI-compatible server of ``tests/fake_openai.py``: the
production model is a remote server with native tool calls, and that wire
format (calls streamed as fragments, results sent back by call id) is what
they exercise.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from june.db.migrate import upgrade
from june.db.schema import Message
from june.inference.chat import ChatService, SourcesFound, ToolRan, TurnDone, TurnRequest
from june.inference.documents.store import DocumentStore
from june.inference.embedder import MiniLmEmbedder
from june.inference.llm import (
    ChatModel,
    GenerationOptions,
    TextChunk,
    ToolCallChunk,
    create_chat_model,
)
from june.inference.llm.llama_cpp import LlamaCppModel
from june.inference.llm.openai_compat import OpenAICompatModel
from june.inference.memory import ConversationNotFoundError, ConversationStore
from june.inference.tools import ToolOutcome, ToolRegistry, builtin_tools
from june.infra.postgres import EmbeddedPostgres
from june.settings import Settings
from june.storage import open_object_store
from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI
from tests.recording_model import RecordingModel, Request

pytestmark = pytest.mark.timeout(180)

N_CTX = 2048
#: Short greedy answers: the model's words are not under test, only what June does around them.
SHORT = GenerationOptions(max_tokens=16, temperature=0.0)
LEASE = b"The rent of the flat is 950 euros, due on the first day of each month."
GARDEN = b"The tomatoes in the garden need water every evening in summer."


@pytest.fixture(scope="module")
def embedder(infra_settings: Settings) -> MiniLmEmbedder:
    embedder = MiniLmEmbedder.from_settings(infra_settings)
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
async def gemma(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> AsyncIterator[LlamaCppModel]:
    """The bundled GGUF on llama.cpp, built as the inference service builds it."""
    settings = make_settings(
        tmp_path_factory.mktemp("june-chat"),
        model_cache_dir=model_cache,
        inference={"llm_context_size": N_CTX},
    )
    model = create_chat_model(settings)
    assert isinstance(model, LlamaCppModel)
    yield model
    await model.aclose()


@pytest.fixture
def engine(postgres: EmbeddedPostgres) -> Iterator[Engine]:
    upgrade(postgres.url)
    engine = create_engine(postgres.url)
    yield engine
    engine.dispose()


def chat_service(
    engine: Engine, model: ChatModel, embedder: MiniLmEmbedder, settings: Settings
) -> ChatService:
    documents = DocumentStore(engine, embedder, open_object_store(settings))
    return ChatService(model, ConversationStore(engine), documents, ToolRegistry(builtin_tools()))


@pytest.fixture
def model(gemma: LlamaCppModel) -> RecordingModel:
    return RecordingModel(gemma)


@pytest.fixture
def chat(
    engine: Engine, model: RecordingModel, embedder: MiniLmEmbedder, infra_settings: Settings
) -> ChatService:
    return chat_service(engine, model, embedder, infra_settings)


@dataclass(frozen=True)
class Turn:
    events: list[Any]
    done: TurnDone
    #: What June sent the model in this turn, one request per round (the real model only).
    sent: list[Request]

    def outcomes(self) -> list[ToolOutcome]:
        return [e.outcome for e in self.events if isinstance(e, ToolRan)]

    def sources(self) -> list[SourcesFound]:
        return [e for e in self.events if isinstance(e, SourcesFound)]


async def run(chat: ChatService, request: TurnRequest) -> Turn:
    recording = chat.model if isinstance(chat.model, RecordingModel) else None
    start = len(recording.requests) if recording else 0
    events = [event async for event in chat.turn(request)]
    done = events[-1]
    assert isinstance(done, TurnDone)
    return Turn(events, done, recording.requests[start:] if recording else [])


def say(user: str, text: str, conversation: str | None = None, **kw: Any) -> TurnRequest:
    return TurnRequest(user, text, conversation, options=SHORT, **kw)


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def stored(engine: Engine, conversation: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(
                    Message.role,
                    Message.text,
                    Message.timings,
                    Message.tokens_in,
                    Message.tokens_out,
                )
                .where(Message.conversation_id == uuid.UUID(conversation))
                .order_by(Message.created_at)
            ).all()
        )


def ingest(chat: ChatService, name: str, document: str, data: bytes) -> None:
    assert chat.documents is not None
    chat.documents.ingest(chat.memory.resolve_user(name), document, data)


# --- the real model ---------------------------------------------------------------------


async def test_an_answer_streams_and_the_next_turn_carries_the_history(
    chat: ChatService, engine: Engine
) -> None:
    name = user()
    first = await run(chat, say(name, "My cat is called Pixel."))
    deltas = [e.text for e in first.events if isinstance(e, TextChunk)]
    assert len(deltas) > 1 and first.done.text == "".join(deltas).strip()  # streamed in pieces
    conversation = first.events[0].conversation_id

    second = await run(chat, say(name, "What is my cat called?", conversation))
    sent = second.sent[0]
    answer = first.done.text
    assert [m.role for m in sent.messages] == ["system", "user", "assistant", "user"]
    assert sent.contents[1:] == ["My cat is called Pixel.", answer, "What is my cat called?"]
    assert f"User: My cat is called Pixel.\nAssistant: {answer}\nUser: What is my" in sent.prompt
    # the token counts June reports are the model's own, for the prompts it really read
    assert second.done.prompt_tokens == sum(r.prompt_tokens for r in second.sent)
    assert sent.prompt_tokens > first.sent[0].prompt_tokens and second.done.completion_tokens > 0

    rows = stored(engine, conversation)
    assert [(r.role, r.text) for r in rows] == [
        ("user", "My cat is called Pixel."),
        ("assistant", answer),
        ("user", "What is my cat called?"),
        ("assistant", second.done.text),
    ]
    assert (rows[2].tokens_in, rows[3].tokens_out) == (
        second.done.prompt_tokens,
        second.done.completion_tokens,
    )
    assert rows[1].timings["time_to_first_token_s"] > 0


async def test_a_question_brings_in_its_owners_document_and_never_another_users(
    chat: ChatService,
) -> None:
    owner, other = user(), user()
    ingest(chat, owner, "lease.txt", LEASE)
    ingest(chat, other, "garden.txt", GARDEN)

    asked = await run(chat, say(owner, "How much is my rent?"))
    (found,) = asked.sources()
    assert [h.document_name for h in found.hits] == ["lease.txt"]
    system = asked.sent[0].messages[0]
    assert system.role == "system" and f"[lease.txt] {LEASE.decode()}" in system.content
    assert LEASE.decode() in asked.sent[0].prompt  # what the model read

    # The other user has documents too, so their search runs: over theirs alone.
    asked = await run(chat, say(other, "How much is my rent?"))
    (found,) = asked.sources()
    assert [h.document_name for h in found.hits] == ["garden.txt"]
    assert not any("950" in r.prompt for r in asked.sent)

    asked = await run(chat, say(owner, "How much is my rent?", use_documents=False))
    assert not asked.sources()
    assert not any("950" in r.prompt for r in asked.sent)


async def test_the_search_tool_reads_the_callers_documents_only(
    chat: ChatService, model: RecordingModel
) -> None:
    owner, other = user(), user()
    ingest(chat, owner, "lease.txt", LEASE)
    ingest(chat, other, "garden.txt", GARDEN)

    # Retrieval before the turn is off: the passage can only come through the tool.
    model.decide("search_documents", {"query": "the rent of the flat"})
    asked = await run(chat, say(owner, "Look it up in my lease.", use_documents=False))
    found = asked.outcomes()[0]  # what the model does next is its own affair
    assert not found.is_error and found.call.name == "search_documents"
    assert found.content.startswith("[lease.txt] (score ") and LEASE.decode() in found.content
    deciding, answering = asked.sent[:2]
    assert deciding.scripted and "950" not in deciding.prompt
    # the passage went back to the real model, in the round after the call
    assert not answering.scripted and answering.messages[-1].role == "tool"
    assert f'<tool_response name="search_documents">\n{found.content}' in answering.prompt
    assert asked.done.tool_rounds >= 1 and asked.done.finish_reason != "cancelled"

    model.decide("search_documents", {"query": "the rent of the flat"})
    asked = await run(chat, say(other, "Look it up in my lease.", use_documents=False))
    found = asked.outcomes()[0]
    assert found.content.startswith("[garden.txt] (score ") and "950" not in found.content
    assert not any("950" in r.prompt for r in asked.sent)


async def test_a_remembered_fact_reaches_the_users_later_conversations_only(
    chat: ChatService, model: RecordingModel
) -> None:
    name, other = user(), user()
    model.decide("remember_fact", {"fact": "is allergic to peanuts"})
    told = await run(chat, say(name, "Please remember that I am allergic to peanuts."))
    remembered = told.outcomes()[0]
    assert (remembered.content, remembered.is_error) == (
        "remembered: is allergic to peanuts",
        False,
    )
    facts = chat.memory.facts(chat.memory.resolve_user(name))  # read back from PostgreSQL
    assert "is allergic to peanuts" in facts

    later = await run(chat, say(name, "What should I cook tonight?"))  # a new conversation
    system, question = later.sent[0].messages
    assert system.role == "system" and question.content == "What should I cook tonight?"
    assert "What you know about the user:\n- is allergic to peanuts" in system.content
    assert "- is allergic to peanuts" in later.sent[0].prompt

    stranger = await run(chat, say(other, "What should I cook tonight?"))
    assert "What you know about the user" not in stranger.sent[0].messages[0].content
    assert not any("peanuts" in r.prompt for r in stranger.sent)


async def test_a_long_conversation_is_trimmed_to_the_window_and_still_answered(
    chat: ChatService, engine: Engine
) -> None:
    name = user()
    opened = await run(chat, say(name, "first " * 300))
    conversation = opened.events[0].conversation_id
    # More turns than the window holds, stored as the turns before would have stored them
    # (each turn through the model costs seconds of prompt on two cores).
    for i in range(5):
        chat.memory.add(uuid.UUID(conversation), "user", f"turn {i}: " + "more words " * 150)
        chat.memory.add(uuid.UUID(conversation), "assistant", f"Answer {i}.")
    question = "And the last question?"
    last = await run(chat, say(name, question, conversation))

    sent = last.sent[0]
    assert sent.contents[-3:] == ["turn 4: " + "more words " * 150, "Answer 4.", question]
    assert not any(m.content.startswith("first") for m in sent.messages)  # the oldest went
    kept = len(sent.messages) - 2
    assert 0 < kept < 12 and [m.role for m in sent.messages] == [
        "system",
        *(["user", "assistant"] * (kept // 2)),
        "user",
    ]  # whole turns: no answer without its question
    # the real model took it: it fits with room for the answer, and was not emptied
    assert N_CTX // 2 < sent.prompt_tokens <= N_CTX - SHORT.max_tokens
    assert last.done.finish_reason in ("stop", "length", "tool_limit")
    assert len(stored(engine, conversation)) == 14  # trimmed from the prompt, not from memory


async def test_someone_elses_conversation_is_not_found(
    chat: ChatService, model: RecordingModel, engine: Engine
) -> None:
    told = await run(chat, say(user(), "My bank PIN is on a note in the drawer."))
    conversation = told.events[0].conversation_id
    asked = len(model.requests)
    with pytest.raises(ConversationNotFoundError):
        await run(chat, say(user(), "What did I just tell you?", conversation))
    assert len(model.requests) == asked  # the model never saw that conversation for them
    assert len(stored(engine, conversation)) == 2  # and nothing was added to it


# --- the tool-call protocol, with a scripted OpenAI-compatible server ---------------------


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def scripted_chat(
    engine: Engine, fake_llm: FakeOpenAI, embedder: MiniLmEmbedder, infra_settings: Settings
) -> ChatService:
    fake_llm.requests.clear()
    model = OpenAICompatModel(fake_llm.url, context_window=4096)
    return chat_service(engine, model, embedder, infra_settings)


async def test_a_tool_call_round_trip(scripted_chat: ChatService, fake_llm: FakeOpenAI) -> None:
    asked = await run(scripted_chat, TurnRequest(user=user(), text="Please calculate 12 * 7"))
    calls = [e.call for e in asked.events if isinstance(e, ToolCallChunk)]
    assert [c.name for c in calls] == ["calculator"]
    assert [(r.content, r.is_error) for r in asked.outcomes()] == [("84", False)]
    done = asked.done
    assert done.text == "The result is 84." and done.tool_rounds == 1
    tool_message = fake_llm.requests[-1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"


async def test_a_failing_tool_is_reported_to_the_model_not_the_user(
    scripted_chat: ChatService,
) -> None:
    asked = await run(scripted_chat, TurnRequest(user=user(), text="calculate 1/0"))
    (outcome,) = asked.outcomes()
    assert outcome.is_error and "division by zero" in outcome.content
    assert asked.done.text.startswith("The result is error: division by zero")
    assert asked.done.finish_reason == "stop"
