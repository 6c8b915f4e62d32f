"""A client of the inference service, for the command line, the benchmarks and the gateway."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from june.protos import llm_pb2, llm_pb2_grpc
from june.services.local import channel


@dataclass
class ChatResult:
    """One Chat call as the client saw it, with arrival times (perf_counter)."""

    conversation_id: str = ""
    text: str = ""
    reasoning: str = ""
    tool_calls: list[llm_pb2.ToolCall] = field(default_factory=list)
    tool_results: list[llm_pb2.ToolResult] = field(default_factory=list)
    sources: list[llm_pb2.Source] = field(default_factory=list)
    done: llm_pb2.ChatDone | None = None
    started_at: float = 0.0
    first_delta_at: float = 0.0
    deltas: int = 0

    @property
    def time_to_first_token_s(self) -> float:
        return self.first_delta_at - self.started_at if self.first_delta_at else 0.0


class InferenceClient:
    def __init__(self, address: str) -> None:
        self.address = address
        self._channel = channel(address)
        self.stub = llm_pb2_grpc.InferenceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> InferenceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def chat_call(self, request: llm_pb2.ChatRequest, timeout: float | None = 600) -> object:
        """The raw streaming call (to read events one by one, or cancel it)."""
        return self.stub.Chat(request, timeout=timeout)

    async def chat(
        self,
        user: str,
        text: str,
        conversation_id: str = "",
        options: llm_pb2.ChatOptions | None = None,
        ephemeral: bool = False,
    ) -> ChatResult:
        request = llm_pb2.ChatRequest(
            user_id=user,
            conversation_id=conversation_id,
            messages=[llm_pb2.Message(role=llm_pb2.ROLE_USER, content=text)],
            options=options or llm_pb2.ChatOptions(),
            ephemeral=ephemeral,
        )
        result = ChatResult(started_at=time.perf_counter())
        async for response in self.stub.Chat(request):
            collect(result, response)
        return result

    async def ingest(
        self, user: str, name: str, data: bytes, mime_type: str = "", chunk: int = 256 * 1024
    ) -> llm_pb2.Document:
        async def requests() -> AsyncIterator[llm_pb2.IngestDocumentRequest]:
            yield llm_pb2.IngestDocumentRequest(
                metadata=llm_pb2.DocumentMetadata(
                    user_id=user, name=name, mime_type=mime_type, size_bytes=len(data)
                )
            )
            for i in range(0, len(data), chunk):
                yield llm_pb2.IngestDocumentRequest(content=data[i : i + chunk])

        document = None
        async for response in self.stub.IngestDocument(requests()):
            if response.WhichOneof("event") == "document":
                document = response.document
        assert document is not None
        return document

    async def search(self, user: str, query: str, k: int = 3) -> list[llm_pb2.SearchHit]:
        response = await self.stub.SearchDocuments(
            llm_pb2.SearchDocumentsRequest(user_id=user, query=query, k=k)
        )
        return list(response.hits)


def collect(result: ChatResult, response: llm_pb2.ChatResponse) -> None:
    kind = response.WhichOneof("event")
    if kind == "started":
        result.conversation_id = response.started.conversation_id
    elif kind == "delta":
        if not result.first_delta_at:
            result.first_delta_at = time.perf_counter()
        result.deltas += 1
        result.text += response.delta.text
    elif kind == "reasoning":
        result.reasoning += response.reasoning.text
    elif kind == "tool_call":
        result.tool_calls.append(response.tool_call)
    elif kind == "tool_result":
        result.tool_results.append(response.tool_result)
    elif kind == "sources":
        result.sources.extend(response.sources.sources)
    elif kind == "done":
        result.done = response.done
