"""Was the whole audio there? Truncation, damage and emptiness, judged after decoding.

A cut upload must not be transcribed as if it were whole, and one damaged
frame must not lose a voice note. So the length a file *states* (exact
lengths only, never FFmpeg's bitrate guesses) is compared with where its data
*ends* (packet timestamps, or bytes for MP3, which has no timestamps), and
the time that decoded with the time the packets span.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from june.audio.errors import AudioError, format_seconds
from june.audio.sniff import container_name, mp3_length_tag, wav_declared_seconds

#: Above this share of undecodable packets (or of lost time) the audio is called corrupt.
MAX_LOST_SHARE = 0.25
#: An MP3 whose packets end this far before its stated size is cut (a frame is <= 1441 bytes).
_MP3_SLACK_BYTES = 2048
#: Containers whose stated duration is exact (not a bitrate estimate).
_EXACT_LENGTH = {"flac", "matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2"}


@dataclass(frozen=True)
class Stated:
    """The length a file states: seconds (exact, not a bitrate guess), and for MP3 its end byte."""

    seconds: float | None = None
    end_byte: int | None = None


def stated_length(container: Any, stream: Any, head: bytes) -> Stated:
    fmt = container.format.name
    if fmt == "wav":
        return Stated(wav_declared_seconds(head))
    tagged, end_byte = mp3_length_tag(head) if fmt == "mp3" else (False, None)
    if fmt in _EXACT_LENGTH or tagged:
        if stream.duration and stream.time_base:
            return Stated(float(stream.duration * stream.time_base), end_byte)
        if container.duration:
            return Stated(container.duration / 1_000_000, end_byte)
    return Stated()


@dataclass
class Progress:
    """How far decoding got: seconds decoded, where the data ended, packets that failed."""

    decoded_s: float = 0.0
    reached_s: float = 0.0
    reached_byte: int = 0
    packets: int = 0
    bad: int = 0
    last_error: BaseException | None = None

    def saw(self, packet: Any) -> None:
        """Note a packet's end time: where the data reaches, damaged packets included."""
        if packet.size:
            self.packets += 1
            if packet.pos is not None and packet.pos >= 0:
                self.reached_byte = max(self.reached_byte, packet.pos + packet.size)
        if packet.pts is not None and packet.time_base:
            start = packet.stream.start_time or 0
            end = (packet.pts + (packet.duration or 0) - start) * packet.time_base
            self.reached_s = max(self.reached_s, float(end))


def check_complete(done: Progress, stated: Stated, head: bytes) -> None:
    """After the last packet: was this the whole audio, and was it mostly decodable?

    Truncation is judged by where the data ends (packet timestamps; bytes for
    MP3, which has no timestamps), not by how much decoded, so a damaged
    stretch that was skipped does not read as a cut.
    """
    if done.bad and (done.decoded_s == 0 or done.bad > MAX_LOST_SHARE * done.packets):
        assert done.last_error is not None
        raise AudioError(
            "corrupt",
            f"the audio is corrupt: {done.bad} of {done.packets} packets could not be decoded "
            f"({reason(done.last_error)})",
        )
    said = f"the file says it is {format_seconds(stated.seconds or 0)} long"
    if done.decoded_s == 0:
        if stated.seconds:
            raise AudioError(
                "corrupt", f"the audio is corrupt or truncated: {said} but none of it decodes"
            )
        kind = container_name(head) or "file"
        raise AudioError(
            "empty", f"the audio is empty: the {kind} has an audio track with no sound"
        )
    reached = max(done.reached_s, done.decoded_s)
    if stated.end_byte is not None:  # MP3 has no timestamps: its bytes say whether it was cut
        cut = done.reached_byte < stated.end_byte - _MP3_SLACK_BYTES
        if not cut:
            reached = max(reached, stated.seconds or 0.0)
    else:
        cut = stated.seconds is not None and reached < stated.seconds - max(
            0.25, 0.01 * stated.seconds
        )
    if reached > 1.0 and done.decoded_s < (1 - MAX_LOST_SHARE) * reached:
        raise AudioError(
            "corrupt",
            f"the audio is corrupt: only {format_seconds(done.decoded_s)} of it could be decoded",
        )
    if cut:
        raise AudioError(
            "truncated",
            f"the audio is truncated: {said} but its data ends at {format_seconds(reached)}",
        )


def reason(exc: BaseException) -> str:
    """FFmpeg's complaint as one short line."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0].strip().rstrip(".")
