"""Cut a document's text into overlapping chunks that end where sentences and paragraphs end.

Why these numbers (characters, not tokens, so chunking does not depend on the
embedding model's tokenizer):

* ``target_chars = 600``: about 130 to 150 word pieces of English prose (≈ 4.3
  characters per word piece for MiniLM's vocabulary) — a paragraph or two,
  one idea. all-MiniLM-L6-v2 was trained on sentence pairs of at most 128
  word pieces, and a focused chunk scores higher against a short question
  than a long one that dilutes it.
* ``max_chars = 1000``: no piece is ever longer (≈ 230 word pieces), so a
  chunk fits the model's 256-word-piece window and nothing is silently
  truncated away from the embedding. Only a single sentence longer than the
  target makes a chunk exceed ``target_chars``; sentences longer than
  ``max_chars`` are cut at line breaks, then between words.
* ``overlap_chars = 150``: the last whole sentences of a chunk, up to this
  length (usually one), start the next one, so a fact that spans a boundary
  is whole in at least one chunk. A last sentence longer than this is not
  repeated: overlap is never a cut-up sentence. A chunk that starts a new
  section (at a heading) has no overlap: the previous section's last words
  would only blur what it is about.

Boundaries, in order of preference: a heading starts a new chunk once the
current one is half full, and never ends one (it moves to the next chunk
with its section); a paragraph that does not fit starts a new chunk once the
current one is half full; otherwise the chunk ends at the last sentence that
fits. Each chunk carries the nearest Markdown heading above it, which the
store prepends when it embeds the chunk (the chunk text itself is unchanged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ChunkingOptions:
    """Sizes in characters; see the module docstring for why."""

    target_chars: int = 600
    max_chars: int = 1000
    overlap_chars: int = 150

    def __post_init__(self) -> None:
        if not 0 < self.target_chars <= self.max_chars:
            raise ValueError("need 0 < target_chars <= max_chars")
        if not 0 <= self.overlap_chars < self.target_chars:
            raise ValueError("need 0 <= overlap_chars < target_chars")


@dataclass(frozen=True)
class TextChunk:
    """One chunk: its position in the document, its text, and the heading it sits under."""

    index: int
    text: str
    heading: str | None = None


@dataclass(frozen=True)
class _Unit:
    """A sentence (or a smaller piece of an overlong one): what chunks are built from."""

    text: str
    paragraph: int
    #: What joins it to the previous unit of the same paragraph: " " or "\n".
    glue: str
    heading: str | None
    is_heading: bool = False


_HEADING = re.compile(r"^#{1,6}\s+\S")
#: A sentence ends with . ! ? or … (then closing quotes/brackets) before whitespace; a list
#: item starts a new piece too.
_SENTENCE_END = re.compile(
    r"[.!?\u2026][\"'\u201d\u2019)\]]*(\s+)|(\n)(?=[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])\s)"
)
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Prof|Jr|Sr|vs|etc|approx|No|Nr|Fig|Inc|Ltd|Co|Ave|Apt|"
    r"e\.g|i\.e|a\.m|p\.m)|\b[A-Z])\.$",
    re.IGNORECASE,
)


def chunk_text(text: str, options: ChunkingOptions | None = None) -> list[TextChunk]:
    """The chunks of ``text`` (as :mod:`june.inference.documents.extract` returns it)."""
    options = options or ChunkingOptions()
    chunks: list[tuple[list[_Unit], str | None]] = []
    current: list[_Unit] = []  # overlap from the previous chunk, then fresh units
    fresh = 0  # units of ``current`` that are new (at its end)
    content = 0  # fresh units that are not headings: a chunk needs at least one

    def flush(overlap: bool = True) -> None:
        nonlocal current, fresh, content
        carried: list[_Unit] = []
        while current and current[-1].is_heading:  # a heading never ends a chunk
            carried.insert(0, current.pop())
        chunks.append((current, current[len(current) - fresh + len(carried)].heading))
        current = carried or (_overlap(current, options.overlap_chars) if overlap else [])
        fresh, content = len(carried), 0

    paragraphs: dict[int, list[_Unit]] = {}
    for unit in _units(text, options.max_chars):
        paragraphs.setdefault(unit.paragraph, []).append(unit)
    for members in paragraphs.values():
        size = len(_join(current))
        if (
            content
            and size >= options.target_chars // 2
            and (members[0].is_heading or size + 2 + len(_join(members)) > options.target_chars)
        ):
            flush(overlap=not members[0].is_heading)  # a new section needs no lead-in
        for unit in members:
            if content and len(_join([*current, unit])) > options.target_chars:
                flush()
            while len(current) > fresh and len(_join([*current, unit])) > options.max_chars:
                current.pop(0)  # overlap that would push the chunk past the model's window
            current.append(unit)
            fresh += 1
            content += not unit.is_heading
    if content or (fresh and not chunks):
        chunks.append((current, current[len(current) - fresh].heading))
    return [
        TextChunk(index, _join(members), heading) for index, (members, heading) in enumerate(chunks)
    ]


def _overlap(units: list[_Unit], budget: int) -> list[_Unit]:
    """The trailing whole sentences of ``units`` that fit in ``budget`` characters."""
    tail: list[_Unit] = []
    for unit in reversed(units):
        if unit.is_heading or len(_join([unit, *tail])) > budget:
            break
        tail.insert(0, unit)
    return tail


def _join(units: list[_Unit]) -> str:
    out: list[str] = []
    for i, unit in enumerate(units):
        if i:
            out.append(unit.glue if unit.paragraph == units[i - 1].paragraph else "\n\n")
        out.append(unit.text)
    return "".join(out)


# --- splitting -----------------------------------------------------------------------


def _units(text: str, max_chars: int) -> list[_Unit]:
    units: list[_Unit] = []
    heading: str | None = None
    paragraphs = (p.strip() for p in re.split(r"\n[ \t]*\n", text))
    for number, paragraph in enumerate(p for p in paragraphs if p):
        if _HEADING.match(paragraph) and "\n" not in paragraph:
            heading = paragraph.lstrip("#").strip()
            units.append(_Unit(paragraph[:max_chars], number, " ", heading, is_heading=True))
            continue
        for glue, piece in _sentences(paragraph, max_chars):
            units.append(_Unit(piece, number, glue, heading))
    return units


def _sentences(paragraph: str, max_chars: int) -> list[tuple[str, str]]:
    """``(glue, sentence)`` pairs; sentences longer than ``max_chars`` are cut further."""
    pieces: list[tuple[str, str]] = []
    start, glue = 0, " "
    for match in _SENTENCE_END.finditer(paragraph):
        space = match.group(1) if match.group(1) is not None else match.group(2)
        end = match.start(1) if match.group(1) is not None else match.start(2)
        if match.group(1) is not None and _ABBREVIATION.search(paragraph[start:end]):
            continue
        pieces.append((glue, paragraph[start:end]))
        start, glue = match.end(), "\n" if "\n" in space else " "
    pieces.append((glue, paragraph[start:]))
    out: list[tuple[str, str]] = []
    for glue, piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        for i, part in enumerate(_cut(piece, max_chars)):
            out.append((glue if i == 0 else " ", part))
    return out


def _cut(text: str, max_chars: int) -> list[str]:
    """``text`` in pieces of at most ``max_chars``: at line breaks, then spaces, then anywhere."""
    if len(text) <= max_chars:
        return [text]
    for separator in ("\n", " "):
        cut = text.rfind(separator, 0, max_chars + 1)
        if cut > max_chars // 4:
            return [text[:cut].strip(), *_cut(text[cut:].strip(), max_chars)]
    return [text[:max_chars], *_cut(text[max_chars:], max_chars)]
