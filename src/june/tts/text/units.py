"""Units of measure after a number, in English: "5 km" → "five kilometers".

Only symbols that are unambiguous *right after a number* are expanded ("m" is
meters after "5", never the letter elsewhere); the unit is singular only for
exactly one ("1 km" but "1.5 km", "0 km"). Temperatures read the degree sign:
"20°C" → "twenty degrees Celsius", "90°" → "ninety degrees". A measure used as
an adjective — after "a"/"an" and before the noun it describes — takes the
singular, as a speaker says it: "a 90° turn" → "a ninety-degree turn", "a 5 km
run" → "a five-kilometer run" (hyphenated when the number and the unit are one
word each, else "a two hundred meter dash"). "2x" is "two times", and a rate is
read with "per": "$150/day" → "... dollars per day".
Numbers themselves are read by ``numbers.number``.
"""

from __future__ import annotations

import re

from june.tts.text.numbers import NUM, is_singular, number

_UNITS: dict[str, tuple[str, str]] = {
    "\u00b0C": ("degree Celsius", "degrees Celsius"),
    "\u00b0F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "\u00b0": ("degree", "degrees"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "m/s": ("meter per second", "meters per second"),
    "km": ("kilometer", "kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "m": ("meter", "meters"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "L": ("liter", "liters"),
    "KB": ("kilobyte", "kilobytes"),
    "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "W": ("watt", "watts"),
    "kW": ("kilowatt", "kilowatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "V": ("volt", "volts"),
    "ms": ("millisecond", "milliseconds"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
}
_UNIT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_SIGN = r"(?:(?<![\w)])[-\u2212])?"
_MEASURE = re.compile(
    r"(?<![\w.,])(" + _SIGN + NUM + r")\s?(" + _UNIT + r")(?![\w/\u00b0])", re.UNICODE
)
_PER = re.compile(
    r"(?<=\w)\s?/\s?(day|week|month|year|hour|night|person|head|user|seat|page|item|unit)\b"
)
_TIMES = re.compile(r"(?<![\w.,])(" + NUM + r")x\b")
# "a 90° turn": an indefinite article before, a noun (not a joining word) after.
_ARTICLE_BEFORE = re.compile(r"(?:^|(?<=\s))an?\s+$", re.IGNORECASE)
_NOUN_AFTER = re.compile(r"\s+(?!(?:and|or|but|of|to|per|in|on|at|for)\b)[^\W\d_]", re.IGNORECASE)


def _adjective(match: re.Match[str]) -> bool:
    """Whether the measure ``match`` describes the noun after it ("a 90° turn")."""
    before = match.string[max(0, match.start() - 8) : match.start()]
    return bool(_ARTICLE_BEFORE.search(before)) and bool(
        _NOUN_AFTER.match(match.string, match.end())
    )


def units_to_words(text: str) -> str:
    """Replace "number + unit symbol" by words, "2x" by "two times", "$5/day" by "per day"."""

    def measure(match: re.Match[str]) -> str:
        amount, unit = match.group(1), match.group(2)
        one, many = _UNITS[unit]
        spoken = number(amount)
        if _adjective(match):
            joiner = "-" if " " not in spoken and " " not in one else " "
            return f"{spoken}{joiner}{one}"
        return f"{spoken} {one if is_singular(amount) else many}"

    text = _MEASURE.sub(measure, text)
    text = _PER.sub(lambda m: " per " + m.group(1), text)
    return _TIMES.sub(lambda m: number(m.group(1)) + " times", text)
