"""The tts service process: ``june.tts.v1.Synthesizer`` on ``JUNE_TTS_PORT`` (default 50053).

Needs the Piper voice ``JUNE_TTS_VOICE``.
"""

from __future__ import annotations

import grpc

from june.protos import GRPC_SERVICE_NAMES, tts_pb2_grpc
from june.services.grpc_server import GrpcService, unimplemented_servicer
from june.settings import Settings


def required_models(settings: Settings) -> list[tuple[str, str]]:
    return [(settings.tts.voice, "tts")]


def register(server: grpc.aio.Server) -> None:
    servicer = unimplemented_servicer(
        tts_pb2_grpc.SynthesizerServicer, "speech synthesis is not in this build of June yet"
    )
    tts_pb2_grpc.add_SynthesizerServicer_to_server(servicer, server)


def create_service(settings: Settings) -> GrpcService:
    return GrpcService(
        settings,
        "tts",
        service_names=[GRPC_SERVICE_NAMES["tts"]],
        register=register,
        models=required_models(settings),
    )
