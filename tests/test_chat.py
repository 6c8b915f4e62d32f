"""A chat turn end to end: real PostgreSQL memory, real embeddings and document search, tools.

The model here is the scripted OpenAI-compatible server of ``tests/fake_openai.py``
(the production model needs a GPU); what June sends it is recorded, so the tests
check the prompt itself: history, documents, facts, tool results.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from june.db.migrate import upgrade
from june.db.schema import Message
from june.inference.chat import ChatService, SourcesFound, ToolRan, TurnDone, TurnRequest
from june.inference.documents.store import DocumentStore
from june.inference.embedder import MiniLmEmbedder
from june.inference.llm.base import TextChunk, ToolCallChunk
from june.inference.llm.openai_compat import OpenAICompatModel
from june.inference.memory import ConversationNotFoundError, ConversationStore
from june.inference.tools import ToolRegistry, builtin_tools
from june.infra.postgres import EmbeddedPostgres
from june.settings import Settings
from june.storage import open_object_store
from tests.fake_openai import FakeOpenAI


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def embedder(infra_settings: Settings) -> MiniLmEmbedder:
    embedder = MiniLmEmbedder.from_settings(infra_settings)
    embedder.load()
    return embedder


@pytest.fixture
def chat(
    postgres: EmbeddedPostgres,
    infra_settings: Settings,
    fake_llm: FakeOpenAI,
    embedder: MiniLmEmbedder,
) -> Iterator[ChatService]:
    upgrade(postgres.url)
    engine = create_engine(postgres.url)
    documents = DocumentStore(engine, embedder, open_object_store(infra_settings))
    model = OpenAICompatModel(fake_llm.url, context_window=4096)
    fake_llm.requests.clear()
    yield ChatService(model, ConversationStore(engine), documents, ToolRegistry(builtin_tools()))
    engine.dispose()


async def run(chat: ChatService, request: TurnRequest) -> tuple[list[Any], TurnDone]:
    events = [event async for event in chat.turn(request)]
    done = events[-1]
    assert isinstance(done, TurnDone)
    return events, done


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def test_answer_streams_and_is_remembered_across_turns(
    chat: ChatService, fake_llm: FakeOpenAI
) -> None:
    name = user()
    events, first = await run(chat, TurnRequest(user=name, text="My cat is called Pixel."))
    deltas = [e for e in events if isinstance(e, TextChunk)]
    assert len(deltas) > 1 and first.text == "You said: My cat is called Pixel."
    conversation = events[0].conversation_id

    _, second = await run(chat, TurnRequest(name, "What is my cat called?", conversation))
    sent = [m["content"] for m in fake_llm.requests[-1]["messages"]]
    assert "My cat is called Pixel." in sent and first.text in sent  # the history went in
    assert sent[-1] == "What is my cat called?"
    assert second.prompt_tokens == 42 and second.completion_tokens == 7

    engine = chat.memory.engine
    with engine.connect() as conn:
        rows = conn.execute(
            select(Message.role, Message.text, Message.timings)
            .where(Message.conversation_id == uuid.UUID(conversation))
            .order_by(Message.created_at)
        ).all()
    assert [r.role for r in rows] == ["user", "assistant", "user", "assistant"]
    assert rows[1].timings["time_to_first_token_s"] > 0


async def test_a_tool_call_round_trip(chat: ChatService, fake_llm: FakeOpenAI) -> None:
    events, done = await run(chat, TurnRequest(user=user(), text="Please calculate 12 * 7"))
    calls = [e.call for e in events if isinstance(e, ToolCallChunk)]
    results = [e.outcome for e in events if isinstance(e, ToolRan)]
    assert [c.name for c in calls] == ["calculator"]
    assert [(r.content, r.is_error) for r in results] == [("84", False)]
    assert done.text == "The result is 84." and done.tool_rounds == 1
    tool_message = fake_llm.requests[-1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"


async def test_a_failing_tool_is_reported_to_the_model_not_the_user(chat: ChatService) -> None:
    events, done = await run(chat, TurnRequest(user=user(), text="calculate 1/0"))
    (outcome,) = [e.outcome for e in events if isinstance(e, ToolRan)]
    assert outcome.is_error and "division by zero" in outcome.content
    assert done.text.startswith("The result is error: division by zero")
    assert done.finish_reason == "stop"


async def test_remembered_facts_reach_later_conversations(
    chat: ChatService, fake_llm: FakeOpenAI
) -> None:
    name = user()
    await run(chat, TurnRequest(user=name, text="Please remember that I am vegetarian."))
    await run(chat, TurnRequest(user=name, text="What should I cook tonight?"))  # new conversation
    system = fake_llm.requests[-1]["messages"][0]
    assert system["role"] == "system" and "that I am vegetarian" in system["content"]


async def test_documents_are_retrieved_for_their_owner_only(
    chat: ChatService, fake_llm: FakeOpenAI
) -> None:
    owner, other = user(), user()
    owner_id = chat.memory.resolve_user(owner)
    lease = b"The rent of the flat is 950 euros, due on the first day of each month."
    assert chat.documents is not None
    chat.documents.ingest(owner_id, "lease.txt", lease)

    events, _ = await run(chat, TurnRequest(user=owner, text="How much is my rent?"))
    (found,) = [e for e in events if isinstance(e, SourcesFound)]
    assert found.hits[0].document_name == "lease.txt"
    assert "950 euros" in fake_llm.requests[-1]["messages"][0]["content"]

    events, _ = await run(chat, TurnRequest(user=other, text="How much is my rent?"))
    assert not [e for e in events if isinstance(e, SourcesFound)]
    assert "950 euros" not in str(fake_llm.requests[-1]["messages"])


async def test_the_prompt_is_trimmed_to_the_context_window(
    chat: ChatService, fake_llm: FakeOpenAI
) -> None:
    name = user()
    events, _ = await run(chat, TurnRequest(user=name, text="first " * 300))
    conversation = events[0].conversation_id
    for _ in range(4):
        await run(chat, TurnRequest(name, "more words " * 150, conversation))
    chat.model.context_window = 1024  # type: ignore[misc]
    try:
        await run(chat, TurnRequest(name, "And the last question?", conversation))
    finally:
        chat.model.context_window = 4096  # type: ignore[misc]
    sent = fake_llm.requests[-1]["messages"]
    assert sent[-1]["content"] == "And the last question?"
    assert sum(len(m["content"] or "") for m in sent) < 1024 * 4  # oldest turns dropped
    assert not any(m["content"].startswith("first") for m in sent if m["role"] == "user")


async def test_someone_elses_conversation_is_not_found(chat: ChatService) -> None:
    events, _ = await run(chat, TurnRequest(user=user(), text="hello"))
    with pytest.raises(ConversationNotFoundError):
        await run(chat, TurnRequest(user(), "hi", events[0].conversation_id))
