"""The inference service process: ``june.llm.v1.Inference`` on ``JUNE_INFERENCE_PORT`` (50051).

Needs the embedding model ``JUNE_INFERENCE_EMBEDDING_MODEL``, and the GGUF
model ``JUNE_INFERENCE_LLM_MODEL`` unless ``JUNE_INFERENCE_LLM_URL`` points at
an OpenAI-compatible server.
"""

from __future__ import annotations

import grpc

from june.protos import GRPC_SERVICE_NAMES, llm_pb2_grpc
from june.services.grpc_server import GrpcService, unimplemented_servicer
from june.settings import Settings


def required_models(settings: Settings) -> list[tuple[str, str]]:
    models = [(settings.inference.embedding_model, "embeddings")]
    if not settings.inference.llm_url:
        models.insert(0, (settings.inference.llm_model, "llm"))
    return models


def register(server: grpc.aio.Server) -> None:
    servicer = unimplemented_servicer(
        llm_pb2_grpc.InferenceServicer, "the language model is not in this build of June yet"
    )
    llm_pb2_grpc.add_InferenceServicer_to_server(servicer, server)


def create_service(settings: Settings) -> GrpcService:
    return GrpcService(
        settings,
        "inference",
        service_names=[GRPC_SERVICE_NAMES["llm"]],
        register=register,
        models=required_models(settings),
    )
