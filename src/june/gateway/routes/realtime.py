"""``/v1/realtime``: a voice session over a WebSocket (protocol in ``docs/realtime.md``).

This module only translates: frames in → :class:`VoiceSession` calls, session
events → frames out. Authentication happens before the socket is accepted
(header, ``token`` query parameter, or the ``june.token.<token>``
subprotocol, since browsers cannot set headers on a WebSocket); a bad token
gets an ``error`` event and close code 4401. A malformed message gets an
``error`` event (stage ``session``) and the session goes on.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Literal

import structlog
from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, Field, ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from june.gateway.auth import Principal, authenticate, charge
from june.gateway.context import GatewayContext, get_context
from june.gateway.errors import ApiError
from june.gateway.history import ConversationNotFoundError, get_conversation
from june.protos import llm_pb2
from june.tasks import stop
from june.voice.bargein import BargeInPolicy
from june.voice.events import AudioChunk, StageError, VoiceEvent, to_json
from june.voice.metrics import SESSIONS
from june.voice.records import MessageRecorder
from june.voice.session import InputSpec, SessionConfig, VoiceSession
from june.voice.turn import OUTPUT_FORMATS, OutputSpec

log = structlog.get_logger(__name__)
router = APIRouter(tags=["realtime"])

SUBPROTOCOL = "june.v1"
_TOKEN_PROTOCOL = "june.token."
#: Close codes (4000-4999 are the application's): bad token, unknown conversation.
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMITED = 4429
#: A binary frame larger than this is refused (a second of 48 kHz stereo float is 384 KB).
MAX_FRAME_BYTES = 1_048_576
#: Audio seconds are charged against the rate limit in batches of this many.
_CHARGE_EVERY_S = 5.0


class InputModel(BaseModel):
    format: Literal["pcm16", "encoded"] = "pcm16"
    sample_rate: int = Field(16_000, ge=8_000, le=192_000)
    channels: int = Field(1, ge=1, le=2)


class OutputModel(BaseModel):
    format: Literal["pcm16", "wav", "opus", "mp3"] = "pcm16"
    sample_rate: int = Field(0, ge=0, le=48_000)
    voice: str = ""


class SessionUpdate(BaseModel):
    input: InputModel | None = None
    output: OutputModel | None = None
    vad: bool | None = None
    #: Longest answer in tokens (0: the inference service's default).
    max_tokens: int | None = Field(None, ge=0, le=8192)


def _token(websocket: WebSocket) -> tuple[str, str | None]:
    """(token, subprotocol to accept) from the header, the query, or the subprotocol list."""
    offered = [
        p.strip()
        for p in websocket.headers.get("sec-websocket-protocol", "").split(",")
        if p.strip()
    ]
    accept = SUBPROTOCOL if SUBPROTOCOL in offered else None
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), accept
    if websocket.query_params.get("token"):
        return websocket.query_params["token"], accept
    for protocol in offered:
        if protocol.startswith(_TOKEN_PROTOCOL):
            return protocol[len(_TOKEN_PROTOCOL) :], accept
    return "", accept


async def _refuse(websocket: WebSocket, code: int, error: ApiError, stage: str = "auth") -> None:
    """Accept only to say why, then close: a browser cannot read an HTTP refusal of a WebSocket."""
    await websocket.accept()
    await websocket.send_json(
        {"type": "error", "stage": stage, "code": error.code, "message": error.message}
    )
    await websocket.close(code)


class _Connection:
    """One accepted socket: sends events (serialised), reads and dispatches client frames."""

    def __init__(self, websocket: WebSocket, context: GatewayContext, principal: Principal) -> None:
        self.websocket = websocket
        self.context = context
        self.principal = principal
        self.session_id = uuid.uuid4().hex
        self._send_lock = asyncio.Lock()
        self._open = True
        self._uncharged_s = 0.0
        self.session: VoiceSession | None = None

    async def send(self, event: VoiceEvent | dict[str, Any]) -> None:
        if not self._open:
            return
        try:
            async with self._send_lock:
                if isinstance(event, AudioChunk):
                    await self.websocket.send_bytes(event.data)
                elif isinstance(event, dict):
                    await self.websocket.send_json(event)
                else:
                    await self.websocket.send_json(to_json(event))
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._open = False  # the client went away; the session is closed by the reader

    async def error(self, code: str, message: str, stage: str = "session") -> None:
        await self.send({"type": "error", "stage": stage, "code": code, "message": message})

    def started(self) -> dict[str, Any]:
        assert self.session is not None
        config = self.session.config
        return {
            "type": "session.started",
            "session_id": self.session_id,
            "conversation_id": self.session.conversation_id,
            "input": {
                "format": config.input.format,
                "sample_rate": config.input.sample_rate,
                "channels": config.input.channels,
            },
            "output": {
                "format": config.output.format,
                "sample_rate": config.output.sample_rate,
                "voice": config.output.voice,
            },
            "vad": config.vad,
            "max_tokens": config.options.max_tokens,
        }

    async def heartbeat(self, every_s: float) -> None:
        while self._open:
            await asyncio.sleep(every_s)
            await self.send({"type": "ping", "time": time.time()})

    async def on_audio(self, data: bytes) -> None:
        assert self.session is not None
        if len(data) > MAX_FRAME_BYTES:
            await self.error(
                "frame_too_large",
                f"an audio frame of {len(data)} bytes is over the {MAX_FRAME_BYTES}-byte limit; "
                "send audio in chunks of about 100 ms",
            )
            return
        duration = self.session.config.input.duration_s(len(data))
        self._uncharged_s += duration if duration is not None else len(data) / 4_000  # ~32 kbit/s
        if self._uncharged_s >= _CHARGE_EVERY_S:
            await self._charge_audio()
        await self.session.audio(data)

    async def _charge_audio(self) -> None:
        seconds, self._uncharged_s = self._uncharged_s, 0.0
        try:
            await charge(self.context, self.principal, audio_s=seconds)
        except ApiError as error:  # over the audio limit: say so; the next window reopens it
            await self.error(error.code, error.message)

    async def on_text(self, raw: str) -> None:
        assert self.session is not None
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            await self.error("invalid_message", "a text frame must be a JSON object")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.error("invalid_message", 'a message needs a "type", e.g. {"type": "ping"}')
            return
        kind = message["type"]
        if kind == "ping":
            await self.send({"type": "pong", "time": time.time()})
        elif kind == "pong":
            pass
        elif kind == "input_audio.commit":
            await self.session.commit()
        elif kind == "cancel":
            await self.session.cancel()
        elif kind == "text":
            text = message.get("text")
            if not isinstance(text, str) or not text.strip():
                await self.error("invalid_message", '"text" needs a non-empty "text" field')
                return
            try:
                await charge(self.context, self.principal, requests=1)
            except ApiError as error:
                await self.error(error.code, error.message)
                return
            await self.session.text(text)
        elif kind == "session.update":
            await self.on_update(message)
        else:
            await self.error(
                "invalid_message",
                f"unknown message type {kind!r}; expected session.update, input_audio.commit, "
                "text, cancel or ping",
            )

    async def on_update(self, message: dict[str, Any]) -> None:
        assert self.session is not None
        try:
            update = SessionUpdate.model_validate(message)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
            )
            await self.error("invalid_message", f"session.update: {problems}")
            return
        config = self.session.config
        if update.input is not None:
            config.input = InputSpec(**update.input.model_dump())
        if update.output is not None:
            config.output = OutputSpec(**update.output.model_dump())
        if update.vad is not None:
            config.vad = update.vad
        if update.max_tokens is not None:
            config.options = llm_pb2.ChatOptions(max_tokens=update.max_tokens)
        await self.session.reconfigure(config)
        await self.send(self.started())

    async def close(self) -> None:
        self._open = False
        if self.session is not None:
            await self.session.close()


@router.websocket("/v1/realtime")
async def realtime(websocket: WebSocket) -> None:
    """A voice session (see docs/realtime.md); the OpenAPI schema cannot describe WebSockets."""
    context = get_context(websocket)
    settings = context.settings
    token, subprotocol = _token(websocket)
    try:
        principal = await authenticate(context, token)
        await charge(context, principal, requests=1)
        engine = await context.engine()
    except ApiError as error:
        code = {401: CLOSE_UNAUTHORIZED, 429: CLOSE_RATE_LIMITED}.get(error.status, 1011)
        await _refuse(websocket, code, error, "auth" if error.status == 401 else "session")
        return
    conversation_id = websocket.query_params.get("conversation_id", "")
    if conversation_id and not await _owns(engine, principal.user_id, conversation_id):
        error = ApiError(404, "not_found", f"no conversation {conversation_id}")
        await _refuse(websocket, CLOSE_NOT_FOUND, error, "session")
        return

    await websocket.accept(subprotocol=subprotocol)
    connection = _Connection(websocket, context, principal)
    config = SessionConfig(
        user_id=principal.user_id,
        conversation_id=conversation_id,
        speculative=settings.gateway.speculative_answers,
        release_after_s=settings.gateway.speculative_release_ms / 1000,
        stt_tail_s=settings.stt.tail_ms / 1000,
        barge_in=BargeInPolicy(
            settings.gateway.barge_in_min_speech_ms / 1000, settings.gateway.barge_in_min_words
        ),
        stage_timeout_s=settings.gateway.stage_timeout_s,
        first_piece=(settings.tts.stream_first_clause_chars, settings.tts.stream_first_max_chars),
    )
    connection.session = VoiceSession(
        context.backends, config, connection.send, MessageRecorder(engine)
    )
    log.info("realtime.open", session_id=connection.session_id, user=principal.name)
    await connection.send(connection.started())
    heartbeat = asyncio.create_task(connection.heartbeat(settings.gateway.heartbeat_s))
    SESSIONS.inc()
    try:
        while websocket.client_state == WebSocketState.CONNECTED:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            if frame.get("bytes") is not None:
                await connection.on_audio(frame["bytes"])
            elif frame.get("text") is not None:
                await connection.on_text(frame["text"])
    except WebSocketDisconnect:
        pass
    except Exception as exc:  # never let one session's bug pass silently
        log.exception("realtime.failed", error=str(exc))
        await connection.send(StageError("session", "internal_error", "the session failed"))
    finally:
        SESSIONS.dec()
        await stop(heartbeat)
        await connection.close()
        log.info("realtime.closed", session_id=connection.session_id)


async def _owns(engine: Any, user_id: str, conversation_id: str) -> bool:
    try:
        await asyncio.to_thread(get_conversation, engine, uuid.UUID(user_id), conversation_id)
    except ConversationNotFoundError:
        return False
    return True


__all__ = ["OUTPUT_FORMATS", "router"]
