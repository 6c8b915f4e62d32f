"""Numbers as an English listener expects to hear them.

``num2words`` does the arithmetic of number words; this module decides *which*
reading a digit string gets (cardinal, decimal, ordinal, year, digit by digit,
version) and tidies num2words' British punctuation ("one thousand, two hundred
and five") into the plain American form Piper reads smoothly ("one thousand two
hundred five"). Everything here is a pure ``str -> str`` function.
"""

from __future__ import annotations

import re

from num2words import num2words

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# num2words overflows (and a listener gives up) long before this many digits.
_MAX_CARDINAL_DIGITS = 15


def _tidy(words: str) -> str:
    """Drop num2words' commas and British "and"; "oh-five" reads better as two words."""
    words = words.replace(",", "").replace("oh-", "oh ")
    return re.sub(r"\s+", " ", re.sub(r"\band\b", " ", words)).strip()


def digits(text: str) -> str:
    """Read every digit on its own ("0451" -> "zero four five one"); other chars are dropped."""
    return " ".join(_DIGIT_WORDS[int(ch)] for ch in text if ch.isdigit())


def cardinal(value: int) -> str:
    """Cardinal words for an integer; absurdly long ones are read digit by digit."""
    sign = "minus " if value < 0 else ""
    if len(str(abs(value))) > _MAX_CARDINAL_DIGITS:
        return sign + digits(str(abs(value)))
    return sign + _tidy(num2words(abs(value)))


def ordinal(value: int) -> str:
    """Ordinal words: 1 -> "first", 22 -> "twenty-second"."""
    if len(str(value)) > _MAX_CARDINAL_DIGITS:
        return digits(str(value)) + "th"
    return _tidy(num2words(value, to="ordinal"))


def year(value: int) -> str:
    """A year as people say it: 1999 -> "nineteen ninety-nine", 2005 -> "two thousand five"."""
    return _tidy(num2words(value, to="year"))


def number(text: str) -> str:
    """Words for a plain number string: optional sign, thousands commas, decimal part.

    The fraction is read digit by digit ("3.14" -> "three point one four"), which is
    how people read decimals aloud and keeps "0.05" distinct from "0.5".
    """
    text = text.replace(",", "").replace("\u2212", "-")
    sign = ""
    if text and text[0] in "+-":
        sign = "minus " if text[0] == "-" else "plus "
        text = text[1:]
    whole, _, fraction = text.partition(".")
    if len(whole) > _MAX_CARDINAL_DIGITS:
        spoken = digits(whole)
    else:
        spoken = cardinal(int(whole)) if whole else ""
    if fraction:
        spoken = f"{spoken} point {digits(fraction)}".strip()
    return sign + spoken


def is_singular(text: str) -> bool:
    """Whether a unit after this number takes the singular ("1 km" but "1.5 km", "0 km")."""
    return text.lstrip("+").replace(",", "") == "1"


# --- regex passes over running text -------------------------------------------------

# A number inside running text: not glued to letters or other digits on the left.
NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_LEFT = r"(?<![\w.,])"
_SIGN = r"(?:(?<![\w)+])[-+\u2212])?"

_ORDINAL = re.compile(_LEFT + r"(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_PERCENT = re.compile(_LEFT + r"(" + _SIGN + NUM + r")\s?%")
_IP = re.compile(_LEFT + r"(\d{1,3}(?:\.\d{1,3}){3})(?![\w.]*\d)")
_VERSION = re.compile(r"(?<![\w.,])(v(?:er)?\.?\s?)?(\d+(?:\.\d+){2,})(?![\w]|\.\d)", re.IGNORECASE)
_VPREFIX = re.compile(r"(?<![\w.,])v(\d+(?:\.\d+)?)\b")
_PHONE = re.compile(
    r"(?<![\w.,+-])(\+\d{1,3}[\s.-]?)?(\(\d{2,4}\)\s?)?"
    r"(\d{2,4}(?:[.-]\d{2,4}){1,3}|\d{2,4}(?:\s\d{2,4}){1,3})(?![\w.,-]?\d)"
)
_INTL_PHONE = re.compile(r"(?<![\w+])\+(\d{1,3})((?:[\s.-]\(?\d{1,4}\)?){2,6})(?![\w.,-]?\d)")
_BARE_PHONE = re.compile(r"\d{3}[.-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4}|\d{2,4}(?:-\d{2,4}){3}")
_LONG_DIGITS = re.compile(r"(?<![\w.,])(0\d{6,}|\d{10,})(?![\w.,]?\d)")
_HASH_NUMBER = re.compile(r"(?<!\w)#\s?(\d+)\b")
_YEAR_CUE = (
    r"(?:the|in|since|from|until|till|by|of|year|around|before|after|circa|during|between|"
    r"early|late|mid|spring|summer|autumn|fall|winter|january|february|march|april|may|june|"
    r"july|august|september|october|november|december)"
)
_YEAR_CANDIDATE = re.compile(
    r"(?<![\w.,])(1[1-9]\d\d|20\d\d)(?![\w.,]?\d|%)",
)
_CUE_BEFORE = re.compile(r"\b" + _YEAR_CUE + r"(?:\s|-)$", re.IGNORECASE)
_CUE_AFTER = re.compile(r"^(?:s\b|\)|\s*(?:AD|BC|BCE|CE)\b|[.,;:!?]?\s*$)")
_RANGE = re.compile(_LEFT + r"(" + NUM + r")\s?[-\u2013](" + NUM + r")(?![\w.,]?\d)")
_FRACTION = re.compile(r"(?<![\w./])(\d{1,3})/(\d{1,3})(?![\w/]|[.,]\d)")
_GLUED = re.compile(r"\d+(?:\.\d+)?")
_PLAIN = re.compile(_LEFT + r"(" + _SIGN + r"\.?" + NUM + r")(?![\d])")


def _phone(match: re.Match[str]) -> str:
    total = sum(ch.isdigit() for ch in match.group(0))
    body = match.group(3)
    if total < 7 or ("." in body and not re.fullmatch(r"\d{3}\.\d{3}\.\d{4}", body)):
        return match.group(0)
    bare = not (match.group(1) or match.group(2))
    if bare and " " in body:
        return match.group(0)  # "100 200 300" is a list of numbers, not a phone
    if bare and not _BARE_PHONE.fullmatch(body):
        return match.group(0)  # "1990-1995" is a range; ranges are read later
    groups = re.findall(r"\d+", match.group(0))
    spoken = ", ".join(digits(group) for group in groups)
    return ("plus " if match.group(1) else "") + spoken


def _intl_phone(match: re.Match[str]) -> str:
    groups = [match.group(1), *re.findall(r"\d+", match.group(2))]
    if sum(len(group) for group in groups) < 7:
        return match.group(0)
    return "plus " + ", ".join(digits(group) for group in groups)


def _year_or_cardinal(match: re.Match[str]) -> str:
    """Read 1100-2099 as a year when the words around say it is one, else leave it.

    The heuristic, kept simple on purpose: a year follows a cue word ("in",
    "since", "from", "the", a month name, ...; see ``_YEAR_CUE``), or sits in
    parentheses, or is the whole text, or is followed by "AD"/"BC". Anything
    else ("I have 1500 apples") is left for the cardinal reading.
    """
    before = match.string[: match.start()]
    after = match.string[match.end() :]
    standalone = not before.strip() and _CUE_AFTER.match(after) is not None
    era = re.match(r"\s*(?:AD|BC|BCE|CE)\b", after) is not None
    if _CUE_BEFORE.search(before[-16:]) or before.endswith("(") or standalone or era:
        return year(int(match.group(1)))
    return match.group(0)


def _decade(match: re.Match[str]) -> str:
    # "1990s" -> "nineteen nineties": pluralise the last word of the year.
    spoken = year(int(match.group(1)))
    if spoken.endswith("y"):
        return spoken[:-1] + "ies"
    return spoken + "s"


def _fraction(match: re.Match[str]) -> str:
    """ "3/4" -> "three quarters"; "24/7" (not a proper fraction) -> "twenty-four seven"."""
    top, bottom = int(match.group(1)), int(match.group(2))
    if not 0 < top < bottom <= 100:
        return f"{cardinal(top)} {cardinal(bottom)}"
    names = {2: ("half", "halves"), 4: ("quarter", "quarters")}
    one, many = names.get(bottom, (ordinal(bottom), ordinal(bottom) + "s"))
    return f"{cardinal(top)} {one if top == 1 else many}"


def _range(match: re.Match[str]) -> str:
    low, high = match.group(1), match.group(2)
    if re.fullmatch(r"1[1-9]\d\d|20\d\d", low) and re.fullmatch(r"1[1-9]\d\d|20\d\d", high):
        return f"{year(int(low))} to {year(int(high))}"
    return f"{number(low)} to {number(high)}"


def _plain(match: re.Match[str]) -> str:
    glued = match.string[match.end() : match.end() + 1].isalpha()  # "5min", "3pm"
    return number(match.group(1)) + (" " if glued else "")


def numbers_to_words(text: str) -> str:
    """Replace every number left in ``text`` by words, most specific reading first.

    Order: "#1", ordinals, percentages, IP addresses, version numbers, phone-like
    groups and long digit strings (digit by digit), decades, ranges ("10-20" ->
    "ten to twenty"), fractions ("3/4"), years (see ``_year_or_cardinal``), then plain
    cardinals and decimals, and last any digits glued to letters. Money, units,
    dates and times are handled before this pass by their own modules because
    they need the words around the number.
    """
    text = _HASH_NUMBER.sub(lambda m: "number " + cardinal(int(m.group(1))), text)
    text = _ORDINAL.sub(lambda m: ordinal(int(m.group(1))), text)
    text = _PERCENT.sub(lambda m: number(m.group(1)) + " percent", text)
    text = _IP.sub(lambda m: " dot ".join(cardinal(int(p)) for p in m.group(1).split(".")), text)
    text = _VPREFIX.sub(lambda m: "version " + m.group(1), text)
    text = _VERSION.sub(
        lambda m: (
            ("version " if m.group(1) else "")
            + " point ".join(cardinal(int(p)) for p in m.group(2).split("."))
        ),
        text,
    )
    text = _INTL_PHONE.sub(_intl_phone, text)
    text = _PHONE.sub(_phone, text)
    text = _LONG_DIGITS.sub(lambda m: digits(m.group(1)), text)
    text = re.sub(r"(?<![\w.,])(1[1-9]\d0|20\d0)s\b", _decade, text)
    text = _RANGE.sub(_range, text)
    text = _FRACTION.sub(_fraction, text)
    text = _YEAR_CANDIDATE.sub(_year_or_cardinal, text)
    text = _PLAIN.sub(_plain, text)
    # Digits glued to letters ("GPT4", "mp3") are read on their own: "GPT four".
    return _GLUED.sub(lambda m: f" {number(m.group(0))} ", text)
