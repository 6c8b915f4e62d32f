"""Which model names the OpenAI-compatible API accepts, and what ``/v1/models`` lists.

OpenAI clients hard-code OpenAI's names (``whisper-1``, ``tts-1``), so those are
accepted as aliases of what June serves; June's own ids (from the settings the
services run with) are accepted too, and ``june`` names the assistant's LLM
whatever model backs it, so a client configured once keeps working when the
LLM is swapped. The gateway never forwards a model name: the services check
the name against what they loaded, and an alias would fail there.
"""

from __future__ import annotations

from dataclasses import dataclass

from june.settings import Settings

#: The LLM under a name that survives a change of model.
LLM_ALIAS = "june"
STT_ALIASES = ("whisper-1",)
#: OpenAI's speech models; June speaks with its tts service whichever is named.
TTS_ALIASES = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")


@dataclass(frozen=True)
class ModelEntry:
    """One ``/v1/models`` row: OpenAI's fields plus June's role and what an alias stands for."""

    id: str
    role: str  # llm | stt | tts
    alias_of: str | None = None

    def openai(self) -> dict[str, object]:
        return {
            "id": self.id,
            "object": "model",
            "created": 0,
            "owned_by": "june",
            "role": self.role,
            "alias_of": self.alias_of,
        }


def served_llm(settings: Settings) -> str:
    """The id of the model answering: the remote server's model when one is named (without
    one, the remote server picks its first model and ``june`` is the name to use)."""
    inference = settings.inference
    return (inference.llm_url and inference.llm_remote_model) or inference.llm_model


def llm_ids(settings: Settings) -> list[str]:
    """Names that mean "the served LLM": ``june`` and the served model's id."""
    return [LLM_ALIAS, served_llm(settings)]


def stt_ids(settings: Settings) -> list[str]:
    return [*STT_ALIASES, settings.stt.model]


def catalogue(settings: Settings, voices: list[str]) -> list[ModelEntry]:
    """Everything ``/v1/models`` lists; ``voices`` are the installed tts voice ids."""
    llm = served_llm(settings)
    entries = [ModelEntry(LLM_ALIAS, "llm", llm), ModelEntry(llm, "llm")]
    entries += [ModelEntry(a, "stt", settings.stt.model) for a in STT_ALIASES]
    entries.append(ModelEntry(settings.stt.model, "stt"))
    entries += [ModelEntry(a, "tts", settings.tts.voice) for a in TTS_ALIASES]
    entries += [ModelEntry(v, "tts") for v in voices]
    return entries
