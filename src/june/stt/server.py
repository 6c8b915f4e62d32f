"""The stt service process: ``june.asr.v1.Recognizer`` on ``JUNE_STT_PORT`` (default 50052).

Needs the Whisper model ``JUNE_STT_MODEL`` and the VAD model
``JUNE_STT_VAD_MODEL``. The model is loaded once, before the service reports
SERVING, and shared by every request.
"""

from __future__ import annotations

import asyncio

import grpc
import structlog

from june.models.resolve import require_models
from june.protos import GRPC_SERVICE_NAMES, asr_pb2_grpc
from june.services.grpc_server import GrpcService
from june.settings import Settings
from june.stt.engine import WhisperEngine
from june.stt.service import RecognizerServicer

log = structlog.get_logger(__name__)


def required_models(settings: Settings) -> list[tuple[str, str]]:
    return [(settings.stt.model, "stt"), (settings.stt.vad_model, "vad")]


def load_engine(settings: Settings) -> WhisperEngine:
    paths = require_models(settings, required_models(settings))
    return WhisperEngine(paths[settings.stt.model], paths[settings.stt.vad_model], settings.stt)


class SttService(GrpcService):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.servicer: RecognizerServicer | None = None
        super().__init__(
            settings,
            "stt",
            service_names=[GRPC_SERVICE_NAMES["asr"]],
            register=self._register,
            models=required_models(settings),
        )

    async def start(self) -> None:
        engine = await asyncio.to_thread(load_engine, self.settings)
        log.info("stt.model_loaded", model=engine.model_name, device=self.settings.stt.device)
        self.servicer = RecognizerServicer(engine, self.settings.stt)
        await super().start()

    def _register(self, server: grpc.aio.Server) -> None:
        assert self.servicer is not None
        asr_pb2_grpc.add_RecognizerServicer_to_server(self.servicer, server)

    def health(self) -> dict[str, object]:
        return {**super().health(), "model": self.settings.stt.model}


def create_service(settings: Settings) -> SttService:
    return SttService(settings)
