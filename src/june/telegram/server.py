"""The telegram worker process: no API port, only ``/metrics`` and ``/health``.

It serves on ``JUNE_TELEGRAM_METRICS_PORT`` (default 8004). Without
``JUNE_TELEGRAM_BOT_TOKEN`` the bot is disabled and the worker idles, healthy,
so that ``june up`` works out of the box.
"""

from __future__ import annotations

from typing import Any

import structlog

from june.services.errors import PortSpec
from june.settings import ServiceName, Settings

log = structlog.get_logger(__name__)

DISABLED = "disabled: set JUNE_TELEGRAM_BOT_TOKEN"
NOT_YET = "token set, but the bot worker is not in this build of June yet"


class TelegramService:
    name: ServiceName = "telegram"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics_port = PortSpec(
            settings.host,
            settings.telegram.metrics_port,
            "telegram metrics",
            "JUNE_TELEGRAM_METRICS_PORT",
        )
        self.bot = NOT_YET if settings.telegram.bot_token else DISABLED

    def required_models(self) -> list[tuple[str, str]]:
        return []

    async def start(self) -> None:
        log.info("telegram.idle", bot=self.bot)

    async def stop(self, grace_s: float) -> None:
        pass

    def health(self) -> dict[str, Any]:
        return {"bot": self.bot}


def create_service(settings: Settings) -> TelegramService:
    return TelegramService(settings)
