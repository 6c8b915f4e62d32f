"""Plain text out of a document: plain text, Markdown, HTML and PDF, detected from the bytes.

The type is decided from what the file *is* before what it is called: a PDF
header or a known binary signature wins over the extension, then a declared
MIME type, then the extension, then sniffing (an HTML doctype, otherwise
text that decodes). So ``notes`` with no extension is read as text, and
``report.pdf`` that is really a Word file is refused as a Word file.

* Plain text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252.
* Markdown: kept as Markdown (headings and lists help both the chunker and
  the model that reads the chunk), with link targets, images and HTML
  comments reduced to their text.
* HTML: the standard library's ``html.parser`` — tolerant of broken markup,
  no dependency. Scripts, styles, templates, SVG and the like are dropped;
  headings become Markdown headings and block elements become paragraph
  breaks, so HTML and Markdown look the same to the chunker.
* PDF: ``pypdf``'s text extraction, page by page, pages as paragraphs. A
  scanned PDF has no text layer and is refused as empty (June has no OCR).

Every failure is a :class:`DocumentError` whose message names the file.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

from june.inference.documents.errors import DocumentError

TEXT, MARKDOWN, HTML, PDF = "text/plain", "text/markdown", "text/html", "application/pdf"
SUPPORTED_TYPES = {TEXT: "plain text", MARKDOWN: "Markdown", HTML: "HTML", PDF: "PDF"}
SUPPORTED_NAMES = "plain text, Markdown, HTML and PDF"

#: Refused before parsing: a personal document, not an archive.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
#: Refused after extraction (~2,500 pages): embedding that many chunks takes minutes on 2 cores.
MAX_TEXT_CHARS = 5_000_000

_EXTENSIONS = {
    ".txt": TEXT,
    ".text": TEXT,
    ".log": TEXT,
    ".csv": TEXT,
    ".tsv": TEXT,
    ".rst": TEXT,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".mdown": MARKDOWN,
    ".mkd": MARKDOWN,
    ".html": HTML,
    ".htm": HTML,
    ".xhtml": HTML,
    ".pdf": PDF,
}
_MIME_ALIASES = {
    "text/x-markdown": MARKDOWN,
    "application/xhtml+xml": HTML,
    "application/x-pdf": PDF,
}
_UNSUPPORTED_EXTENSIONS = {
    ".doc": "a Word document",
    ".docx": "a Word document",
    ".odt": "an OpenDocument text",
    ".rtf": "an RTF document",
    ".xls": "a spreadsheet",
    ".xlsx": "a spreadsheet",
    ".ods": "a spreadsheet",
    ".ppt": "a presentation",
    ".pptx": "a presentation",
    ".epub": "an e-book",
}
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (Word, Excel, EPUB …)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"OggS", "audio"),
    (b"ID3", "MP3 audio"),
    (b"fLaC", "FLAC audio"),
    (b"RIFF", "audio or video"),
    (b"%!PS", "a PostScript file"),
)
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


@dataclass(frozen=True)
class ExtractedText:
    """A document's readable text and what it was read as."""

    text: str
    mime_type: str
    #: PDF page count; None for the other types.
    pages: int | None = None


# --- detection -----------------------------------------------------------------------


def _has_bom(data: bytes) -> bool:
    return any(data.startswith(bom) for bom, _ in _BOMS)


def _looks_binary(data: bytes) -> bool:
    return not _has_bom(data) and b"\x00" in data[:8192]


def _looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return True
    return head.startswith(b"<") and (b"<body" in head or b"<head" in head)


def detect_mime_type(name: str, data: bytes, declared: str | None = None) -> str:
    """The type June reads ``data`` as (one of :data:`SUPPORTED_TYPES`), or DocumentError."""
    if data[:1024].find(b"%PDF-") != -1:  # the header may follow up to 1 KB of junk
        return PDF
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            raise DocumentError(
                "unsupported", f"{name} is {kind}; June reads {SUPPORTED_NAMES} files"
            )
    suffix = PurePath(name).suffix.lower()
    wanted = (declared or "").split(";")[0].strip().lower()
    wanted = _MIME_ALIASES.get(wanted, wanted)
    if PDF in (wanted, _EXTENSIONS.get(suffix)):
        raise DocumentError("corrupt", f"{name} is not a PDF (it has no %PDF header)")
    if _looks_binary(data):
        raise DocumentError(
            "unsupported", f"{name} is a binary file; June reads {SUPPORTED_NAMES} files"
        )
    if wanted in SUPPORTED_TYPES:
        return wanted
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    if suffix in _UNSUPPORTED_EXTENSIONS:
        kind = _UNSUPPORTED_EXTENSIONS[suffix]
        raise DocumentError("unsupported", f"{name} is {kind}; June reads {SUPPORTED_NAMES} files")
    return HTML if _looks_like_html(data) else TEXT


# --- extraction ----------------------------------------------------------------------


def extract_text(
    name: str,
    data: bytes,
    mime_type: str | None = None,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    max_chars: int = MAX_TEXT_CHARS,
) -> ExtractedText:
    """The text of document ``name``; ``mime_type`` is a hint the bytes may overrule."""
    if len(data) > max_bytes:
        raise DocumentError(
            "too_large",
            f"{name} is {len(data) / 1e6:.1f} MB; documents up to "
            f"{max_bytes / 1e6:.0f} MB are accepted",
        )
    if not data.strip():
        raise DocumentError("empty", f"{name} is empty")
    kind = detect_mime_type(name, data, mime_type)
    pages = None
    if kind == PDF:
        text, pages = _pdf_text(name, data, max_chars)
    elif kind == HTML:
        text = html_to_text(decode_text(data))
    elif kind == MARKDOWN:
        text = markdown_to_text(decode_text(data))
    else:
        text = decode_text(data)
    text = normalize_text(text)
    if not text:
        why = " (a scanned PDF has no text layer, and June does no OCR)" if kind == PDF else ""
        raise DocumentError("empty", f"{name} has no text{why}")
    if len(text) > max_chars:
        raise DocumentError(
            "too_large",
            f"{name} has {len(text):,} characters of text; up to {max_chars:,} are accepted",
        )
    return ExtractedText(text, kind, pages)


def decode_text(data: bytes) -> str:
    """Bytes of a text file as a string: BOM first, then UTF-8, then Windows-1252."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Unix newlines, no control characters (PostgreSQL refuses NUL), tidy blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# --- Markdown ------------------------------------------------------------------------

_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$", re.MULTILINE)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def markdown_to_text(text: str) -> str:
    """Markdown with links, images and comments reduced to the words a reader sees."""
    text = _HTML_COMMENT.sub("", text)
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    return _MD_REFERENCE.sub("", text)


# --- HTML ----------------------------------------------------------------------------

#: Not text a reader reads: code, styling, graphics, and site navigation menus.
_SKIPPED = {
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas", "nav",
}  # fmt: skip
_VOID = {"br", "hr", "img", "meta", "link", "input", "wbr", "area", "base", "col", "source"}
_BLOCKS = {
    "p", "div", "section", "article", "header", "footer", "main", "aside",
    "blockquote", "pre", "table", "thead", "tbody", "tfoot", "tr", "ul", "ol", "dl",
    "dt", "dd", "figure", "figcaption", "address", "form", "fieldset", "details",
    "summary", "caption", "hr", "body", "html",
}  # fmt: skip
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


class _HtmlText(HTMLParser):
    """Collects the visible text of an HTML page, with paragraph breaks where blocks end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._pre = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _HEADINGS:
            self.parts.append("\n\n" + "#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        if tag == "pre":
            self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:  # <svg/> opens nothing to skip
            self.handle_starttag(tag, attrs)
            if tag not in _VOID:
                self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in _HEADINGS or tag in _BLOCKS:
            self.parts.append("\n\n")
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title.append(data)
        elif self._pre:
            self.parts.append(data)
        else:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    """The readable text of an HTML page; its <title> leads as a heading unless repeated."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    body = normalize_text("".join(parser.parts))
    title = " ".join("".join(parser.title).split())
    if title and title.lower() not in body[: len(title) + 10].lower():
        body = f"# {title}\n\n{body}"
    return body


# --- PDF -----------------------------------------------------------------------------


def _pdf_text(name: str, data: bytes, max_chars: int) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    # pypdf logs every repair it makes to a damaged file ("EOF marker not found" …) as a
    # warning; what matters to the user is the one DocumentError below, not that noise.
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("invalid", f"{name} is password-protected; remove the password")
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > max_chars:
                raise DocumentError(
                    "too_large",
                    f"{name} has more than {max_chars:,} characters of text; "
                    f"up to {max_chars:,} are accepted",
                )
            pages.append(text)
    except DocumentError:
        raise
    except FileNotDecryptedError:
        raise DocumentError(
            "invalid", f"{name} is password-protected; remove the password"
        ) from None
    except Exception as exc:  # pypdf raises many types for damaged files; all mean the same
        raise DocumentError("corrupt", f"{name} is a damaged PDF ({exc})") from None
    return "\n\n".join(pages), len(pages)
