"""``june.llm.v1.Inference``: chat with memory, documents and tools; embeddings; document store.

``Chat`` streams the turn's events as they happen (started, sources, text
deltas, reasoning, tool calls and results, done with usage and timings). When
the client goes away the call is cancelled, which sets the turn's ``cancel``
event and stops the model at its next token. Bad input → INVALID_ARGUMENT, an
unknown conversation → NOT_FOUND, the LLM server or the database down →
UNAVAILABLE, each with a message that names the problem.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.exc import OperationalError

from june.inference.chat import (
    ChatService,
    SourcesFound,
    ToolRan,
    TurnDone,
    TurnRequest,
    TurnStarted,
)
from june.inference.documents.errors import (
    DatabaseUnavailableError,
    DocumentError,
    DocumentNotFoundError,
)
from june.inference.documents.store import DocumentInfo, DocumentStore, IngestStage
from june.inference.llm.base import (
    BackendUnavailableError,
    ChatMessage,
    ContextOverflowError,
    GenerationOptions,
    LLMError,
    ReasoningChunk,
    TextChunk,
    ToolCallChunk,
)
from june.inference.memory import ConversationNotFoundError
from june.protos import llm_pb2, llm_pb2_grpc
from june.services.requests import (
    ConcurrencyLimit,
    InvalidRequest,
    first_message,
    invalid,
    refuse,
)
from june.settings import InferenceSettings

if TYPE_CHECKING:
    from june.inference.chat import ChatService
    from june.inference.server import Resources

log = structlog.get_logger(__name__)

ERRORS = Counter("june_llm_errors_total", "Inference requests that failed", ["method", "code"])
TOKENS_IN = Counter("june_llm_prompt_tokens_total", "Prompt tokens processed")
TOKENS_OUT = Counter("june_llm_completion_tokens_total", "Tokens generated")
TTFT = Histogram(
    "june_llm_time_to_first_token_seconds",
    "From the Chat request to the first token of the answer",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10),
)
TOKENS_PER_SECOND = Histogram(
    "june_llm_tokens_per_second",
    "Generation speed per answer",
    buckets=(1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 400),
)
IN_FLIGHT = Gauge("june_llm_in_flight", "Inference requests being served")
FINISH = {
    "stop": llm_pb2.FINISH_REASON_STOP,
    "length": llm_pb2.FINISH_REASON_LENGTH,
    "tool_limit": llm_pb2.FINISH_REASON_TOOL_LIMIT,
    "cancelled": llm_pb2.FINISH_REASON_CANCELLED,
}
STAGES = {
    IngestStage.PARSING: llm_pb2.INGEST_STAGE_PARSING,
    IngestStage.CHUNKING: llm_pb2.INGEST_STAGE_CHUNKING,
    IngestStage.EMBEDDING: llm_pb2.INGEST_STAGE_EMBEDDING,
    IngestStage.STORING: llm_pb2.INGEST_STAGE_STORING,
}


class InferenceServicer(llm_pb2_grpc.InferenceServicer):
    def __init__(
        self, resources: Resources, settings: InferenceSettings, defaults: GenerationOptions
    ) -> None:
        self.resources = resources
        self.embedder = resources.embedder
        self.settings = settings
        self.defaults = defaults
        self._limit = ConcurrencyLimit("inference", settings.max_concurrency, IN_FLIGHT)

    async def _stores(self) -> tuple[ChatService, DocumentStore]:
        """Chat and documents need PostgreSQL: connected on first use, retried after an outage."""
        return await asyncio.to_thread(self.resources.connect)

    # ------------------------------------------------------------------- chat
    async def Chat(
        self, request: llm_pb2.ChatRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[llm_pb2.ChatResponse]:
        cancel = threading.Event()
        try:
            turn = self._turn(request)
            async with self._limit.slot():
                chat, _ = await self._stores()
                try:
                    async for event in chat.turn(turn, cancel):
                        yield _chat_event(event)
                except asyncio.CancelledError:
                    cancel.set()  # the client went away: stop the model at its next token
                    raise
        except InvalidRequest as error:
            await refuse(context, "inference", "Chat", error, ERRORS)
        except Exception as exc:
            await refuse(context, "inference", "Chat", _status(exc), ERRORS)

    def _turn(self, request: llm_pb2.ChatRequest) -> TurnRequest:
        if not request.user_id.strip():
            raise invalid("user_id is required")
        users = [m for m in request.messages if m.role == llm_pb2.ROLE_USER]
        if not users or not users[-1].content.strip():
            raise invalid("the last message must be a non-empty user message")
        opts = request.options
        served = self.resources.model.name
        if opts.model and opts.model != served:
            raise invalid(f"model {opts.model!r} is not served here (it runs {served!r})")
        if opts.max_tokens < 0 or opts.max_tokens > 8192:
            raise invalid("max_tokens must be between 1 and 8192")
        defaults = self.defaults
        options = GenerationOptions(
            max_tokens=opts.max_tokens or defaults.max_tokens,
            temperature=opts.temperature if opts.HasField("temperature") else defaults.temperature,
            top_p=opts.top_p if opts.HasField("top_p") else defaults.top_p,
            stop=tuple(opts.stop),
            seed=opts.seed if opts.HasField("seed") else None,
        )
        return TurnRequest(
            user=request.user_id,
            text=users[-1].content,
            conversation_id=request.conversation_id or None,
            options=options,
            use_documents=opts.use_documents if opts.HasField("use_documents") else True,
            use_tools=opts.use_tools if opts.HasField("use_tools") else True,
            documents_top_k=opts.documents_top_k or 3,
            system_prompt=opts.system_prompt or None,
            ephemeral=request.ephemeral,
            history=_history(request) if request.ephemeral else [],
        )

    # ------------------------------------------------------------- embeddings
    async def Embed(
        self, request: llm_pb2.EmbedRequest, context: grpc.aio.ServicerContext
    ) -> llm_pb2.EmbedResponse:
        try:
            if not request.texts:
                raise invalid("texts is empty")
            if request.model and request.model != self.embedder.model_id:
                raise invalid(f"embedding model {request.model!r} is not served here")
            result = await asyncio.to_thread(self.embedder.embed, list(request.texts))
        except InvalidRequest as error:
            await refuse(context, "inference", "Embed", error, ERRORS)
        return llm_pb2.EmbedResponse(
            embeddings=[llm_pb2.Embedding(values=v.tolist()) for v in result.vectors],
            dimensions=self.embedder.dimensions,
            model=self.embedder.model_id,
            tokens=result.tokens,
        )

    # -------------------------------------------------------------- documents
    async def IngestDocument(
        self,
        request_iterator: AsyncIterator[llm_pb2.IngestDocumentRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[llm_pb2.IngestDocumentResponse]:
        try:
            requests = request_iterator.__aiter__()
            first = await first_message(requests, "metadata", "IngestDocument")
            meta = first.metadata
            if not meta.name.strip():
                raise invalid("the document needs a name")
            chat, documents = await self._stores()
            data = bytearray()
            async for request in requests:
                data += request.content
                if len(data) > documents.max_bytes:
                    raise InvalidRequest(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"the document is over {documents.max_bytes} bytes",
                    )
            yield llm_pb2.IngestDocumentResponse(
                progress=llm_pb2.IngestProgress(
                    stage=llm_pb2.INGEST_STAGE_RECEIVING, done=len(data), total=len(data)
                )
            )
            progress: asyncio.Queue[llm_pb2.IngestProgress] = asyncio.Queue()
            loop = asyncio.get_running_loop()

            def report(stage: IngestStage, done: int, total: int) -> None:
                message = llm_pb2.IngestProgress(stage=STAGES[stage], done=done, total=total)
                loop.call_soon_threadsafe(progress.put_nowait, message)

            async def ingest() -> DocumentInfo:
                user_id = await asyncio.to_thread(chat.memory.resolve_user, meta.user_id)
                result = await asyncio.to_thread(
                    documents.ingest,
                    user_id,
                    meta.name,
                    bytes(data),
                    meta.mime_type or None,
                    report,
                )
                return result.document

            job = asyncio.ensure_future(ingest())
            while not job.done() or not progress.empty():
                getter = asyncio.ensure_future(progress.get())
                await asyncio.wait({job, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield llm_pb2.IngestDocumentResponse(progress=getter.result())
                else:
                    getter.cancel()
            yield llm_pb2.IngestDocumentResponse(document=_document(job.result()))
        except InvalidRequest as error:
            await refuse(context, "inference", "IngestDocument", error, ERRORS)
        except Exception as exc:
            await refuse(context, "inference", "IngestDocument", _status(exc), ERRORS)

    async def SearchDocuments(
        self, request: llm_pb2.SearchDocumentsRequest, context: grpc.aio.ServicerContext
    ) -> llm_pb2.SearchDocumentsResponse:
        try:
            chat, documents = await self._stores()
            user_id = await asyncio.to_thread(chat.memory.resolve_user, request.user_id)
            ids = [_uuid(i) for i in request.document_ids] or None
            hits = await asyncio.to_thread(
                documents.search, user_id, request.query, request.k or 5, ids
            )
        except Exception as exc:
            await refuse(context, "inference", "SearchDocuments", _status(exc), ERRORS)
        return llm_pb2.SearchDocumentsResponse(
            hits=[
                llm_pb2.SearchHit(
                    document_id=str(h.document_id),
                    document_name=h.document_name,
                    chunk_id=str(h.chunk_id),
                    chunk_index=h.chunk_index,
                    score=h.score,
                    text=h.text,
                )
                for h in hits
            ]
        )

    async def ListDocuments(
        self, request: llm_pb2.ListDocumentsRequest, context: grpc.aio.ServicerContext
    ) -> llm_pb2.ListDocumentsResponse:
        try:
            chat, documents = await self._stores()
            user_id = await asyncio.to_thread(chat.memory.resolve_user, request.user_id)
            docs = await asyncio.to_thread(documents.list_documents, user_id)
        except Exception as exc:
            await refuse(context, "inference", "ListDocuments", _status(exc), ERRORS)
        return llm_pb2.ListDocumentsResponse(documents=[_document(d) for d in docs])

    async def RemoveDocuments(
        self, request: llm_pb2.RemoveDocumentsRequest, context: grpc.aio.ServicerContext
    ) -> llm_pb2.RemoveDocumentsResponse:
        try:
            chat, documents = await self._stores()
            user_id = await asyncio.to_thread(chat.memory.resolve_user, request.user_id)
            if request.all:
                removed = await asyncio.to_thread(documents.remove_all, user_id)
            else:
                ids = [_uuid(i) for i in request.document_ids]
                if not ids:
                    raise invalid("name the documents to remove, or set all")
                removed = await asyncio.to_thread(documents.remove, user_id, ids)
        except Exception as exc:
            await refuse(context, "inference", "RemoveDocuments", _status(exc), ERRORS)
        return llm_pb2.RemoveDocumentsResponse(removed_ids=[str(i) for i in removed])


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise invalid(f"{text!r} is not a document id") from None


def _status(exc: BaseException) -> InvalidRequest:
    """Every failure as a status with a message: what is wrong, or what is down."""
    if isinstance(exc, InvalidRequest):
        return exc
    if isinstance(exc, ConversationNotFoundError | DocumentNotFoundError):
        return InvalidRequest(grpc.StatusCode.NOT_FOUND, str(exc))
    if isinstance(exc, DocumentError) and exc.code == "too_large":
        return InvalidRequest(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
    if isinstance(exc, OperationalError):
        return InvalidRequest(grpc.StatusCode.UNAVAILABLE, f"PostgreSQL is unavailable: {exc.orig}")
    if isinstance(exc, DatabaseUnavailableError | BackendUnavailableError):
        return InvalidRequest(grpc.StatusCode.UNAVAILABLE, str(exc))
    if isinstance(exc, DocumentError | ContextOverflowError):
        return invalid(str(exc))
    if isinstance(exc, LLMError):
        return InvalidRequest(grpc.StatusCode.INTERNAL, f"the model failed: {exc}")
    log.error("inference.failed", error=repr(exc))
    return InvalidRequest(grpc.StatusCode.INTERNAL, f"inference failed: {exc}")


def _document(info: DocumentInfo) -> llm_pb2.Document:
    created = Timestamp()
    created.FromDatetime(info.created_at)
    return llm_pb2.Document(
        id=str(info.id),
        user_id=str(info.user_id),
        name=info.name,
        mime_type=info.mime_type,
        size_bytes=info.size_bytes,
        sha256=info.sha256,
        chunk_count=info.chunk_count,
        created_at=created,
    )


def _chat_event(event: object) -> llm_pb2.ChatResponse:
    if isinstance(event, TurnStarted):
        return llm_pb2.ChatResponse(
            started=llm_pb2.ChatStarted(
                conversation_id=event.conversation_id,
                message_id=event.message_id,
                model=event.model,
            )
        )
    if isinstance(event, TextChunk):
        return llm_pb2.ChatResponse(delta=llm_pb2.TextDelta(text=event.text))
    if isinstance(event, ReasoningChunk):
        return llm_pb2.ChatResponse(reasoning=llm_pb2.ReasoningDelta(text=event.text))
    if isinstance(event, ToolCallChunk):
        call = event.call
        return llm_pb2.ChatResponse(
            tool_call=llm_pb2.ToolCall(
                id=call.id, name=call.name, arguments_json=call.arguments_json
            )
        )
    if isinstance(event, ToolRan):
        o = event.outcome
        return llm_pb2.ChatResponse(
            tool_result=llm_pb2.ToolResult(
                tool_call_id=o.call.id,
                name=o.call.name,
                content=o.content,
                is_error=o.is_error,
                duration_s=o.duration_s,
            )
        )
    if isinstance(event, SourcesFound):
        return llm_pb2.ChatResponse(
            sources=llm_pb2.Sources(
                sources=[
                    llm_pb2.Source(
                        document_id=str(h.document_id),
                        document_name=h.document_name,
                        chunk_index=h.chunk_index,
                        score=h.score,
                        text=h.text,
                    )
                    for h in event.hits
                ]
            )
        )
    assert isinstance(event, TurnDone)
    TOKENS_IN.inc(event.prompt_tokens)
    TOKENS_OUT.inc(event.completion_tokens)
    if event.time_to_first_token_s:
        TTFT.observe(event.time_to_first_token_s)
    if event.tokens_per_second:
        TOKENS_PER_SECOND.observe(event.tokens_per_second)
    return llm_pb2.ChatResponse(
        done=llm_pb2.ChatDone(
            message=llm_pb2.Message(role=llm_pb2.ROLE_ASSISTANT, content=event.text),
            reasoning=event.reasoning,
            finish_reason=FINISH.get(event.finish_reason, llm_pb2.FINISH_REASON_STOP),
            usage=llm_pb2.Usage(
                prompt_tokens=event.prompt_tokens,
                completion_tokens=event.completion_tokens,
                total_tokens=event.prompt_tokens + event.completion_tokens,
            ),
            timings=llm_pb2.ChatTimings(
                retrieval_s=event.retrieval_s,
                time_to_first_token_s=event.time_to_first_token_s,
                tokens_per_second=event.tokens_per_second,
                total_s=event.total_s,
                tool_rounds=event.tool_rounds,
            ),
        )
    )


_HISTORY_ROLES = {llm_pb2.ROLE_USER: "user", llm_pb2.ROLE_ASSISTANT: "assistant"}


def _history(request: llm_pb2.ChatRequest) -> list[ChatMessage]:
    """An ephemeral request's earlier turns (everything before its last message).

    System messages are the caller's system prompt (``options.system_prompt``);
    tool messages belong to a tool round the caller ran itself and are not replayed.
    """
    return [
        ChatMessage(_HISTORY_ROLES[m.role], m.content)
        for m in request.messages[:-1]
        if m.role in _HISTORY_ROLES and m.content.strip()
    ]
