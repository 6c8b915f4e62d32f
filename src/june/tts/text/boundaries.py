"""Where a sentence ends: the decisions behind ``SentenceSplitter``, one position at a time.

Every function here looks at the text received so far and answers ``END``,
``GO_ON`` or ``WAIT`` (the answer depends on characters that have not arrived
yet). Given enough text the answer never changes as more arrives, which is
what makes the splitter give the same sentences however the stream is cut
into deltas. Lookahead is bounded: the character after a terminal mark (and
its closing quotes or brackets), plus the first letter — at most the first
two characters — of the next word when an abbreviation, an ellipsis or a
closing quote makes the case of that word decide.

Rules, in English terms:

- ``. ! ? …`` followed by whitespace end a sentence; closing quotes and
  brackets right after the mark belong to it (``He said "Stop."``).
- A period after a title or Latin form that never ends a sentence ("Dr.",
  "Mr.", "St.", "vs.", "e.g.", "approx.", ...), after a single capital initial
  or a dotted initialism ("J. R. R. Tolkien", "U.S." — so "in the U.S. Then"
  stays one sentence, the price of keeping names whole), or after the number
  of a numbered-list marker at the start of a line, does not end one.
- A period after "etc.", "Inc.", "a.m.", "No." and similar ends the sentence
  unless the next word starts with a lower-case letter or a digit.
- An ellipsis, or a mark closed by a quote, followed by a lower-case word (or
  the pronoun "I") continues the sentence: "Well... I think", ``"Stop!" she said``.
- A period with no whitespace after it ("3.14", "example.com", "e.g.,") never ends
  a sentence; this is also how decimals split across deltas ("3." + "14") stay whole.
- The CJK full stop, exclamation and question marks (U+3002, U+FF01, U+FF1F) end a
  sentence at once (CJK text has no spaces), closers included.
- A newline ends a sentence when the line it ends or the line it starts is a
  list item, heading, table row, rule or code fence, or when a blank line
  follows (a paragraph); otherwise it is a soft line break inside a sentence.
"""

from __future__ import annotations

import re
from enum import Enum


class Decision(Enum):
    END = "end"
    GO_ON = "go on"
    WAIT = "wait"


LATIN_END = ".!?\u2026"
CJK_END = "\u3002\uff01\uff1f"
_CLOSERS = "\"'\u201d\u2019\u00bb)]}\u300d\u300f\uff09\u3011"
_QUOTES = "\"'\u201d\u2019\u00bb\u300d\u300f"
_OPENERS = "\"'(\u201c\u2018[{\u00ab*_"

# Never the last word of a sentence: the next word belongs to the same one.
_NEVER_FINAL = {
    "mr", "mrs", "ms", "dr", "prof", "st", "mt", "vs", "e.g", "i.e", "cf",
    "approx", "fig", "figs", "ca", "eq", "ref", "vol", "ch", "sec", "pp", "p",
}  # fmt: skip
# Final only when a capitalised word follows: "..., etc. The next" / "etc. and".
_FINAL_BEFORE_CAPITAL = {
    "etc", "inc", "ltd", "co", "corp", "jr", "sr", "no", "nos", "a.m", "p.m",
    "al", "dept", "est", "misc", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
}  # fmt: skip
_INITIALS = re.compile(r"(?:[A-Z]\.)*[A-Z]")
_LIST_NUMBER = re.compile(r"\d{1,9}")


def line_kind(line: str, complete: bool) -> str | None:
    """What a line is by its start: "item", "heading", "table", "rule", "fence", "text".

    ``line`` starts at the beginning of the line (leading spaces allowed) and
    may run past its end; ``complete`` says the stream has ended. None means
    the line has not arrived far enough to tell ("1" may become "1. item").
    """
    line = line.lstrip(" \t")
    complete = complete or "\n" in line
    line = line.split("\n", 1)[0]
    if not line:
        return "text" if complete else None
    first = line[0]
    if first == "|":
        return "table"
    if first in "`~*-_#" and line == first * len(line) and len(line) < 3 and not complete:
        return None  # "``" may become a fence, "--" a rule, "#" a heading
    if first in "`~" and line.startswith(first * 3):
        return "fence"
    if first in "-*_" and line.startswith(first * 3):
        return "rule"
    if first in "-*+\u2022":
        if len(line) == 1:
            return "text" if complete else None
        return "item" if line[1] in " \t" else "text"
    if first == "#":
        if re.match(r"#{1,6}[ \t]", line):
            return "heading"
        return None if re.fullmatch(r"#{1,6}", line) and not complete else "text"
    if first.isdigit():
        if match := re.match(r"\d{1,9}[.)]", line):
            if len(line) > match.end():
                return "item" if line[match.end()] in " \t" else "text"
            return "text" if complete else None
        return None if re.fullmatch(r"\d{1,9}", line) and not complete else "text"
    return "text"


def newline_decision(text: str, i: int, final: bool) -> Decision:
    """Does the newline at ``text[i]`` end the sentence?"""
    line_start = text.rfind("\n", 0, i) + 1
    if line_kind(text[line_start:i], complete=True) != "text":
        return Decision.END
    j = i + 1
    while j < len(text) and text[j] in " \t\r":
        j += 1
    if j == len(text):
        return Decision.END if final else Decision.WAIT
    if text[j] == "\n":
        return Decision.END
    kind = line_kind(text[j:], final)
    if kind is None:
        return Decision.WAIT
    return Decision.GO_ON if kind == "text" else Decision.END


def _word_before(text: str, i: int) -> tuple[str, int]:
    """The token that ends at ``i`` (without opening quotes/brackets) and where it starts."""
    start = i
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while start < i and text[start] in _OPENERS:
        start += 1
    return text[start:i], start


def _next_word_continues(text: str, k: int, final: bool, digits_continue: bool) -> Decision:
    """GO_ON if the word after ``text[k:]``'s whitespace starts lower-case (or is "I")."""
    m = k
    while m < len(text) and text[m].isspace():
        m += 1
    if m == len(text):
        return Decision.END if final else Decision.WAIT
    first = text[m]
    if first.islower() or (digits_continue and first.isdigit()):
        return Decision.GO_ON
    if first == "I":
        if m + 1 == len(text):
            return Decision.END if final else Decision.WAIT
        if not text[m + 1].isalpha():
            return Decision.GO_ON
    return Decision.END


def terminal_decision(text: str, i: int, final: bool) -> tuple[Decision, int]:
    """Decision for the terminal mark at ``text[i]`` and the index just after it.

    The index is past the whole run of marks ("?!", "...") and, when the sentence
    ends there, past its closing quotes and brackets too.
    """
    n = len(text)
    j = i
    while j < n and (text[j] in LATIN_END or text[j] in CJK_END):
        j += 1
    k = j
    while k < n and text[k] in _CLOSERS:
        k += 1
    if k == n:
        return (Decision.END if final else Decision.WAIT), k
    if text[i] in CJK_END or text[j - 1] in CJK_END:
        return Decision.END, k
    if not text[k].isspace():
        return Decision.GO_ON, j
    run = text[i:j]
    quoted = any(ch in _QUOTES for ch in text[j:k])
    if "?" in run or "!" in run:
        decision = _next_word_continues(text, k, final, False) if quoted else Decision.END
    elif run != ".":
        decision = _next_word_continues(text, k, final, False)  # an ellipsis
    else:
        word, start = _word_before(text, i)
        lower = word.lower()
        line_start = text.rfind("\n", 0, start) + 1
        if lower in _NEVER_FINAL or (_INITIALS.fullmatch(word) and word != "I"):
            decision = Decision.GO_ON
        elif _LIST_NUMBER.fullmatch(word) and not text[line_start:start].strip():
            decision = Decision.GO_ON  # "1. " opening a numbered list item
        elif lower in _FINAL_BEFORE_CAPITAL:
            decision = _next_word_continues(text, k, final, True)
        elif quoted:
            decision = _next_word_continues(text, k, final, False)
        else:
            decision = Decision.END
    return decision, (k if decision is Decision.END else j)
