"""What a voice session tells its client, independent of the transport.

The WebSocket route turns these into the JSON / binary frames documented in
``docs/realtime.md``; the Telegram bot turns them into messages. Every event
of an answer carries its ``turn_id``, so a client can drop what belongs to a
cancelled turn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Stage = Literal["stt", "llm", "tts", "session", "auth"]


@dataclass(frozen=True)
class SpeechStarted:
    utterance: int
    type: str = "speech.started"


@dataclass(frozen=True)
class TranscriptPartial:
    text: str
    utterance: int
    type: str = "transcript.partial"


@dataclass(frozen=True)
class TranscriptFinal:
    turn_id: str
    text: str
    type: str = "transcript.final"


@dataclass(frozen=True)
class AnswerDelta:
    turn_id: str
    text: str
    type: str = "answer.delta"


@dataclass(frozen=True)
class AudioStart:
    turn_id: str
    format: str
    sample_rate: int
    channels: int = 1
    type: str = "audio.start"


@dataclass(frozen=True)
class AudioChunk:
    """Answer audio: a binary frame on the WebSocket (never JSON)."""

    turn_id: str
    data: bytes
    duration_s: float
    type: str = "audio"


@dataclass(frozen=True)
class TurnDone:
    turn_id: str
    conversation_id: str
    message_id: str
    transcript: str
    text: str
    timings: dict[str, float] = field(default_factory=dict)
    #: The documents the answer was given from, as stored with it (``messages.sources``).
    sources: list[dict[str, Any]] = field(default_factory=list)
    type: str = "turn.done"


@dataclass(frozen=True)
class TurnCancelled:
    turn_id: str
    reason: Literal["barge_in", "client", "replaced", "resumed"]
    type: str = "turn.cancelled"


@dataclass(frozen=True)
class AudioStop:
    """Stop playing an answer that has already ended (``turn.done``) but may still be
    playing at the client: a turn ends once, so this is not a second ending."""

    turn_id: str
    reason: Literal["barge_in", "client", "replaced", "resumed"]
    type: str = "audio.stop"


@dataclass(frozen=True)
class StageError:
    """A stage failed or timed out; the session goes on."""

    stage: Stage
    code: str
    message: str
    turn_id: str = ""
    type: str = "error"


VoiceEvent = (
    SpeechStarted
    | TranscriptPartial
    | TranscriptFinal
    | AnswerDelta
    | AudioStart
    | AudioChunk
    | TurnDone
    | TurnCancelled
    | AudioStop
    | StageError
)


def to_json(event: VoiceEvent) -> dict[str, Any]:
    """The JSON frame of an event (``type`` first); audio chunks travel as binary frames."""
    body = asdict(event)
    body.pop("data", None)
    return {"type": body.pop("type"), **body}
