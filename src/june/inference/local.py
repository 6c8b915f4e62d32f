"""The inference service for a command: the running one, or the same service in-process.

In-process, the service needs a PostgreSQL for memory: the configured one if it
answers, else a throwaway embedded server in a temporary folder (a benchmark
must not write into the user's conversations).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from june.inference.client import InferenceClient
from june.inference.llm.base import ChatEvent, ChatMessage, Finished, GenerationOptions, TextChunk
from june.infra.ports import free_port
from june.infra.postgres import EmbeddedPostgres
from june.models.resolve import enforce_offline
from june.protos import llm_pb2, llm_pb2_grpc
from june.services.local import serve_in_process, service_is_up
from june.settings import Settings


@asynccontextmanager
async def inference_address(settings: Settings) -> AsyncIterator[tuple[str, str]]:
    """``(address, "service" | "in-process")``."""
    from june.inference.llm.factory import default_options
    from june.inference.server import load_resources
    from june.inference.service import InferenceServicer

    address = settings.grpc_address("inference")
    if await service_is_up(address):
        yield address, "service"
        return
    enforce_offline()
    with tempfile.TemporaryDirectory(prefix="june-bench-") as tmp:
        scratch = settings.model_copy(
            update={
                "data_dir": Path(tmp),
                "model_cache_dir": settings.models_dir,
                "postgres": settings.postgres.model_copy(update={"port": free_port()}),
            }
        )
        postgres = EmbeddedPostgres(scratch)
        url = postgres.start()
        try:
            local = scratch.model_copy(update={"database_url": url})
            resources = await asyncio.to_thread(load_resources, local)
            servicer = InferenceServicer(resources, local.inference, default_options(local))
            async with serve_in_process(
                lambda server: llm_pb2_grpc.add_InferenceServicer_to_server(servicer, server)
            ) as served:
                yield served, "in-process"
            await resources.model.aclose()
        finally:
            postgres.stop()


def grpc_stream(client: InferenceClient):  # type: ignore[no-untyped-def]
    """A ``(messages, options) -> ChatEvent stream`` over gRPC Chat, for ``june bench llm``.

    The turn is ephemeral, without documents or tools, with the messages' own system
    prompt: the same prompt the backend gets when called directly.
    """

    async def stream(
        messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[ChatEvent]:
        system = next((m.content for m in messages if m.role == "system"), "")
        user = [m for m in messages if m.role == "user"][-1].content
        request = llm_pb2.ChatRequest(
            user_id="bench",
            messages=[llm_pb2.Message(role=llm_pb2.ROLE_USER, content=user)],
            options=llm_pb2.ChatOptions(
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                top_p=options.top_p,
                seed=options.seed,
                use_documents=False,
                use_tools=False,
                system_prompt=system,
            ),
            ephemeral=True,
        )
        async for response in client.stub.Chat(request):
            kind = response.WhichOneof("event")
            if kind == "delta":
                yield TextChunk(response.delta.text)
            elif kind == "done":
                usage = response.done.usage
                yield Finished("stop", usage.prompt_tokens, usage.completion_tokens)

    return stream
