"""Encoded audio that arrives in pieces → 16 kHz mono PCM while it arrives.

:class:`StreamDecoder` turns an encoded stream that is still arriving (WebM/Opus
chunks from a browser's MediaRecorder, OGG/Opus, MP3, FLAC…) into 16 kHz mono
PCM while it arrives, so speech can be recognised before the person stops
talking. PyAV's demuxer pulls bytes from a file-like :class:`_Pipe` whose
``read`` blocks until more is fed; the demux/decode loop (the same
:func:`iter_decode` as whole files) runs in its own thread and hands chunks to
the reader through :class:`_Outbox`, which both threads and asyncio can wait
on. A WAV stream starts decoding after its first 64 kB (FFmpeg's WAV reader
looks that far ahead); the others after their first page or cluster.

The reverse, for TTS, is :class:`june.audio.encode.StreamEncoder`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections import deque
from typing import Any

import numpy as np

from june.audio.decode import SAMPLE_RATE, iter_decode
from june.audio.errors import AudioError, AudioLimits, format_bytes

_HEAD_BYTES = 65_536
_PENDING = object()


class _Pipe:
    """The file PyAV reads: ``read`` blocks until bytes are fed, the input ends, or it is closed.

    It has no ``seek``, so FFmpeg treats it as the live stream it is. Closing
    makes ``read`` return end-of-file (rather than raise, which PyAV would
    print to stderr), and the decode thread drops what follows.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._chunks: deque[bytes] = deque()
        self._ended = False
        self.closed = False
        self.head = b""

    def feed(self, data: bytes) -> None:
        with self._cond:
            if self.closed:
                return
            if len(self.head) < _HEAD_BYTES:
                self.head += data[: _HEAD_BYTES - len(self.head)]
            self._chunks.append(bytes(data))
            self._cond.notify_all()

    def end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._chunks.clear()
            self._cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        with self._cond:
            while not self._chunks and not self._ended and not self.closed:
                self._cond.wait()
            out = bytearray()
            while self._chunks and (size < 0 or len(out) < size):
                chunk = self._chunks.popleft()
                take = len(chunk) if size < 0 else min(len(chunk), size - len(out))
                out += chunk[:take]
                if take < len(chunk):
                    self._chunks.appendleft(chunk[take:])
            return bytes(out)


class _Outbox:
    """Decoded chunks from the decode thread to one reader, thread or asyncio task."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: deque[np.ndarray] = deque()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.finished = False
        self.error: AudioError | None = None

    def put(self, pcm: np.ndarray) -> None:
        with self._cond:
            self._items.append(pcm)
            self._wake()

    def finish(self, error: AudioError | None = None) -> None:
        with self._cond:
            if not self.finished:
                self.finished, self.error = True, error
            self._wake()

    def take(self, timeout: float | None) -> np.ndarray | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (item := self._take_locked()) is _PENDING:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError("no decoded audio yet")
                self._cond.wait(remaining)
            return item  # type: ignore[return-value]

    async def atake(self) -> np.ndarray | None:
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                item = self._take_locked()
                if item is not _PENDING:
                    return item  # type: ignore[return-value]
                future: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, future))
            await future

    def _take_locked(self) -> Any:
        if self._items:
            parts = list(self._items)
            self._items.clear()
            return parts[0] if len(parts) == 1 else np.concatenate(parts)
        if self.finished:
            if self.error is not None:
                raise self.error
            return None
        return _PENDING

    def _wake(self) -> None:
        self._cond.notify_all()
        for loop, future in self._waiters:
            # A closed event loop raises RuntimeError: nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future)
        self._waiters.clear()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _decode_thread(pipe: _Pipe, outbox: _Outbox, limits: AudioLimits, rate: int) -> None:
    error: AudioError | None = None
    try:
        for pcm in iter_decode(pipe, lambda: pipe.head, limits, rate):
            if pipe.closed:
                break
            outbox.put(pcm)
    except AudioError as exc:
        error = exc
    except Exception as exc:  # an FFmpeg failure nobody foresaw still ends the stream cleanly
        error = AudioError("corrupt", f"the audio could not be decoded: {exc}")
    outbox.finish(None if pipe.closed else error)
    pipe.close()  # bytes fed after the end of the audio, or after an error, are not kept


class StreamDecoder:
    """Incremental decoding of an encoded stream that arrives in pieces.

    ``feed(bytes)`` as data arrives, ``end()`` when no more comes, and
    ``read()`` / ``await aread()`` float32 mono chunks at ``sample_rate`` as
    they are decoded (each call returns everything decoded since the last).
    Limits are enforced as in :func:`decode_audio`: ``feed`` raises
    ``too_large`` past ``max_bytes``; the decoder stops with ``too_long`` once
    ``max_duration_s`` of audio is decoded. Bad input ends the stream with an
    :class:`AudioError`, raised by the next read after the audio decoded before
    it, and by ``feed`` so a sender can stop early.
    """

    def __init__(self, limits: AudioLimits = AudioLimits(), sample_rate: int = SAMPLE_RATE) -> None:
        self.limits = limits
        self.sample_rate = sample_rate
        self._pipe = _Pipe()
        self._outbox = _Outbox()
        self._fed = 0
        self._ended = False
        self._thread = threading.Thread(
            target=_decode_thread,
            args=(self._pipe, self._outbox, limits, sample_rate),
            name="june-audio-decode",
            daemon=True,
        )
        self._thread.start()
        # A decoder dropped without close() must not leave its thread waiting forever.
        weakref.finalize(self, self._pipe.close)

    def feed(self, data: bytes) -> None:
        """Hand over the next bytes of the stream (never blocks)."""
        if self._outbox.error is not None:
            raise self._outbox.error
        if self._ended:
            raise AudioError("bad_format", "audio arrived after the end of the stream")
        self._fed += len(data)
        if self._fed > self.limits.max_bytes:
            error = AudioError(
                "too_large",
                f"the upload is {format_bytes(self._fed)} so far; "
                f"the limit is {format_bytes(self.limits.max_bytes)}",
            )
            self._outbox.finish(error)
            self._pipe.close()
            raise error
        if data:
            self._pipe.feed(data)

    def end(self) -> None:
        """No more bytes will come; the decoder finishes what it has."""
        self._ended = True
        self._pipe.end()

    def read(self, timeout: float | None = None) -> np.ndarray | None:
        """The audio decoded since the last read; None once the stream is finished.

        Blocks until there is some; raises :class:`TimeoutError` if ``timeout``
        seconds pass first, and :class:`AudioError` if the stream was bad.
        """
        return self._outbox.take(timeout)

    async def aread(self) -> np.ndarray | None:
        """:meth:`read` for asyncio: waits without blocking the event loop or a thread."""
        return await self._outbox.atake()

    @property
    def running(self) -> bool:
        """Whether the decode thread is still alive."""
        return self._thread.is_alive()

    def close(self, timeout: float = 2.0) -> None:
        """Stop decoding and wait (up to ``timeout``) for the thread to end. Always safe."""
        self._pipe.close()
        self._outbox.finish()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> StreamDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
