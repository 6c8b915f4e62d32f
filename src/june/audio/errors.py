"""Errors and limits for audio that comes from users.

Every problem with input audio is one :class:`AudioError` whose ``code`` says
what kind of problem it is (the service maps it to a status) and whose text is
a sentence a person can act on: "the upload is 61.2 MB; the limit is 50.0 MB",
never a stack trace or an FFmpeg error number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ErrorCode = Literal[
    "empty",
    "too_large",
    "too_long",
    "not_audio",
    "corrupt",
    "truncated",
    "unsupported",
    "silent",
    "bad_format",
]

#: Codes that mean "too much" rather than "wrong": gRPC RESOURCE_EXHAUSTED, HTTP 413.
EXHAUSTED_CODES: frozenset[str] = frozenset({"too_large", "too_long"})


class AudioError(ValueError):
    """Bad input audio; ``str(exc)`` names the problem for the user.

    ``code`` is one of :data:`ErrorCode`; ``exhausted`` is True for the size
    and duration limits (RESOURCE_EXHAUSTED) and False for everything that is
    wrong with the audio itself (INVALID_ARGUMENT).
    """

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def exhausted(self) -> bool:
        return self.code in EXHAUSTED_CODES

    def __repr__(self) -> str:
        return f"AudioError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class AudioLimits:
    """What one request may send: checked before decoding (bytes) and while decoding (seconds)."""

    max_bytes: int = 50_000_000
    max_duration_s: float = 900.0


def format_bytes(n: int) -> str:
    """Sizes the way people read them (decimal units, one decimal place)."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.1f} kB"
    return f"{n} bytes"


def format_seconds(seconds: float) -> str:
    """Durations in seconds below a minute, in minutes above (one decimal place)."""
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def check_size(size: int, limits: AudioLimits) -> None:
    """Refuse an empty or oversized upload before any decoding work is done."""
    if size == 0:
        raise AudioError("empty", "the audio is empty (0 bytes)")
    if size > limits.max_bytes:
        raise AudioError(
            "too_large",
            f"the upload is {format_bytes(size)}; the limit is {format_bytes(limits.max_bytes)}",
        )


def too_long(limits: AudioLimits, known_s: float | None = None) -> AudioError:
    """The duration error; ``known_s`` is the full length when the file states it."""
    limit = format_seconds(limits.max_duration_s)
    if known_s is not None and known_s > limits.max_duration_s:
        return AudioError(
            "too_long", f"the audio is {format_seconds(known_s)} long; the limit is {limit}"
        )
    return AudioError("too_long", f"the audio is longer than {limit}; the limit is {limit}")
