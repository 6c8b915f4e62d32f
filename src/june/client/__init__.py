"""A client of June's gateway: REST login and health, and the realtime voice protocol.

What ``june chat`` and ``june bench e2e`` are built on, and what a Python
program that talks to June by voice can use::

    async with RealtimeClient("http://127.0.0.1:8000", token) as client:
        await client.update(vad=False, max_tokens=64)
        result = await voice_turn(client, pcm16(speech), commit=True)
        print(result.transcript, result.answer, result.first_audio_s)
"""

from june.client.errors import (
    ClientError,
    ConversationNotFound,
    GatewayUnavailable,
    SessionClosed,
    SessionRefused,
    StageFailed,
    TurnTimeout,
    Unauthorized,
)
from june.client.realtime import Event, RealtimeClient, realtime_url
from june.client.rest import base_url, conversation, is_up, login
from june.client.turns import TurnResult, pcm16, pcm16_wav, send_pcm, text_turn, voice_turn

__all__ = [
    "ClientError",
    "ConversationNotFound",
    "Event",
    "GatewayUnavailable",
    "RealtimeClient",
    "SessionClosed",
    "SessionRefused",
    "StageFailed",
    "TurnResult",
    "TurnTimeout",
    "Unauthorized",
    "base_url",
    "conversation",
    "is_up",
    "login",
    "pcm16",
    "pcm16_wav",
    "realtime_url",
    "send_pcm",
    "text_turn",
    "voice_turn",
]
