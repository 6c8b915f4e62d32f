"""What a byte string is, from its first bytes, for error messages and truncation checks.

FFmpeg says only "Invalid data found when processing input" for a PNG, a
text file or a half-uploaded WAV alike. A person needs to hear "this is not
audio (got a PNG image)" or "the audio is corrupt or truncated: the WAV
header is incomplete", so the first bytes are looked at here. Nothing here
decides whether decoding is attempted; it only names what was sent.
"""

from __future__ import annotations

import struct

# Signatures of common files that are not audio (checked in order).
_NOT_AUDIO: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or office document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"\x7fELF", "a program (ELF)"),
    (b"MZ", "a Windows program"),
    (b"BM", "a BMP image"),
)

# Signatures of audio containers (what the bytes claim to be).
_AUDIO: tuple[tuple[bytes, str], ...] = (
    (b"OggS", "OGG"),
    (b"fLaC", "FLAC"),
    (b"ID3", "MP3"),
    (b"\x1aE\xdf\xa3", "WebM/Matroska"),
    (b"FORM", "AIFF"),
    (b"#!AMR", "AMR"),
    (b"caff", "CAF"),
)


def container_name(head: bytes) -> str | None:
    """The audio container the first bytes announce, or None if they announce none."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    if head[4:8] == b"ftyp":
        return "MP4/M4A"
    for magic, name in _AUDIO:
        if head.startswith(magic):
            return name
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MP3" if head[1] & 0x06 else "AAC"
    return None


def describe_non_audio(head: bytes) -> str:
    """Say what a file that FFmpeg could not read as audio seems to be."""
    for magic, name in _NOT_AUDIO:
        if head.startswith(magic):
            return name
    if head[4:12] in (b"ftypisom", b"ftypheic", b"ftypavif") and b"heic" in head[:32]:
        return "a HEIC image"
    text = _as_text(head[:1024])
    if text is not None:
        stripped = text.lstrip().lower()
        if stripped.startswith(("<!doctype html", "<html")):
            return "an HTML page"
        if stripped.startswith(("{", "[")):
            return "JSON or other text"
        if stripped.startswith("<?xml") or stripped.startswith("<svg"):
            return "an XML document"
        return "a text file"
    if not head.strip(b"\x00"):
        return "only zero bytes"
    return "unrecognised binary data"


def _as_text(head: bytes) -> str | None:
    """The bytes as text, if they are printable UTF-8 (a cut multibyte tail is allowed)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    if not text:
        return None
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in text)
    return text if printable == len(text) else None


def wav_declared_seconds(head: bytes) -> float | None:
    """The length a WAV header states (data chunk size / byte rate), if it states one.

    FFmpeg silently shortens a WAV's duration to the bytes present, so a cut
    upload looks complete to it; the header still tells the truth. A data
    size of 0 or 0xFFFFFFFF is the usual "unknown" of a streamed WAV (what
    :class:`june.audio.StreamEncoder` writes) and states nothing.
    """
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        tag, size = head[pos : pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        if tag == b"fmt " and pos + 16 <= len(head):
            byte_rate = struct.unpack_from("<I", head, pos + 16)[0]
        elif tag == b"data":
            if size in (0, 0xFFFFFFFF) or byte_rate <= 0:
                return None
            return size / byte_rate
        pos += 8 + size + (size & 1)
    return None


def mp3_length_tag(head: bytes) -> tuple[bool, int | None]:
    """Whether an MP3 states its length (a Xing/Info/VBRI frame), and its end byte if stated.

    Without such a frame FFmpeg guesses the duration from the bitrate, which
    is no basis for calling a file truncated. With one, the stated byte count
    is the precise test: MP3 has no timestamps, so time lost to a damaged
    stretch would otherwise look like a cut.
    """
    start = 0
    if head.startswith(b"ID3") and len(head) >= 10:
        size = 0
        for b in head[6:10]:
            size = (size << 7) | (b & 0x7F)
        start = 10 + size + (10 if head[5] & 0x10 else 0)
    window = head[start : start + 2048]
    for tag in (b"Xing", b"Info"):
        pos = window.find(tag)
        if pos >= 0 and pos + 16 <= len(window):
            flags = struct.unpack_from(">I", window, pos + 4)[0]
            if not flags & 2:
                return True, None
            field = pos + 8 + (4 if flags & 1 else 0)
            return True, start + struct.unpack_from(">I", window, field)[0]
    pos = window.find(b"VBRI")
    if pos >= 0 and pos + 14 <= len(window):
        return True, start + struct.unpack_from(">I", window, pos + 10)[0]
    return False, None
