"""Symbols said as words, in English.

Between numbers the math signs are read ("2 + 2 = 4" → "two plus two equals
four"); this runs before numbers become words because it needs to see digits.
After that, the leftovers of running text: a spaced "+" → "plus", "&" → "and", a lone "@" → "at"
(e-mail addresses were read earlier), "#tag" → "tag", "~5" → "about five".
"""

from __future__ import annotations

import re

_D = r"(?<=\d)"
_AD = r"(?=[-\u2212]?[\d.])"
_BETWEEN_NUMBERS = (
    (re.compile(_D + r"\s*\+\s*" + _AD), " plus "),
    (re.compile(_D + r"\s+[-\u2212]\s+" + _AD), " minus "),
    (re.compile(_D + r"\s*[\u00d7*]\s*" + _AD), " times "),
    (re.compile(_D + r"\s*[x]\s+" + _AD), " times "),
    (re.compile(_D + r"\s*\u00f7\s*" + _AD), " divided by "),
    (re.compile(_D + r"\s*\^\s*" + _AD), " to the power of "),
    (re.compile(_D + r"\s*<=\s*" + _AD), " is less than or equal to "),
    (re.compile(_D + r"\s*>=\s*" + _AD), " is greater than or equal to "),
    (re.compile(_D + r"\s*<\s*" + _AD), " is less than "),
    (re.compile(_D + r"\s*>\s*" + _AD), " is greater than "),
)
_ANYWHERE = (
    (re.compile(r"\s*==?\s*"), " equals "),
    (re.compile(r"\s*\u2260\s*"), " is not equal to "),
    (re.compile(r"\s*\u2264\s*"), " is less than or equal to "),
    (re.compile(r"\s*\u2265\s*"), " is greater than or equal to "),
    (re.compile(r"\s*\u00b1\s*"), " plus or minus "),
    (re.compile(r"(?<!\w)[~\u2248\u223c]\s?(?=[-\u2212]?[\d$\u20ac\u00a3])"), "about "),
    (re.compile(r"\bC\+\+"), "C plus plus "),
)
_PLUS = re.compile(r"\s\+\s")
_AMPERSAND = re.compile(r"\s*&\s*")
_AT = re.compile(r"\s*@\s*")
_HASHTAG = re.compile(r"(?<!\w)#(?=\w)")


def math_to_words(text: str) -> str:
    """Read arithmetic and comparison signs (before numbers are turned into words)."""
    for pattern, words in _BETWEEN_NUMBERS + _ANYWHERE:
        text = pattern.sub(words, text)
    return text


def symbols_to_words(text: str) -> str:
    """Read a spaced "+", "&", "@", and hashtags as words."""
    text = _PLUS.sub(" plus ", text)
    text = _AMPERSAND.sub(" and ", text)
    text = _AT.sub(" at ", text)
    return _HASHTAG.sub("", text)
