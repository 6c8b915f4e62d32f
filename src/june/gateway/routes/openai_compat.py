"""The OpenAI-compatible API: transcriptions, speech, chat completions and models.

An application written for OpenAI (the official ``openai`` package, or curl)
works against June by changing its base URL to ``http://june:8000/v1`` and its
key to a June token or API key. What differs, and why:

* Model names: OpenAI's names (``whisper-1``, ``tts-1``) and June's own ids are
  accepted; June answers with what it runs (:mod:`june.gateway.served_models`).
  An unknown chat model is 404 ``model_not_found`` as at OpenAI (its client
  raises ``NotFoundError``); an unknown audio model is 400 naming the choices.
* ``temperature`` of a transcription is accepted and ignored: the stt service
  decodes with beam search and its own fallback, so a sampling temperature has
  nothing to act on.
* Chat completions have memory on request (:mod:`june.gateway.chat_completions`).

Every audio response streams: speech is sent as the tts service makes it, and a
chat completion with ``stream`` as the model writes it. An error found before
the first byte is a JSON error with its status; one after it ends the stream
(for chat, with an ``error`` event the ``openai`` client raises).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import grpc
import structlog
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict

from june.gateway.auth import Principal, charge, rate_limited
from june.gateway.chat_completions import (
    ChatCompletionRequest,
    Completion,
    conversation_of,
    finish_reason,
    sse,
    to_chat_request,
)
from june.gateway.context import GatewayContext, get_context
from june.gateway.errors import ApiError, bad_request, from_grpc
from june.gateway.languages import language_code
from june.gateway.served_models import TTS_ALIASES, catalogue, llm_ids, stt_ids
from june.gateway.transcriptions import RESPONSE_FORMATS, ResponseFormat, render
from june.gateway.upstream import in_background, metadata
from june.gateway.voices import alias_voice, length_scale, speech_format, unknown_voice
from june.protos import asr_pb2, llm_pb2, tts_pb2

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["openai"])

CONVERSATION_HEADER = "X-June-Conversation-Id"


# ------------------------------------------------------------------ transcriptions
@router.post("/audio/transcriptions")
async def transcriptions(
    file: UploadFile | None = File(None, description="The audio, in any container/codec."),
    model: str = Form("whisper-1"),
    language: str = Form(""),
    prompt: str = Form(""),
    response_format: str = Form("json"),
    temperature: float | None = Form(None, description="Accepted and ignored."),
    timestamp_granularities: list[str] = Form([], alias="timestamp_granularities[]"),
    granularities: list[str] = Form([], alias="timestamp_granularities"),
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> Response:
    """Transcribe an uploaded file; answers in ``json``, ``text``, ``verbose_json``, ``srt``
    or ``vtt`` as OpenAI's endpoint does."""
    settings = ctx.settings
    if model not in stt_ids(settings):
        raise bad_request(
            f"model {model!r} is not served here; use one of: {', '.join(stt_ids(settings))}",
            "invalid_model",
        )
    if response_format not in RESPONSE_FORMATS:
        raise bad_request(
            f"unknown response_format {response_format!r}; "
            f"use one of: {', '.join(RESPONSE_FORMATS)}"
        )
    timestamp_granularities = [*timestamp_granularities, *granularities]
    unknown = set(timestamp_granularities) - {"word", "segment"}
    if unknown:
        raise bad_request(f"timestamp_granularities takes word and segment, not {sorted(unknown)}")
    code = language_code(language) if language else ""
    if code is None:
        raise bad_request(f"unknown language {language!r}; give an ISO 639-1 code such as 'en'")
    if file is None:
        raise bad_request("the `file` field is missing: upload the audio as multipart/form-data")
    audio = await file.read()
    words = "word" in timestamp_granularities
    config = asr_pb2.RecognitionConfig(language=code, word_timestamps=words, initial_prompt=prompt)
    try:
        result = await ctx.backends.stt.stub.Recognize(
            asr_pb2.RecognizeRequest(config=config, audio=audio),
            timeout=300,
            metadata=metadata(),
        )
    except grpc.aio.AioRpcError as error:
        raise from_grpc(error, "stt") from None
    await charge(ctx, principal, audio_s=result.timing.audio_s)
    return render(result, cast(ResponseFormat, response_format), words)


# ------------------------------------------------------------------------- speech
class SpeechRequest(BaseModel):
    """OpenAI's speech body; ``instructions`` (gpt-4o-mini-tts) is accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = "tts-1"
    input: str
    voice: str = ""
    response_format: str = "mp3"
    speed: float = 1.0
    instructions: str | None = None


@router.post("/audio/speech")
async def speech(
    body: SpeechRequest,
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> StreamingResponse:
    """Speak ``input``; the audio streams sentence by sentence as the tts service makes it."""
    settings = ctx.settings
    if not body.input.strip():
        raise bad_request("input is empty: give the text to speak")
    if len(body.input) > settings.tts.max_text_chars:
        raise bad_request(
            f"input is {len(body.input)} characters; the limit is {settings.tts.max_text_chars}"
        )
    fmt = speech_format(body.response_format)
    scale = length_scale(body.speed)
    voice = alias_voice(body.voice, settings.gateway.voice_map)
    if voice is None or body.model not in TTS_ALIASES:
        installed = await _installed_voices(ctx)
        if body.model not in TTS_ALIASES and body.model not in installed:
            raise bad_request(
                f"model {body.model!r} is not served here; use one of: "
                f"{', '.join([*TTS_ALIASES, *installed])}",
                "invalid_model",
            )
        if voice is None:
            if body.voice.strip() not in installed:
                raise unknown_voice(body.voice, settings.gateway.voice_map, installed)
            voice = body.voice.strip()
    config = tts_pb2.SynthesisConfig(
        voice=voice, format=fmt.proto, sample_rate_hz=fmt.sample_rate_hz, length_scale=scale
    )
    call = ctx.backends.tts.stub.Synthesize(
        tts_pb2.SynthesizeRequest(text=body.input, config=config),
        timeout=300,
        metadata=metadata(),
    )
    responses = call.__aiter__()
    try:
        first = await anext(responses)
    except grpc.aio.AioRpcError as error:
        raise from_grpc(error, "tts") from None
    except StopAsyncIteration:
        raise ApiError(502, "backend_error", "the tts service sent no audio") from None

    async def audio() -> AsyncIterator[bytes]:
        spoken_s = 0.0
        try:
            response = first
            while True:
                if response.audio:
                    yield response.audio
                spoken_s += response.duration_s
                if response.HasField("summary"):
                    spoken_s = response.summary.audio_s
                response = await anext(responses, None)
                if response is None:
                    break
        except grpc.aio.AioRpcError as error:  # the headers are sent: the stream ends short
            log.warning("gateway.speech_cut", code=error.code().name, error=error.details())
        finally:
            call.cancel()
            in_background(charge(ctx, principal, audio_s=spoken_s), "charge speech")

    headers = {"X-June-Sample-Rate": str(first.sample_rate_hz)}
    return StreamingResponse(audio(), media_type=fmt.content_type, headers=headers)


async def _installed_voices(ctx: GatewayContext) -> list[str]:
    try:
        reply = await ctx.backends.tts.stub.ListVoices(
            tts_pb2.ListVoicesRequest(), timeout=10, metadata=metadata()
        )
    except grpc.aio.AioRpcError as error:
        raise from_grpc(error, "tts") from None
    return [v.id for v in reply.voices if v.installed]


# --------------------------------------------------------------- chat completions
@router.post("/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> Response:
    """OpenAI's chat completion, whole or streamed as server-sent events."""
    served = llm_ids(ctx.settings)
    if body.model not in served:
        raise ApiError(
            404,
            "model_not_found",
            f"the model {body.model!r} does not exist here; use one of: {', '.join(served)}",
        )
    conversation = conversation_of(body, request.headers.get(CONVERSATION_HEADER))
    chat = to_chat_request(body, principal.user_id, conversation)
    call = ctx.backends.inference.stub.Chat(chat, timeout=600, metadata=metadata())
    events = call.__aiter__()
    try:
        first = await anext(events)
    except grpc.aio.AioRpcError as error:
        raise from_grpc(error, "inference") from None
    except StopAsyncIteration:
        raise ApiError(502, "backend_error", "the inference service sent nothing") from None
    started = first.started
    completion = Completion.start(started.model, started.conversation_id or None)
    headers = {CONVERSATION_HEADER: started.conversation_id} if started.conversation_id else {}
    if not body.stream:
        text, done = await _collect(call, events)
        return JSONResponse(completion.whole(done, text), headers=headers)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return StreamingResponse(
        _stream(call, events, completion, include_usage),
        media_type="text/event-stream",
        headers={**headers, "Cache-Control": "no-cache"},
    )


async def _collect(
    call: grpc.aio.UnaryStreamCall, events: AsyncIterator[llm_pb2.ChatResponse]
) -> tuple[str, llm_pb2.ChatDone]:
    parts: list[str] = []
    done: llm_pb2.ChatDone | None = None
    try:
        async for event in events:
            kind = event.WhichOneof("event")
            if kind == "delta":
                parts.append(event.delta.text)
            elif kind == "done":
                done = event.done
    except grpc.aio.AioRpcError as error:
        raise from_grpc(error, "inference") from None
    finally:
        call.cancel()
    if done is None:
        raise ApiError(502, "backend_error", "the inference service ended without an answer")
    return done.message.content or "".join(parts).strip(), done


async def _stream(
    call: grpc.aio.UnaryStreamCall,
    events: AsyncIterator[llm_pb2.ChatResponse],
    completion: Completion,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    """``chat.completion.chunk`` events: the role first, text deltas, the finish reason,
    the usage when asked, then ``[DONE]``. Leaving early cancels generation."""
    yield sse(completion.chunk({"role": "assistant", "content": ""}))
    done: llm_pb2.ChatDone | None = None
    try:
        async for event in events:
            kind = event.WhichOneof("event")
            if kind == "delta" and event.delta.text:
                yield sse(completion.chunk({"content": event.delta.text}))
            elif kind == "reasoning" and event.reasoning.text:
                yield sse(completion.chunk({"reasoning_content": event.reasoning.text}))
            elif kind == "done":
                done = event.done
    except grpc.aio.AioRpcError as error:
        yield sse(from_grpc(error, "inference").body())
        return
    finally:
        call.cancel()
    if done is None:
        yield sse(ApiError(502, "backend_error", "the answer ended early").body())
        return
    yield sse(completion.chunk({}, finish_reason(done)))
    if include_usage:
        yield sse(completion.usage_chunk(done))
    yield sse("[DONE]")


# ------------------------------------------------------------------------- models
@router.get("/models")
async def list_models(
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> dict[str, Any]:
    """The LLM, the STT model and the speech models and voices, with OpenAI's aliases."""
    voices = await _voices_if_up(ctx)
    return {"object": "list", "data": [e.openai() for e in catalogue(ctx.settings, voices)]}


@router.get("/models/{model_id:path}")
async def get_model(
    model_id: str,
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> dict[str, Any]:
    voices = await _voices_if_up(ctx)
    for entry in catalogue(ctx.settings, voices):
        if entry.id == model_id:
            return entry.openai()
    raise ApiError(404, "model_not_found", f"the model {model_id!r} does not exist here")


async def _voices_if_up(ctx: GatewayContext) -> list[str]:
    """Installed voices; none while the tts service is down (the list still answers)."""
    try:
        return await _installed_voices(ctx)
    except ApiError as error:
        log.warning("gateway.voices_unavailable", error=error.message)
        return []
