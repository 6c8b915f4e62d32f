"""Amounts of money in English: "$1.50" → "one dollar and fifty cents".

The currency word goes after the amount, as it is said, whatever side of the
number the symbol or ISO code was written on (``$5``, ``5 USD``, ``USD 5``,
``5€``). Two decimals are read as the minor unit ("and fifty cents"); a scale
word turns the amount into a decimal ("$1.2 million" → "one point two million
dollars", also ``$5k``, ``$3bn``). Currencies without a minor unit in speech
(yen, won) read decimals with "point".
"""

from __future__ import annotations

import re

from june.tts.text.numbers import NUM, cardinal, number

# symbol or code -> (singular, plural, minor singular, minor plural)
_Names = tuple[str, str, str | None, str | None]
_DOLLAR: _Names = ("dollar", "dollars", "cent", "cents")
_CURRENCIES: dict[str, _Names] = {
    "$": _DOLLAR,
    "US$": _DOLLAR,
    "USD": _DOLLAR,
    "\u20ac": ("euro", "euros", "cent", "cents"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "\u00a3": ("pound", "pounds", "penny", "pence"),
    "GBP": ("pound", "pounds", "penny", "pence"),
    "\u00a5": ("yen", "yen", None, None),
    "JPY": ("yen", "yen", None, None),
    "\u20b9": ("rupee", "rupees", "paisa", "paise"),
    "INR": ("rupee", "rupees", "paisa", "paise"),
    "\u20a9": ("won", "won", None, None),
    "CNY": ("yuan", "yuan", None, None),
    "CHF": ("Swiss franc", "Swiss francs", "centime", "centimes"),
    "CAD": ("Canadian dollar", "Canadian dollars", "cent", "cents"),
    "AUD": ("Australian dollar", "Australian dollars", "cent", "cents"),
}
_SCALES = {
    "thousand": "thousand",
    "k": "thousand",
    "K": "thousand",
    "million": "million",
    "m": "million",
    "M": "million",
    "mn": "million",
    "billion": "billion",
    "bn": "billion",
    "B": "billion",
    "trillion": "trillion",
}
_SYMBOL = r"(US\$|\$|\u20ac|\u00a3|\u00a5|\u20b9|\u20a9)"
_CODE = r"(" + "|".join(k for k in _CURRENCIES if k.isalpha()) + r")"
_SCALE = r"(?:\s?(" + "|".join(sorted(_SCALES, key=len, reverse=True)) + r")\b)?"
_SIGN = r"((?<![\w)])[-\u2212])?"

_SYMBOL_FIRST = re.compile(_SIGN + _SYMBOL + r"\s?(" + NUM + r")" + _SCALE)
_CODE_FIRST = re.compile(r"\b" + _CODE + r"\s?(" + NUM + r")" + _SCALE)
_AMOUNT_FIRST = re.compile(
    _SIGN + r"(?<![\w.,])(" + NUM + r")" + _SCALE + r"\s?(?:" + _CODE + r"\b|" + _SYMBOL + r")"
)


def say_amount(amount: str, currency: str, scale: str | None = None, negative: bool = False) -> str:
    """Words for ``amount`` (digits, maybe commas and decimals) of ``currency``."""
    one, many, minor_one, minor_many = _CURRENCIES[currency]
    sign = "minus " if negative else ""
    if scale:
        return f"{sign}{number(amount)} {_SCALES[scale]} {many}"
    whole, _, fraction = amount.replace(",", "").partition(".")
    if fraction and (minor_one is None or len(fraction) > 2):
        return f"{sign}{number(amount)} {many}"
    major = int(whole or "0")
    minor = int(fraction.ljust(2, "0")) if fraction else 0
    parts = []
    if major or not minor:
        parts.append(f"{cardinal(major)} {one if major == 1 else many}")
    if minor:
        parts.append(f"{cardinal(minor)} {minor_one if minor == 1 else minor_many}")
    return sign + " and ".join(parts)


def money_to_words(text: str) -> str:
    """Replace every amount with a currency symbol or ISO code by its spoken form."""
    text = _SYMBOL_FIRST.sub(
        lambda m: say_amount(m.group(3), m.group(2), m.group(4), bool(m.group(1))), text
    )
    text = _CODE_FIRST.sub(lambda m: say_amount(m.group(2), m.group(1), m.group(3)), text)
    return _AMOUNT_FIRST.sub(
        lambda m: say_amount(m.group(2), m.group(4) or m.group(5), m.group(3), bool(m.group(1))),
        text,
    )
