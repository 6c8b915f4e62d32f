"""The voices June may speak with: every ``tts`` model on the allowlist, installed or not."""

from __future__ import annotations

from dataclasses import dataclass

from june.models.catalog import load_catalog
from june.models.status import State, check_model
from june.settings import Settings
from june.tts.engine import read_voice_info


@dataclass(frozen=True)
class VoiceEntry:
    id: str
    name: str
    language: str
    sample_rate: int
    quality: str
    speakers: tuple[str, ...]
    installed: bool


class VoiceCatalog:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def voices(self, language: str = "") -> list[VoiceEntry]:
        """All authorized voices; details come from the voice's config when it is installed."""
        entries = []
        for spec in load_catalog(self.settings.model_catalog):
            if spec.role != "tts":
                continue
            status = check_model(self.settings, spec)
            installed = status.state == State.PRESENT and status.path is not None
            if installed:
                assert status.path is not None
                info = read_voice_info(spec.id, status.path)
                entry = VoiceEntry(
                    spec.id,
                    info.name,
                    info.language,
                    info.sample_rate,
                    info.quality,
                    info.speakers,
                    True,
                )
            else:
                entry = VoiceEntry(spec.id, spec.id, "", 0, "", (), False)
            if not language or entry.language.lower().startswith(language.lower()):
                entries.append(entry)
        return entries
