"""The inference service for real: `june serve inference` with the bundled Gemma and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from june.inference.client import ChatResult, InferenceClient, collect
from june.inference.llm.factory import default_options
from june.inference.llm.llama_cpp import LlamaCppModel
from june.inference.server import load_resources
from june.inference.service import InferenceServicer
from june.infra.ports import free_port
from june.infra.postgres import EmbeddedPostgres
from june.protos import llm_pb2, llm_pb2_grpc
from june.services.local import serve_in_process
from tests.conftest import make_settings
from tests.processes import Running, launch, service_env, wait_healthy

SHORT = llm_pb2.ChatOptions(max_tokens=24, temperature=0.0, seed=7)


@pytest.fixture(scope="module")
def inference(
    tmp_path_factory: pytest.TempPathFactory, postgres: EmbeddedPostgres
) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("inference")
    env = service_env(
        tmp, tmp / "models", JUNE_DATABASE_URL=postgres.url, JUNE_INFERENCE_LLM_CONTEXT_SIZE="2048"
    )
    running = launch("inference", env, tmp)
    wait_healthy(running)
    yield running
    assert running.stop() == 0


@pytest.fixture
async def client(inference: Running) -> AsyncIterator[InferenceClient]:
    async with InferenceClient(f"127.0.0.1:{inference.ports.grpc}") as c:
        yield c


async def test_chat_streams_tokens_and_continues_a_conversation(client: InferenceClient) -> None:
    first = await client.chat("ada", "The capital of France is", options=SHORT)
    assert first.deltas > 1 and first.text.strip()
    assert first.done is not None and first.done.usage.completion_tokens > 0
    assert first.done.timings.time_to_first_token_s > 0 and first.done.timings.tokens_per_second > 0
    again = await client.chat("ada", "And of Italy?", first.conversation_id, options=SHORT)
    assert again.conversation_id == first.conversation_id
    assert (
        again.done is not None and again.done.usage.prompt_tokens > first.done.usage.prompt_tokens
    )


async def test_an_ephemeral_chat_sends_the_whole_conversation(client: InferenceClient) -> None:
    """The OpenAI-compatible API holds the conversation itself: every message reaches the model."""
    turns = [
        (llm_pb2.ROLE_USER, "My cat is called Whiskers and she is seven years old."),
        (llm_pb2.ROLE_ASSISTANT, "What a lovely name for a cat."),
        (llm_pb2.ROLE_USER, "What is my cat called?"),
    ]
    results = []
    for messages in (turns[-1:], turns):
        request = llm_pb2.ChatRequest(
            user_id="ada",
            messages=[llm_pb2.Message(role=r, content=c) for r, c in messages],
            options=SHORT,
            ephemeral=True,
        )
        result = ChatResult()
        async for response in client.chat_call(request):
            collect(result, response)
        assert result.done is not None
        results.append(result.done.usage.prompt_tokens)
    # the earlier turns are in the prompt (about 25 tokens of them), not dropped
    assert results[1] >= results[0] + 20, results


@pytest.fixture(scope="module")
async def in_process(
    tmp_path_factory: pytest.TempPathFactory, postgres: EmbeddedPostgres, model_cache: Path
) -> AsyncIterator[tuple[InferenceClient, LlamaCppModel]]:
    """The same servicer on a real gRPC server in this process (as ``june bench llm`` runs
    it), so that a test can look at the model: how many tokens it went on to write."""
    settings = make_settings(
        tmp_path_factory.mktemp("inference-in-process"),
        database_url=postgres.url,
        model_cache_dir=model_cache,
        inference={"llm_context_size": 2048},
    )
    resources = await asyncio.to_thread(load_resources, settings)
    assert isinstance(resources.model, LlamaCppModel)
    servicer = InferenceServicer(resources, settings.inference, default_options(settings))

    def register(server: grpc.aio.Server) -> None:
        llm_pb2_grpc.add_InferenceServicer_to_server(servicer, server)

    async with serve_in_process(register) as address, InferenceClient(address) as client:
        yield client, resources.model
    await resources.model.aclose()


def count_request(max_tokens: int) -> llm_pb2.ChatRequest:
    """A turn the bundled model goes on with for hundreds of tokens (it ends most answers
    after a sentence), so a stop within a few tokens is the cancel's doing."""
    turns = [
        (llm_pb2.ROLE_USER, "Count to 100."),
        (llm_pb2.ROLE_ASSISTANT, ", ".join(str(i) for i in range(1, 101)) + "."),
        (llm_pb2.ROLE_USER, "Count to 100 again."),
    ]
    return llm_pb2.ChatRequest(
        user_id="ada",
        messages=[llm_pb2.Message(role=r, content=c) for r, c in turns],
        options=llm_pb2.ChatOptions(
            max_tokens=max_tokens, temperature=0.0, use_documents=False, use_tools=False
        ),
        ephemeral=True,
    )


async def wait_for_generation_threads() -> None:
    """The model's worker threads have ended (the join timeout only guards a hang)."""
    for thread in threading.enumerate():
        if thread.name == "june-llm-generate":
            await asyncio.to_thread(thread.join, 60)
            assert not thread.is_alive(), "the generation thread did not end"


async def test_cancelling_a_chat_stops_generation(
    in_process: tuple[InferenceClient, LlamaCppModel],
) -> None:
    client, model = in_process
    whole = ChatResult()
    async for response in client.chat_call(count_request(max_tokens=40)):
        collect(whole, response)
    assert whole.done is not None
    assert whole.done.finish_reason == llm_pb2.FINISH_REASON_LENGTH  # it does not stop itself
    prompt_tokens = whole.done.usage.prompt_tokens
    await wait_for_generation_threads()
    assert model.tokens_in_context - prompt_tokens >= 39  # what the count below counts

    call = client.chat_call(count_request(max_tokens=1000))
    result = ChatResult()
    async for response in call:
        collect(result, response)
        if result.deltas >= 3:
            call.cancel()
            break
    await wait_for_generation_threads()
    # The model stopped within a few tokens of the cancel, not the 1000 it was allowed
    assert model.tokens_in_context - prompt_tokens < 20
    after = await client.chat("ada", "The capital of France is", options=SHORT, ephemeral=True)
    assert after.done is not None and after.text.strip()  # the model is free and sane


async def test_a_cancelled_first_turn_leaves_no_empty_conversation(
    client: InferenceClient, postgres: EmbeddedPostgres
) -> None:
    from sqlalchemy import create_engine, select

    from june.db.schema import Conversation, User
    from june.inference.documents.database import sqlalchemy_url

    user = f"ghost-{uuid.uuid4().hex[:8]}"
    request = llm_pb2.ChatRequest(
        user_id=user,
        messages=[llm_pb2.Message(role=llm_pb2.ROLE_USER, content="Write a very long story.")],
        options=llm_pb2.ChatOptions(max_tokens=500),
    )
    call = client.chat_call(request)
    result = ChatResult()
    async for response in call:
        collect(result, response)
        if result.deltas >= 2:
            call.cancel()
            break
    assert result.conversation_id, "the conversation id was announced"
    done = await client.chat(user, "Say hi.", options=SHORT)  # the same user, a whole turn
    engine = create_engine(sqlalchemy_url(postgres.url))
    try:
        with engine.connect() as conn:
            ids = conn.scalars(select(Conversation.id).join(User).where(User.name == user)).all()
    finally:
        engine.dispose()
    assert [str(i) for i in ids] == [done.conversation_id]


async def test_embed(client: InferenceClient) -> None:
    response = await client.stub.Embed(llm_pb2.EmbedRequest(texts=["a cat", "a kitten", "tax law"]))
    vectors = np.array([e.values for e in response.embeddings])
    assert response.dimensions == 384 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


async def test_documents_over_grpc(client: InferenceClient) -> None:
    doc = await client.ingest(
        "bob", "boiler.md", b"# Boiler\nReset the boiler by holding the red button for ten seconds."
    )
    assert doc.chunk_count >= 1 and doc.name == "boiler.md"
    hits = await client.search("bob", "how do I reset the heating?")
    assert hits and hits[0].document_name == "boiler.md"
    assert not await client.search("carol", "how do I reset the heating?")  # not carol's
    listed = await client.stub.ListDocuments(llm_pb2.ListDocumentsRequest(user_id="bob"))
    assert [d.name for d in listed.documents] == ["boiler.md"]
    removed = await client.stub.RemoveDocuments(
        llm_pb2.RemoveDocumentsRequest(user_id="bob", all=True)
    )
    assert list(removed.removed_ids) == [doc.id]


async def test_bad_requests_get_clear_statuses(client: InferenceClient) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await client.chat("ada", "   ")
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await client.chat("ada", "hello", conversation_id="00000000-0000-0000-0000-000000000000")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def test_database_down_is_unavailable_and_the_service_stays_up(tmp_path: Path) -> None:
    dead = f"postgresql+psycopg://postgres:x@127.0.0.1:{free_port()}/june"
    env = service_env(tmp_path, tmp_path / "models", JUNE_DATABASE_URL=dead)
    running = launch("inference", env, tmp_path)
    try:
        wait_healthy(running)
        async with InferenceClient(f"127.0.0.1:{running.ports.grpc}") as c:
            for _ in range(2):
                with pytest.raises(grpc.aio.AioRpcError) as down:
                    await c.chat("ada", "hello")
                assert down.value.code() == grpc.StatusCode.UNAVAILABLE
                assert "PostgreSQL is unavailable" in down.value.details()
            response = await c.stub.Embed(llm_pb2.EmbedRequest(texts=["still here"]))
            assert response.dimensions == 384
    finally:
        assert running.stop() == 0
