"""A client of ``/v1/realtime`` (``docs/realtime.md``): one WebSocket, one voice session.

A background reader stamps every frame with its arrival time
(``time.perf_counter``) *as it is read*, so latencies measured from the
events do not depend on how late the caller gets round to them; it answers the
server's JSON ``ping`` with ``pong`` by itself, so a client busy elsewhere
(waiting for the user's next line) keeps its session. Events reach the caller
through :meth:`RealtimeClient.next` / :meth:`RealtimeClient.events`, and end
with one synthetic ``session.closed`` event carrying the close code.

Refusals before the session starts are exceptions: nothing listening →
:class:`GatewayUnavailable`; close code 4401 → :class:`Unauthorized`; 4404 →
:class:`ConversationNotFound`; anything else → :class:`SessionRefused`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from june.client.errors import (
    ConversationNotFound,
    GatewayUnavailable,
    SessionClosed,
    SessionRefused,
    StageFailed,
    TurnTimeout,
    Unauthorized,
)
from june.client.rest import base_url
from june.tasks import join, stop

#: The protocol's subprotocol name, and the prefix that carries a token for browsers.
SUBPROTOCOL = "june.v1"
TOKEN_SUBPROTOCOL = "june.token."
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
#: Answer audio of one long sentence can pass websockets' default 1 MiB message limit.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: The gateway refuses binary frames over 1 MiB; a second of 16 kHz pcm16 is 32 KB.
MAX_AUDIO_FRAME = 512 * 1024

TokenVia = Literal["header", "query", "subprotocol"]


@dataclass(frozen=True)
class Event:
    """One frame from the server: JSON (``data``) or answer audio (``audio``), with arrival time."""

    type: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)
    audio: bytes = b""

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def turn_id(self) -> str:
        return str(self.data.get("turn_id", ""))


def realtime_url(url: str, conversation_id: str = "", token: str = "") -> str:
    """``ws(s)://host:port/v1/realtime?…`` from the gateway's base URL."""
    http = base_url(url)
    scheme, rest = http.split("://", 1)
    query = {k: v for k, v in (("conversation_id", conversation_id), ("token", token)) if v}
    tail = f"?{urlencode(query)}" if query else ""
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/v1/realtime{tail}"


class RealtimeClient:
    """One realtime session. Use ``async with RealtimeClient(url, token) as client:``."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        conversation_id: str = "",
        token_via: TokenVia = "header",
        open_timeout: float = 10.0,
    ) -> None:
        self.url = base_url(url)
        self.token = token
        self.token_via = token_via
        self.open_timeout = open_timeout
        #: The last ``session.started`` (its ``conversation_id`` is "" until a first turn).
        self.session: dict[str, Any] = {}
        self._conversation_id = conversation_id
        self._ws: ClientConnection | None = None
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._closed: Event | None = None

    # ------------------------------------------------------------------ connection
    @property
    def conversation_id(self) -> str:
        """The session's conversation: given, announced by the server, or seen in a turn."""
        return self._conversation_id

    @property
    def closed(self) -> bool:
        return self._closed is not None

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server accepted (``june.v1`` when it speaks this protocol)."""
        return self._ws.subprotocol if self._ws is not None else None

    async def __aenter__(self) -> RealtimeClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> dict[str, Any]:
        """Open the socket and wait for ``session.started``; its body is returned."""
        headers: dict[str, str] = {}
        subprotocols = [Subprotocol(SUBPROTOCOL)]
        token_in_query = ""
        if self.token_via == "header" and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.token_via == "query":
            token_in_query = self.token
        elif self.token:
            subprotocols.append(Subprotocol(f"{TOKEN_SUBPROTOCOL}{self.token}"))
        url = realtime_url(self.url, self._conversation_id, token_in_query)
        try:
            self._ws = await connect(
                url,
                additional_headers=headers,
                subprotocols=subprotocols,
                open_timeout=self.open_timeout,
                max_size=MAX_MESSAGE_BYTES,
                compression=None,  # audio does not compress; deflate only costs latency
                proxy=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 401:
                raise Unauthorized("the gateway refused the token") from None
            if status in (502, 503, 504):
                raise GatewayUnavailable(self.url, f"HTTP {status}") from None
            raise SessionRefused(
                f"the gateway refused the WebSocket at {url.split('?')[0]}: HTTP {status}"
            ) from None
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise GatewayUnavailable(self.url, str(exc)) from None
        self._reader = asyncio.create_task(self._read(), name="realtime-reader")
        first = await self.next(self.open_timeout)
        if first.type == "session.started":
            self._started(first)
            return self.session
        await self._refused(first)
        raise AssertionError("unreachable")

    async def _refused(self, first: Event) -> None:
        """The server sent an error (or closed) instead of ``session.started``: raise why."""
        error = first if first.type == "error" else None
        closing = first
        while closing.type != "session.closed":
            closing = await self.next(5.0)
        close_code = int(closing.get("code") or 0)
        message = str(error.get("message")) if error else f"closed with code {close_code}"
        code = str(error.get("code", "")) if error else ""
        stage = str(error.get("stage", "")) if error else ""
        if close_code == CLOSE_UNAUTHORIZED or stage == "auth":
            raise Unauthorized(f"the gateway refused the token: {message}")
        if close_code == CLOSE_NOT_FOUND:
            raise ConversationNotFound(message, code=code, stage=stage, close_code=close_code)
        raise SessionRefused(message, code=code, stage=stage, close_code=close_code)

    def _started(self, event: Event) -> None:
        self.session = dict(event.data)
        if event.get("conversation_id"):
            self._conversation_id = str(event.get("conversation_id"))

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is not None:
            await join(self._reader, timeout=5.0)
            await stop(self._reader)

    async def _read(self) -> None:
        assert self._ws is not None
        ws = self._ws
        try:
            async for message in ws:
                at = time.perf_counter()
                if isinstance(message, bytes):
                    self._queue.put_nowait(Event("audio", at, audio=message))
                    continue
                try:
                    body = json.loads(message)
                except json.JSONDecodeError:
                    body = {"type": "invalid", "raw": message[:200]}
                if not isinstance(body, dict):
                    body = {"type": "invalid", "raw": message[:200]}
                kind = str(body.get("type", ""))
                if kind == "ping":
                    with contextlib.suppress(ConnectionClosed):
                        await self.send_json({"type": "pong"})
                elif kind == "session.started":
                    self._started(Event(kind, at, body))
                elif kind == "turn.done" and body.get("conversation_id"):
                    self._conversation_id = str(body["conversation_id"])
                self._queue.put_nowait(Event(kind, at, body))
        except ConnectionClosed:
            pass
        finally:
            data = {"code": ws.close_code, "reason": ws.close_reason or ""}
            self._closed = Event("session.closed", time.perf_counter(), data)
            self._queue.put_nowait(self._closed)

    # ---------------------------------------------------------------------- events
    async def next(self, timeout: float | None = None) -> Event:
        """The next event; ``session.closed`` (again and again) once the socket is closed.

        :class:`TurnTimeout` when nothing arrives within ``timeout`` seconds.
        """
        if self._queue.empty() and self._closed is not None:
            return self._closed
        try:
            event = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            raise TurnTimeout(f"nothing came from the gateway within {timeout:g} s") from None
        return event

    def pending(self) -> Event | None:
        """The next event if one is already here, without waiting."""
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def events(self, timeout: float | None = None) -> AsyncIterator[Event]:
        """Every event until (and including) ``session.closed``."""
        while True:
            event = await self.next(timeout)
            yield event
            if event.type == "session.closed":
                return

    async def wait_for(
        self, *types: str, timeout: float = 60.0, raise_errors: bool = True
    ) -> Event:
        """Skip events until one of ``types``; an ``error`` event raises :class:`StageFailed`.

        :class:`SessionClosed` if the socket closes first, :class:`TurnTimeout` after
        ``timeout`` seconds in all.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TurnTimeout(f"no {' or '.join(types)} within {timeout:g} s")
            try:
                event = await self.next(left)
            except TurnTimeout:
                raise TurnTimeout(f"no {' or '.join(types)} within {timeout:g} s") from None
            if event.type in types:
                return event
            if event.type == "error" and raise_errors:
                raise stage_failed(event)
            if event.type == "session.closed":
                raise SessionClosed(event.get("code"), event.get("reason", ""))

    # ----------------------------------------------------------------------- sends
    async def send_json(self, body: dict[str, Any]) -> None:
        if self._ws is None:
            raise SessionClosed(None, "not connected")
        async with self._send_lock:
            await self._ws.send(json.dumps(body))

    async def send_audio(self, data: bytes) -> None:
        """The next bytes of the input audio (split so no frame passes the gateway's limit)."""
        if self._ws is None:
            raise SessionClosed(None, "not connected")
        for offset in range(0, len(data), MAX_AUDIO_FRAME):
            async with self._send_lock:
                await self._ws.send(data[offset : offset + MAX_AUDIO_FRAME])

    async def send_raw(self, frame: str | bytes) -> None:
        """A frame exactly as given (for protocol tests: malformed JSON, oversize audio)."""
        if self._ws is None:
            raise SessionClosed(None, "not connected")
        async with self._send_lock:
            await self._ws.send(frame)

    async def update(
        self,
        *,
        input: dict[str, Any] | None = None,
        output: dict[str, Any] | None = None,
        vad: bool | None = None,
        max_tokens: int | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """``session.update``; waits for the ``session.started`` that confirms it."""
        body: dict[str, Any] = {"type": "session.update"}
        for key, value in (
            ("input", input),
            ("output", output),
            ("vad", vad),
            ("max_tokens", max_tokens),
        ):
            if value is not None:
                body[key] = value
        await self.send_json(body)
        await self.wait_for("session.started", timeout=timeout)
        return self.session

    async def commit(self) -> None:
        """End of speech now (push-to-talk released)."""
        await self.send_json({"type": "input_audio.commit"})

    async def text(self, text: str) -> None:
        """A typed message, answered like speech."""
        await self.send_json({"type": "text", "text": text})

    async def cancel(self) -> None:
        """Stop the current answer."""
        await self.send_json({"type": "cancel"})

    async def ping(self) -> None:
        await self.send_json({"type": "ping"})


def stage_failed(event: Event) -> StageFailed:
    """The exception for an ``error`` event."""
    return StageFailed(
        str(event.get("stage", "session")),
        str(event.get("code", "")),
        str(event.get("message", "")),
        event.turn_id,
    )
