"""The stt service process: ``june.asr.v1.Recognizer`` on ``JUNE_STT_PORT`` (default 50052).

Needs the Whisper model ``JUNE_STT_MODEL`` and the VAD model ``JUNE_STT_VAD_MODEL``.
"""

from __future__ import annotations

import grpc

from june.protos import GRPC_SERVICE_NAMES, asr_pb2_grpc
from june.services.grpc_server import GrpcService, unimplemented_servicer
from june.settings import Settings


def required_models(settings: Settings) -> list[tuple[str, str]]:
    return [(settings.stt.model, "stt"), (settings.stt.vad_model, "vad")]


def register(server: grpc.aio.Server) -> None:
    servicer = unimplemented_servicer(
        asr_pb2_grpc.RecognizerServicer, "speech recognition is not in this build of June yet"
    )
    asr_pb2_grpc.add_RecognizerServicer_to_server(servicer, server)


def create_service(settings: Settings) -> GrpcService:
    return GrpcService(
        settings,
        "stt",
        service_names=[GRPC_SERVICE_NAMES["asr"]],
        register=register,
        models=required_models(settings),
    )
