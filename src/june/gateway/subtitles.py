"""Transcript segments → SubRip (``.srt``) and WebVTT (``.vtt``) captions.

The two formats differ only in the header, the cue numbers and the decimal
mark of their timestamps (``00:00:01,500`` against ``00:00:01.500``); both are
what OpenAI's transcription endpoint returns for ``response_format=srt|vtt``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Cue(NamedTuple):
    start_s: float
    end_s: float
    text: str


def timestamp(seconds: float, decimal: str) -> str:
    """``3723.5`` → ``01:02:03,500`` (SRT, ``decimal=","``) or ``01:02:03.500`` (WebVTT)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def srt(cues: Iterable[Cue]) -> str:
    blocks = [
        f"{i}\n{timestamp(c.start_s, ',')} --> {timestamp(c.end_s, ',')}\n{c.text.strip()}\n"
        for i, c in enumerate(_usable(cues), start=1)
    ]
    return "\n".join(blocks)


def vtt(cues: Iterable[Cue]) -> str:
    blocks = [
        f"{timestamp(c.start_s, '.')} --> {timestamp(c.end_s, '.')}\n{c.text.strip()}\n"
        for c in _usable(cues)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _usable(cues: Iterable[Cue]) -> list[Cue]:
    """Cues with text; an end before the start (rounding) is clamped so players accept it."""
    return [Cue(c.start_s, max(c.start_s, c.end_s), c.text) for c in cues if c.text.strip()]
