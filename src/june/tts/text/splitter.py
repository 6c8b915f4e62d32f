"""Sentences out of a token stream, as early as each one is certainly complete.

The LLM's answer arrives in small deltas; TTS should start on the first
sentence while the rest is still being written. ``SentenceSplitter.push`` takes
each delta and returns the sentences that became complete with it;
``flush`` returns the rest at the end of the stream. Boundary rules (and their
bounded lookahead) are in ``boundaries``; this module adds the streaming state,
code fences and the length limits. Feed it the raw LLM text and normalize each
sentence afterwards: markdown structure (bullets, headings, fences) is what
tells it where lines end, and it keeps a fenced code block together as one
piece so that ``normalize_for_speech`` can replace it by one phrase.

Length limits, chosen from DESIGN.md's latency budget (Piper's first chunk takes
≈0.06 s for a four-word clause but ≈0.23 s for a thirteen-word sentence, and
the LLM needs time to write every character before it):

- ``first_max_chars = 60`` (about ten words): a first sentence longer than this
  is cut as soon as the 61st character arrives, so the first audio waits
  for at most ~60 characters of LLM output and a short Piper call;
- ``max_chars = 200`` for every later sentence: those are synthesized while the
  previous one plays, so they only need to stay short enough for steady
  streaming and for Piper's prosody;
- ``first_clause_chars`` (off by default; the tts service's streaming path sets it):
  the first piece also ends at its first clause boundary that many characters in,
  so the first audio of a streamed answer waits for a few words only;
- ``min_chars = 12``: a clause cut never leaves a first piece shorter than this
  ("Yes, " is too short to say alone), falling back to the last space.

A cut is made at the last natural break within the limit, the strongest kind
first: after ", ", "; ", ": " or a spaced dash; else before a conjunction
("and/but/or/so/because/which/..."); else before a preposition or "to" that
opens a phrase ("... nice to be back | at the same place"); else at the last
space that does not leave an article, a possessive or a preposition at the end
of the piece ("at the same | place" is never a cut); else at the last space.
Only breaks that leave ``min_chars`` or more go first; a single huge token is
cut at the first whitespace after the limit, CJK text at the limit itself.
Never inside a word: the pieces, joined with the whitespace between them,
give back the text. Short sentences ("Yes.", "OK.") are emitted as they are:
merging them would only delay audio.
"""

from __future__ import annotations

import re

from june.tts.text.boundaries import (
    CJK_END,
    LATIN_END,
    Decision,
    line_kind,
    newline_decision,
    terminal_decision,
)

MIN_CHARS = 12
MAX_CHARS = 200
FIRST_MAX_CHARS = 60

_CLAUSE = re.compile(r"[,;:](?=\s)|\s[\u2014\u2013-](?=\s)|[\uff0c\u3001\uff1b\uff1a]")
_CONJUNCTION = re.compile(
    r"\s(?=(?:and|but|or|so|because|which|while|although|though|whereas|then)\s)"
)
# Words that open a phrase: a cut before one splits the sentence between phrases.
# "of" is left out: "a cup | of tea" binds its phrase to the noun before it.
_PREPOSITIONS = (
    "about", "above", "across", "after", "against", "along", "among", "around", "at",
    "before", "behind", "below", "beside", "between", "beyond", "by", "despite", "during",
    "for", "from", "in", "inside", "into", "near", "on", "onto", "over", "past", "since",
    "through", "to", "toward", "towards", "under", "until", "upon", "with", "within", "without",
)  # fmt: skip
_PHRASE_START = re.compile(r"\s(?=(?:" + "|".join(_PREPOSITIONS) + r")\s)")
# A piece should not end on a word that needs the next one: an article, a
# possessive or demonstrative, a preposition.
_DANGLING = frozenset(_PREPOSITIONS) | {
    "a", "an", "the", "my", "your", "his", "her", "its", "our", "their",
    "this", "that", "these", "those", "of",
}  # fmt: skip

_SPACE = re.compile(r"\s")


def _is_cjk(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"


def _dangles(piece: str) -> bool:
    """Whether ``piece`` ends on a word that cannot end a phrase ("at the same")."""
    last = piece.rsplit(None, 1)[-1] if piece.strip() else ""
    return last.lower() in _DANGLING


class SentenceSplitter:
    """Incremental sentence splitter: ``push`` deltas, ``flush`` at the end.

    The same text gives the same sentences however it is cut into deltas.
    After ``flush`` the splitter is empty and can take a new stream.
    """

    def __init__(
        self,
        min_chars: int = MIN_CHARS,
        max_chars: int = MAX_CHARS,
        first_max_chars: int = FIRST_MAX_CHARS,
        first_clause_chars: int = 0,
    ) -> None:
        if min_chars < 0 or max_chars < 1 or first_max_chars < 1 or first_clause_chars < 0:
            raise ValueError("min_chars must be >= 0, max_chars and first_max_chars >= 1")
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.first_max_chars = first_max_chars
        #: > 0: the first piece also ends at its first clause boundary (", " "; " ": ")
        #: at least this many characters in, so speech can start on a few words.
        self.first_clause_chars = first_clause_chars
        self._reset()

    def _reset(self) -> None:
        # Text from the start of the line that holds the first unsent character:
        # line starts are needed to recognise list markers, headings and fences.
        self._text = ""
        self._pos = 0
        self._started = False
        self._fence_checked = -1  # last newline of an open fence known not to close it

    def push(self, delta: str) -> list[str]:
        """Add a delta; return the sentences that are now certainly complete."""
        self._text += delta.replace("\r", "")
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """End of stream: return everything still pending, then start afresh."""
        sentences = self._drain(final=True)
        self._reset()
        return sentences

    def _drain(self, final: bool) -> list[str]:
        sentences: list[str] = []
        while (span := self._next_span(final)) is not None:
            start, end = span
            if piece := self._text[start:end].strip():
                sentences.append(piece)
                self._started = True
            line_start = self._text.rfind("\n", 0, end) + 1
            self._text = self._text[line_start:]
            self._pos = end - line_start
            self._fence_checked = -1
        return sentences

    def _next_span(self, final: bool) -> tuple[int, int] | None:
        """(start, end) of the next complete piece, or None if it is not complete yet."""
        text, n = self._text, len(self._text)
        start = self._pos
        while start < n and text[start].isspace():
            start += 1
        if start == n:
            return None
        line_start = text.rfind("\n", 0, start) + 1
        if not text[line_start:start].strip():
            kind = line_kind(text[start:], final)
            if kind is None:
                return None
            if kind == "fence":
                end = self._fence_end(start, final)
                return None if end is None else (start, end)
        limit = self.max_chars if self._started else self.first_max_chars
        clause_at = 0 if self._started else self.first_clause_chars
        i = start
        while i < n:
            if i - start >= limit:
                return self._cut(start, limit, final)
            ch = text[i]
            if (
                clause_at
                and ch in ",;:"
                and i + 1 < n
                and text[i + 1] in " \t"
                and i + 1 - start >= clause_at
            ):
                return start, i + 1
            if ch == "\n":
                decision = newline_decision(text, i, final)
                after = i
                i += 1
            elif ch in LATIN_END or ch in CJK_END:
                decision, after = terminal_decision(text, i, final)
                i = after
            else:
                i += 1
                continue
            if decision is Decision.END:
                return start, after
            if decision is Decision.WAIT:
                return None
        return (start, n) if final else None

    def _fence_end(self, start: int, final: bool) -> int | None:
        """End of the code fence opened at ``start``: the end of its closing line."""
        text = self._text
        marker = text[start : start + 3]
        newline = max(text.find("\n", start), self._fence_checked)
        while newline != -1:
            next_newline = text.find("\n", newline + 1)
            line = text[newline + 1 : next_newline if next_newline != -1 else len(text)]
            if line.lstrip(" \t").startswith(marker):
                if next_newline != -1:
                    return next_newline
                break
            if next_newline != -1:
                self._fence_checked = next_newline  # lines are re-read only once
            newline = next_newline
        return len(text) if final else None

    def _cut(self, start: int, limit: int, final: bool) -> tuple[int, int] | None:
        """Where to cut a piece that reached ``limit`` characters without ending."""
        window = self._text[start : start + limit + 1]
        clauses = [m.end() for m in _CLAUSE.finditer(window) if m.end() <= limit]
        conjunctions = [m.start() for m in _CONJUNCTION.finditer(window) if m.start() <= limit]
        phrases = [m.start() for m in _PHRASE_START.finditer(window) if m.start() <= limit]
        spaces = [p for p in range(1, limit + 1) if window[p].isspace()]
        words = [p for p in spaces if not _dangles(window[:p])]
        for candidates in (clauses, conjunctions, phrases, words, spaces):
            long_enough = [p for p in candidates if p >= self.min_chars]
            if long_enough:
                return start, start + max(long_enough)
        if spaces:
            return start, start + max(spaces)
        if _is_cjk(window[limit - 1]):
            return start, start + limit
        match = _SPACE.search(self._text, start + limit)
        if match is not None:
            return start, match.start()
        return (start, len(self._text)) if final else None


def split_sentences(
    text: str,
    *,
    min_chars: int = MIN_CHARS,
    max_chars: int = MAX_CHARS,
    first_max_chars: int = FIRST_MAX_CHARS,
    first_clause_chars: int = 0,
) -> list[str]:
    """All sentences of a complete text, exactly as the streaming splitter gives them."""
    splitter = SentenceSplitter(min_chars, max_chars, first_max_chars, first_clause_chars)
    return splitter.push(text) + splitter.flush()
