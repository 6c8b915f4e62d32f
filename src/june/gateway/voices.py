"""OpenAI's speech request (voice names, formats, speed) → June's tts ``SynthesisConfig``.

OpenAI clients name voices that do not exist here (``alloy``, ``nova`` …);
each maps to a June voice through ``JUNE_GATEWAY_VOICE_MAP`` (by default all
of them to "", the tts service's default voice), so an OpenAI client works
unchanged and an operator can give each name a voice of its own. A June voice
id (``piper-en_US-joe-medium``) is accepted as it is.

Formats: the tts service makes MP3, OGG/Opus, WAV and raw PCM. OpenAI's ``pcm``
is 24 kHz signed 16-bit little-endian mono, so ``pcm`` asks the service to
resample to 24000; the other formats keep the voice's rate (Opus is always
48 kHz). FLAC and AAC are refused by name rather than silently sent as
something else.
"""

from __future__ import annotations

from dataclasses import dataclass

from june.gateway.errors import ApiError
from june.protos import tts_pb2

OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
)
#: OpenAI's raw PCM rate.
PCM_RATE = 24_000
MIN_SPEED, MAX_SPEED = 0.25, 4.0


@dataclass(frozen=True)
class SpeechFormat:
    proto: int
    content_type: str
    sample_rate_hz: int = 0  # 0: the voice's own rate


#: OpenAI ``response_format`` → what the tts service is asked for and the HTTP Content-Type.
FORMATS: dict[str, SpeechFormat] = {
    "mp3": SpeechFormat(tts_pb2.AUDIO_FORMAT_MP3, "audio/mpeg"),
    "opus": SpeechFormat(tts_pb2.AUDIO_FORMAT_OGG_OPUS, "audio/ogg; codecs=opus"),
    "wav": SpeechFormat(tts_pb2.AUDIO_FORMAT_WAV, "audio/wav"),
    "pcm": SpeechFormat(tts_pb2.AUDIO_FORMAT_PCM_S16LE, f"audio/pcm;rate={PCM_RATE}", PCM_RATE),
}
#: Formats OpenAI offers that the tts service does not make.
UNSUPPORTED_FORMATS = ("flac", "aac")


def speech_format(name: str) -> SpeechFormat:
    key = name.strip().lower()
    if key in FORMATS:
        return FORMATS[key]
    choices = ", ".join(FORMATS)
    if key in UNSUPPORTED_FORMATS:
        message = f"response_format {name!r} is not supported here; use one of: {choices}"
    else:
        message = f"unknown response_format {name!r}; use one of: {choices}"
    raise ApiError(400, "unsupported_format", message)


def alias_voice(voice: str, voice_map: dict[str, str]) -> str | None:
    """The June voice id an OpenAI name (or a ``voice_map`` name) stands for; "" is the
    service's default voice (also for no name); None when ``voice`` is no alias."""
    key = voice.strip().lower()
    if not key:
        return ""
    aliases = {name.lower(): target for name, target in voice_map.items()}
    if key in aliases or key in OPENAI_VOICES:
        return aliases.get(key, "")
    return None


def unknown_voice(voice: str, voice_map: dict[str, str], installed: list[str]) -> ApiError:
    """400 for a voice that is neither an alias nor an installed voice, listing both."""
    names = sorted({*OPENAI_VOICES, *voice_map})
    return ApiError(
        400,
        "unknown_voice",
        f"unknown voice {voice!r}; choose an OpenAI voice ({', '.join(names)}) "
        f"or a June voice ({', '.join(installed) or 'none installed'})",
    )


def length_scale(speed: float) -> float:
    """OpenAI's ``speed`` (2.0 = twice as fast) → Piper's length scale (0.5)."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ApiError(400, "invalid_request", f"speed must be between {MIN_SPEED} and {MAX_SPEED}")
    return 1.0 / speed
