"""Web addresses and e-mail addresses read the way a person says them.

A URL read character by character is long and useless by ear; what a listener
can remember is the site. So a URL is read as its host only, without the
scheme, a leading ``www.``, the port, path, query and fragment:
``https://www.example.com/path?x=1`` → "example dot com". Bare domains with a
common top-level domain ("example.org") get the same treatment. An e-mail
address is read whole, since every part of it matters:
``jane.doe@example.org`` → "jane dot doe at example dot org".

The words for "." and "@" depend on the language; for a language without an
entry the host is kept as written (``example.com``) and e-mail addresses are
left to the voice.
"""

from __future__ import annotations

import re

# language -> (word for ".", word for "@", words for "-", "_", "+" in e-mail local parts)
_WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "en": ("dot", "at", "dash", "underscore", "plus"),
    "de": ("Punkt", "at", "Strich", "Unterstrich", "plus"),
    "fr": ("point", "arobase", "tiret", "tiret bas", "plus"),
    "es": ("punto", "arroba", "guion", "guion bajo", "más"),
    "it": ("punto", "chiocciola", "trattino", "trattino basso", "più"),
    "pt": ("ponto", "arroba", "hífen", "sublinhado", "mais"),
    "nl": ("punt", "apenstaartje", "streepje", "underscore", "plus"),
}

_TRAILING = ".,;:!?)]}'\""
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_TLDS = "com|org|net|io|dev|ai|edu|gov|app|info|co\\.uk|org\\.uk|uk|de|fr|eu|nl|ch|ca|us"
_DOMAIN = re.compile(
    r"(?<![\w@./-])((?:[A-Za-z0-9-]+\.)+(?:" + _TLDS + r"))(?![\w@-]|\.\w)", re.IGNORECASE
)


def _host(url: str) -> str:
    host = re.sub(r"^[a-z]+://", "", url, flags=re.IGNORECASE)
    host = re.split(r"[/?#]", host, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0]
    return re.sub(r"^www\.", "", host, flags=re.IGNORECASE).rstrip(".")


def _say_host(host: str, dot: str) -> str:
    return f" {dot} ".join(part for part in host.split(".") if part)


def speak_web_addresses(text: str, language: str) -> str:
    """Replace URLs, e-mail addresses and bare domains by how they are said aloud."""
    words = _WORDS.get(language)

    def url(match: re.Match[str]) -> str:
        raw = match.group(0)
        trail = ""
        while raw and raw[-1] in _TRAILING:
            trail = raw[-1] + trail
            raw = raw[:-1]
        host = _host(raw)
        return (_say_host(host, words[0]) if words else host) + trail

    text = _URL.sub(url, text)
    if not words:
        return text
    dot, at, dash, underscore, plus = words

    def email(match: re.Match[str]) -> str:
        local = match.group(1).strip(".")
        for sign, word in ((".", dot), ("-", dash), ("_", underscore), ("+", plus)):
            local = local.replace(sign, f" {word} ")
        return f"{' '.join(local.split())} {at} {_say_host(match.group(2), dot)}"

    text = _EMAIL.sub(email, text)
    return _DOMAIN.sub(lambda m: _say_host(_host(m.group(1)), dot), text)
