"""Emoji and other pictographs removed before speech.

Piper (through espeak-ng) would otherwise read "🎉" as nothing useful or, worse,
as a long Unicode name. What is dropped is decided by Unicode category, not by
a list that goes stale: every "Symbol, other" (So) character — emoji, dingbats,
arrows, box drawing, ©/®/™ — together with the invisible parts that build emoji
sequences (variation selectors, zero-width joiners between pictographs, skin
tone modifiers, tag characters, the keycap mark). Letters of every script,
digits, punctuation, currency and math signs are kept. A few So characters that
*do* mean a word are turned into text first: ``°`` stays (the units pass reads
it as "degrees"), ``℃``/``℉`` become ``°C``/``°F`` and ``№`` becomes "No.".
"""

from __future__ import annotations

import re
import unicodedata

_KEEP = {"\u00b0"}  # degree sign
_SPELLED = {"\u2103": "\u00b0C", "\u2109": "\u00b0F", "\u2116": "No. "}

# Sequence glue: VS15/VS16, keycap, skin tones, tag characters.
_MODIFIERS = re.compile(r"[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


def _is_pictograph(ch: str) -> bool:
    if ch in _KEEP:
        return False
    category = unicodedata.category(ch)
    return category == "So" or (category == "Cn" and ord(ch) >= 0x1F000)


def strip_pictographs(text: str) -> str:
    """Text without emoji or pictographs; a removed run leaves one space, never a glued word.

    A zero-width joiner is dropped only next to a pictograph, because scripts such
    as Devanagari and Persian need it inside words.
    """
    for symbol, words in _SPELLED.items():
        text = text.replace(symbol, words)
    text = _MODIFIERS.sub("", text)
    out: list[str] = []
    last_was_picture = False
    for index, ch in enumerate(text):
        if _is_pictograph(ch):
            if not last_was_picture:
                out.append(" ")
            last_was_picture = True
            continue
        if ch == "\u200d":
            after = text[index + 1 : index + 2]
            if last_was_picture or (after and _is_pictograph(after)):
                continue
        last_was_picture = False
        out.append(ch)
    return "".join(out)
