"""``normalize_for_speech``: an LLM answer rewritten as the words Piper should say.

The order of the passes matters, because each one turns digits and signs into
words that later passes no longer see:

1. emoji and pictographs out (``emoji``), then markdown structure into plain
   sentences (``markdown``) — both language-independent;
2. URLs, e-mail addresses and domains (``web``) — the "dot"/"at" words come from
   a small per-language table;
3. English only: abbreviations, dates and times, math signs, money, units,
   then every remaining number (``numbers``), then leftover symbols. For other
   languages numbers are left to Piper's espeak-ng, which reads them in the
   voice's language far better than English rules would;
4. stray markup characters dropped, whitespace collapsed, spaces before
   punctuation removed.

The result is empty only when the input had nothing to say (emoji, markup,
a code block in a language without a "code omitted" phrase).
"""

from __future__ import annotations

import re

from june.tts.text.abbreviations import expand_abbreviations
from june.tts.text.dates import dates_and_times_to_words
from june.tts.text.emoji import strip_pictographs
from june.tts.text.markdown import CODE_OMITTED, markdown_to_speech
from june.tts.text.money import money_to_words
from june.tts.text.numbers import numbers_to_words
from june.tts.text.symbols import math_to_words, symbols_to_words
from june.tts.text.units import units_to_words
from june.tts.text.web import speak_web_addresses

# Markup left over after parsing (half a "**bold" in a piece cut for latency,
# "snake_case", a lone "#"): a voice would spell these out, in any language.
_STRAY_MARKUP = re.compile(r"[*_`|\[\]{}<>#~^\\]+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?\u2026)\]}\u3002\uff01\uff1f\uff0c])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[{])\s+")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_REPEATED_COMMA = re.compile(r",(\s*,)+")
_COMMA_BEFORE_STOP = re.compile(r",\s*(?=[.!?])")


def primary_language(language: str) -> str:
    """ "en_US", "en-GB", "EN" -> "en"."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] or "en"


def _english(text: str) -> str:
    text = expand_abbreviations(text)
    text = dates_and_times_to_words(text)
    text = math_to_words(text)
    text = money_to_words(text)
    text = units_to_words(text)
    text = numbers_to_words(text)
    return symbols_to_words(text)


def _tidy(text: str) -> str:
    text = _EMPTY_BRACKETS.sub(" ", _STRAY_MARKUP.sub(" ", text))
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    text = _COMMA_BEFORE_STOP.sub("", _REPEATED_COMMA.sub(",", text))
    return text.strip()


def normalize_for_speech(text: str, language: str = "en") -> str:
    """The words a voice should say for ``text`` (an LLM answer, markdown allowed).

    ``language`` is a code such as "en", "en_US" or "de"; only English gets the
    number, date, money, unit and abbreviation rules (see the module doc).
    """
    lang = primary_language(language)
    text = strip_pictographs(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = markdown_to_speech(text, CODE_OMITTED.get(lang, ""))
    text = speak_web_addresses(text, lang)
    if lang == "en":
        text = _english(text)
    text = _tidy(text)
    return text if any(ch.isalnum() for ch in text) else ""
