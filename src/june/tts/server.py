"""The tts service process: ``june.tts.v1.Synthesizer`` on ``JUNE_TTS_PORT`` (default 50053).

Needs the Piper voice ``JUNE_TTS_VOICE``, loaded before the service reports
SERVING; other authorized voices load on first use.
"""

from __future__ import annotations

import asyncio

import grpc
import structlog

from june.models.resolve import resolve_model
from june.protos import GRPC_SERVICE_NAMES, tts_pb2_grpc
from june.services.grpc_server import GrpcService
from june.settings import Settings
from june.tts.engine import PiperEngine
from june.tts.service import SynthesizerServicer
from june.tts.voices import VoiceCatalog

log = structlog.get_logger(__name__)


def required_models(settings: Settings) -> list[tuple[str, str]]:
    return [(settings.tts.voice, "tts")]


def load_engine(settings: Settings) -> PiperEngine:
    return PiperEngine(
        settings.tts.voice,
        lambda voice: resolve_model(settings, voice, "tts"),
        use_cuda=settings.tts.use_cuda,
    )


def build_servicer(settings: Settings) -> SynthesizerServicer:
    return SynthesizerServicer(load_engine(settings), VoiceCatalog(settings), settings.tts)


class TtsService(GrpcService):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.servicer: SynthesizerServicer | None = None
        super().__init__(
            settings,
            "tts",
            service_names=[GRPC_SERVICE_NAMES["tts"]],
            register=self._register,
            models=required_models(settings),
        )

    async def start(self) -> None:
        self.servicer = await asyncio.to_thread(build_servicer, self.settings)
        log.info("tts.voice_loaded", voice=self.settings.tts.voice)
        await super().start()

    def _register(self, server: grpc.aio.Server) -> None:
        assert self.servicer is not None
        tts_pb2_grpc.add_SynthesizerServicer_to_server(self.servicer, server)

    def health(self) -> dict[str, object]:
        return {**super().health(), "voice": self.settings.tts.voice}


def create_service(settings: Settings) -> TtsService:
    return TtsService(settings)
