"""Markdown from an LLM answer turned into the plain sentences a listener should hear.

Chat models answer in markdown; read raw, Piper would say "asterisk asterisk" or
spell out a table's pipes. markdown-it-py (already installed with ``rich``)
parses the CommonMark structure so that every block becomes its own sentence:

- headings, paragraphs, list items and blockquote lines keep their text and end
  with a period when they have no closing punctuation, so each is read as a
  sentence with a falling tone;
- emphasis, strikethrough and inline-code marks are dropped, their text kept;
- links keep their text, images and raw HTML tags are dropped;
- a table row is read as its cells separated by commas ("a, b, c.");
- a *fenced* code block is replaced by a short phrase (``CODE_OMITTED``): code
  read aloud is noise, and silence would leave "here is the code:" hanging. An
  *indented* block is kept as text, because in chat output indentation is far
  more often an accident than code;
- horizontal rules disappear.

The splitter sends one sentence at a time, so a table row can arrive alone
(without its header's delimiter row); such pipe rows are recognised too.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

# What a fenced code block becomes, per language; other languages get silence.
CODE_OMITTED = {"en": "Code omitted.", "de": "Code ausgelassen.", "fr": "Code omis."}

_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_TAG = re.compile(r"<[^>]*>")
_PIPE_ROW = re.compile(r"^\s*\|.*$")
_DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
# "2*3*4" would otherwise become emphasis; a bullet glyph is a list marker.
_STAR_BETWEEN_DIGITS = re.compile(r"(?<=\d) ?\* ?(?=\d)")
_BULLET_GLYPH = re.compile(r"^(\s*)[\u2022\u25cf\u25aa\u2023\u2043]\s+", re.MULTILINE)

_TERMINAL = ".!?\u2026:;\u3002\uff01\uff1f\uff1a\uff1b"
_CLOSERS = "\"')]}\u201d\u2019\u00bb\u300d\u300f\uff09"


def _is_cjk(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"


def end_sentence(block: str) -> str:
    """Collapse a block's whitespace and give it closing punctuation if it has none."""
    block = " ".join(block.split())
    if not any(ch.isalnum() for ch in block):
        return ""
    core = block.rstrip(_CLOSERS)
    if core and core[-1] in _TERMINAL:
        return block
    if core and core[-1] == ",":
        return block[: len(core) - 1] + "." + block[len(core) :]
    return block + ("\u3002" if _is_cjk(core[-1:]) else ".")


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        # images, inline HTML and all the *_open/*_close marks say nothing
    return "".join(parts)


def _render_inline(source: str) -> str:
    tokens = _MD.parseInline(source)
    return _inline_text(tokens[0].children or []) if tokens else source


def _pipe_rows(source: str) -> list[str] | None:
    """Cells of a paragraph made only of ``| a | b |`` lines, or None if it is prose."""
    lines = [line for line in source.splitlines() if line.strip()]
    if not lines or not all(_PIPE_ROW.match(line) for line in lines):
        return None
    rows = []
    for line in lines:
        if _DELIMITER_ROW.match(line):
            continue
        cells = [_render_inline(cell.strip()) for cell in line.strip().strip("|").split("|")]
        rows.append(", ".join(cell for cell in cells if cell.strip()))
    return rows


def markdown_to_speech(text: str, code_phrase: str = "") -> str:
    """Plain text of a markdown document, one sentence per block, joined by spaces.

    Every block but a final plain paragraph gets closing punctuation; a final
    paragraph is left as written because the splitter may hand over half a
    sentence (a clause cut for latency), which must not gain a falling period.
    """
    text = _BULLET_GLYPH.sub(r"\1- ", _STAR_BETWEEN_DIGITS.sub(" \u00d7 ", text))
    blocks: list[tuple[str, bool]] = []  # (text, is a plain paragraph)
    row: list[str] | None = None
    structured = 0  # depth inside headings and list items
    for token in _MD.parse(text):
        if token.type in ("heading_open", "list_item_open"):
            structured += 1
        elif token.type in ("heading_close", "list_item_close"):
            structured -= 1
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            blocks.append((", ".join(cell for cell in row if cell.strip()), False))
            row = None
        elif token.type == "inline":
            if row is not None:
                row.append(_inline_text(token.children or []))
            elif (rows := _pipe_rows(token.content)) is not None:
                blocks.extend((r, False) for r in rows)
            else:
                blocks.append((_inline_text(token.children or []), not structured))
        elif token.type == "fence":
            blocks.append((code_phrase, False))
        elif token.type in ("code_block", "html_block"):
            blocks.append((_TAG.sub(" ", token.content), True))
    blocks = [(b, para) for b, para in blocks if any(ch.isalnum() for ch in b)]
    spoken = [end_sentence(b) for b, _ in blocks[:-1]]
    if blocks:
        last, paragraph = blocks[-1]
        spoken.append(" ".join(last.split()) if paragraph else end_sentence(last))
    return " ".join(spoken)
