"""Dates and clock times in English.

Dates: ISO dates (``2024-03-15``) and written dates with a month name
(``March 15, 2024``, ``15 March 2024``, ``Mar. 15``) are read with an ordinal
day and a spoken year after a pause: "March fifteenth, twenty twenty-four",
"the fifteenth of March, twenty twenty-four". A numeric date
with slashes is read day-first when its first part cannot be a month
("15/03/2024"), otherwise month-first ("03/04/2024" → "March fourth, ..."):
the US order, since the default voice and the LLM's English are American.

Times: ``10:30`` → "ten thirty", ``9:05 am`` → "nine oh five a m", ``12:00`` →
"twelve o'clock", ``10:00 am`` → "ten a m". A 24-hour time is said the way most
listeners say it, on the 12-hour clock: ``14:00`` → "two p m", ``14:30`` → "two
thirty p m", ``00:15`` → "twelve fifteen a m" (military "fourteen hundred" is
rarer in speech). "a m"/"p m" are written as two letters so that every voice
spells them instead of reading the word "am".
"""

from __future__ import annotations

import re

from june.tts.text.numbers import cardinal, ordinal, year

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_SHORT = {m[:3]: m for m in MONTHS} | {"Sept": "September"}
_MONTH = r"(" + "|".join(MONTHS) + r"|(?:" + "|".join(_SHORT) + r")\.?)"

_ISO = re.compile(r"(?<![\w.-])(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?![\w-]|\.\d)")
_MONTH_DAY = re.compile(
    r"\b" + _MONTH + r" (\d{1,2})(?:st|nd|rd|th)?\b(?!:|\.\d)(?:(,? )(\d{4})\b)?"
)
_DAY_MONTH = re.compile(
    r"(?<![\w.,])(\d{1,2})(?:st|nd|rd|th)? (?:of )?" + _MONTH + r"\b(?:(,? )(\d{4})\b)?"
)
_SLASH = re.compile(r"(?<![\w./])(\d{1,2})/(\d{1,2})/(\d{4})(?![\w/]|\.\d)")
_MERIDIEM = r"(?:\s?([AaPp])\.?[Mm]\b\.?)"
_CLOCK = re.compile(
    r"(?<![\w:.])([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(?![\w:]|\.\d)" + _MERIDIEM + "?"
)
_HOUR_ONLY = re.compile(r"(?<![\w:.,])(1[0-2]|0?[1-9])" + _MERIDIEM)


def _month(name: str) -> str:
    return _SHORT.get(name.rstrip("."), name.rstrip("."))


def _date(month: str, day: str, sep: str | None, year_digits: str | None) -> str:
    spoken = f"{_month(month)} {ordinal(int(day))}"
    return spoken + (f", {year(int(year_digits))}" if year_digits else "")


def _iso(match: re.Match[str]) -> str:
    y, m, d = match.groups()
    return f"{MONTHS[int(m) - 1]} {ordinal(int(d))}, {year(int(y))}"


def _day_month(match: re.Match[str]) -> str:
    day, month, _sep, year_digits = match.groups()
    if not 1 <= int(day) <= 31:
        return match.group(0)
    spoken = f"the {ordinal(int(day))} of {_month(month)}"
    return spoken + (f", {year(int(year_digits))}" if year_digits else "")


def _slash(match: re.Match[str]) -> str:
    first, second, year_digits = (int(g) for g in match.groups())
    month, day = (second, first) if first > 12 else (first, second)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return f"{MONTHS[month - 1]} {ordinal(day)}, {year(year_digits)}"


def _month_day(match: re.Match[str]) -> str:
    month, day, sep, year_digits = match.groups()
    if not 1 <= int(day) <= 31:
        return match.group(0)
    return _date(month, day, sep, year_digits)


def _meridiem(match: re.Match[str], letter: str | None) -> str:
    """ " a m"/" p m", keeping a sentence-ending period swallowed with "a.m."."""
    if not letter:
        return ""
    spoken = f" {letter.lower()} m"
    rest = match.string[match.end() :]
    if match.group(0).endswith(".") and (not rest.strip() or re.match(r"\s+[A-Z\"(]", rest)):
        spoken += "."
    return spoken


def _clock(match: re.Match[str]) -> str:
    hour, minute, second = int(match.group(1)), int(match.group(2)), match.group(3)
    suffix = _meridiem(match, match.group(4))
    if not suffix and hour != 12 and (hour > 12 or hour == 0 or match.group(1) == "00"):
        suffix = " p m" if hour > 12 else " a m"
    hour = hour % 12 or 12
    if minute == 0:
        spoken = cardinal(hour) + ("" if suffix else " o'clock")
    elif minute < 10:
        spoken = f"{cardinal(hour)} oh {cardinal(minute)}"
    else:
        spoken = f"{cardinal(hour)} {cardinal(minute)}"
    if second is not None and int(second):
        spoken += f" and {cardinal(int(second))} seconds"
    return spoken + suffix


def dates_and_times_to_words(text: str) -> str:
    """Read ISO dates, month-name dates, clock times and "9 am" style hours."""
    text = _ISO.sub(_iso, text)
    text = _SLASH.sub(_slash, text)
    text = _MONTH_DAY.sub(_month_day, text)
    text = _DAY_MONTH.sub(_day_month, text)
    text = _CLOCK.sub(_clock, text)
    return _HOUR_ONLY.sub(lambda m: cardinal(int(m.group(1))) + _meridiem(m, m.group(2)), text)
