"""English abbreviations expanded to the words a listener expects.

Rules are deliberately simple and context-light:

- Titles become words: "Dr. Smith" → "Doctor Smith", also "Mr.", "Mrs.", "Ms.",
  "Prof.", "Mt."; without a period ("Dr Smith") only before a capitalised name.
- "St." is "Street" after a number or a capitalised word ("Baker St.", "5th St.")
  and "Saint" before a capitalised word otherwise ("St. Louis").
- Latin and other common forms: "e.g." → "for example", "i.e." → "that is"
  (each followed by a comma when a word follows, for the pause a reader makes),
  "etc." → "et cetera", "vs." → "versus", "approx." → "approximately", "cf." →
  "compare", "w/" → "with", "w/o" → "without"; "No.", "Nos." and "Fig." before a
  number → "number", "numbers", "figure", capitalised as written ("No. 5 is
  mine" → "Number five is mine").
- Dotted initialisms are spelled: "U.S." → "U S", "A.I." → "A I".
- A period that ended the sentence as well as the abbreviation is kept
  ("..., etc. Then" → "..., et cetera. Then"), so the voice still pauses.
"""

from __future__ import annotations

import re

_TITLES = {"Dr": "Doctor", "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Prof": "Professor"}
_TITLES |= {"Mt": "Mount", "Jr": "Junior", "Sr": "Senior"}
_TITLE = re.compile(r"\b(Dr|Mrs|Mr|Ms|Prof|Mt)(?:\.(?=\s)|(?=\s+[A-Z]))")
_SUFFIX = re.compile(r"\b([A-Z][a-z]+),? (Jr|Sr)\.?(?!\w)")
_INITIALISM = re.compile(r"(?<![\w.])((?:[A-Z]\.){2,})(?!\w)")
_SAINT_OR_STREET = re.compile(r"\bSt\.?(?![\w.])")
_STREET_BEFORE = re.compile(r"(?:\d(?:st|nd|rd|th)?|\b[A-Z][a-z]+) $")

# abbreviation (lower case, without the final period) -> words
_EXPANSIONS = {
    "e.g": "for example",
    "i.e": "that is",
    "etc": "et cetera",
    "vs": "versus",
    "approx": "approximately",
    "cf": "compare",
    "incl": "including",
    "esp": "especially",
}
_COMMA_AFTER = {"e.g", "i.e"}
_LATIN = re.compile(
    r"(?<![\w.])(e\.g|i\.e|etc|vs|approx|cf|incl|esp)(?:\.|(?=[\s,;:)]))(?![\w])", re.IGNORECASE
)
_NUMBERED = re.compile(r"\b(No|no|Nos|Fig|fig)\.\s?(?=\d)")
_WITH = re.compile(r"(?<!\w)w/(o\b)?(?=\s)", re.IGNORECASE)


def _ends_sentence(rest: str) -> bool:
    """Whether the text after an abbreviation's period starts a new sentence."""
    return not rest.strip() or re.match(r"\s*\n|\s+[A-Z\"\u201c(]", rest) is not None


def _latin(match: re.Match[str]) -> str:
    key = match.group(1).lower()
    words = _EXPANSIONS[key]
    rest = match.string[match.end() :]
    had_period = match.group(0).endswith(".")
    if had_period and _ends_sentence(rest) and key not in _COMMA_AFTER and key != "vs":
        return words + "."
    if key in _COMMA_AFTER and re.match(r"\s+\w", rest):
        return words + ","
    return words


def _initialism(match: re.Match[str]) -> str:
    letters = " ".join(match.group(1).replace(".", ""))
    return letters + ("." if _ends_sentence(match.string[match.end() :]) else "")


def _saint_or_street(match: re.Match[str]) -> str:
    before = match.string[: match.start()]
    rest = match.string[match.end() :]
    if _STREET_BEFORE.search(before[-24:]):
        period = "." if match.group(0).endswith(".") and _ends_sentence(rest) else ""
        return "Street" + period
    if re.match(r"\s+[A-Z]", rest):
        return "Saint"
    return match.group(0)


_NUMBERED_WORDS = {"no": "number", "nos": "numbers", "fig": "figure"}


def _numbered(match: re.Match[str]) -> str:
    abbreviation = match.group(1)
    word = _NUMBERED_WORDS[abbreviation.lower()]
    return (word.capitalize() if abbreviation[0].isupper() else word) + " "


def expand_abbreviations(text: str) -> str:
    """Expand titles, "St.", Latin abbreviations, "No. 5" and "w/" (see the module doc)."""
    text = _TITLE.sub(lambda m: _TITLES[m.group(1)], text)
    text = _SUFFIX.sub(lambda m: f"{m.group(1)} {_TITLES[m.group(2)]}", text)
    text = _INITIALISM.sub(_initialism, text)
    text = _SAINT_OR_STREET.sub(_saint_or_street, text)
    text = _LATIN.sub(_latin, text)
    text = _NUMBERED.sub(_numbered, text)
    return _WITH.sub(lambda m: "without" if m.group(1) else "with", text)
