"""The inference service process: ``june.llm.v1.Inference`` on ``JUNE_INFERENCE_PORT`` (50051).

Needs the embedding model ``JUNE_INFERENCE_EMBEDDING_MODEL``, and the GGUF
model ``JUNE_INFERENCE_LLM_MODEL`` unless ``JUNE_INFERENCE_LLM_URL`` points at
an OpenAI-compatible server. The model loads before the service reports
SERVING. PostgreSQL is connected on first need and again after it was down:
while it is unavailable, chat and document calls answer UNAVAILABLE saying so,
and the service itself keeps running.
"""

from __future__ import annotations

import asyncio
import threading

import grpc
import structlog

from june.inference.chat import ChatService
from june.inference.documents.database import engine_from_settings
from june.inference.documents.store import DocumentStore
from june.inference.embedder import MiniLmEmbedder
from june.inference.llm.base import ChatModel
from june.inference.llm.factory import create_chat_model, default_options
from june.inference.memory import ConversationStore
from june.inference.service import InferenceServicer
from june.inference.tools import ToolRegistry, builtin_tools
from june.protos import GRPC_SERVICE_NAMES, llm_pb2_grpc
from june.services.grpc_server import GrpcService
from june.settings import Settings
from june.storage import open_object_store

log = structlog.get_logger(__name__)


def required_models(settings: Settings) -> list[tuple[str, str]]:
    models = [(settings.inference.embedding_model, "embeddings")]
    if not settings.inference.llm_url:
        models.insert(0, (settings.inference.llm_model, "llm"))
    return models


class Resources:
    """The model and embedder (loaded once) and the database-backed stores (connected lazily)."""

    def __init__(self, settings: Settings, model: ChatModel, embedder: MiniLmEmbedder) -> None:
        self.settings = settings
        self.model = model
        self.embedder = embedder
        self._chat: ChatService | None = None
        self._documents: DocumentStore | None = None
        self._lock = threading.Lock()

    def connect(self) -> tuple[ChatService, DocumentStore]:
        """The stores, connecting (and migrating) now if needed; DatabaseUnavailableError if not."""
        with self._lock:
            if self._chat is None or self._documents is None:
                engine = engine_from_settings(self.settings)
                documents = DocumentStore(engine, self.embedder, open_object_store(self.settings))
                self._documents = documents
                self._chat = ChatService(
                    self.model, ConversationStore(engine), documents, ToolRegistry(builtin_tools())
                )
            return self._chat, self._documents


def load_resources(settings: Settings) -> Resources:
    model = create_chat_model(settings)
    embedder = MiniLmEmbedder.from_settings(settings)
    embedder.load()
    return Resources(settings, model, embedder)


class InferenceService(GrpcService):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.servicer: InferenceServicer | None = None
        super().__init__(
            settings,
            "inference",
            service_names=[GRPC_SERVICE_NAMES["llm"]],
            register=self._register,
            models=required_models(settings),
        )

    async def start(self) -> None:
        resources = await asyncio.to_thread(load_resources, self.settings)
        log.info("inference.model_loaded", model=resources.model.name)
        self.servicer = InferenceServicer(
            resources, self.settings.inference, default_options(self.settings)
        )
        await super().start()

    def _register(self, server: grpc.aio.Server) -> None:
        assert self.servicer is not None
        llm_pb2_grpc.add_InferenceServicer_to_server(self.servicer, server)

    def health(self) -> dict[str, object]:
        model = self.servicer.resources.model.name if self.servicer else None
        return {**super().health(), "model": model}


def create_service(settings: Settings) -> InferenceService:
    return InferenceService(settings)
