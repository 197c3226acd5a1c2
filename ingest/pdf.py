"""Load a PDF with pypdf: page numbers, NFKC text, joined hyphenations, no running headers or footers.

Leaves out OCR: a page with no extractable text is reported by number, not guessed at.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata
from collections import Counter
from pathlib import Path

from ingest.document import Heading, LoadedDocument, LoadError, Line, Page

MAX_PAGES = 2000
MAX_BYTES = 200 * 1024 * 1024
MAX_PAGE_CHARS = 200_000  # a page of a real report holds a few thousand characters
MAX_SECONDS = 300.0  # text extraction time for one PDF

# Running headers and footers sit in the first or last lines of a page.
_EDGE = 3
_HYPHENATED = re.compile(r"(\w)-$")
_NEXT_WORD = re.compile(r"^([a-zà-ÿœæ][\w’'-]*[.,;:!?)»]*)(.*)$")
_DIGITS = re.compile(r"\d+")


def normalise(text: str) -> str:
    """NFKC (ligatures, no-break spaces, math italics) and tidy spaces, keeping the line breaks."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u00ad", "")  # soft hyphen
    return "\n".join(re.sub(r"[ \t\u200b]+", " ", line).strip() for line in text.split("\n"))


def _edge_key(text: str) -> str:
    return _DIGITS.sub("#", text.lower()).strip()


def running_lines(pages: list[list[str]]) -> set[str]:
    """Keys of lines found at the top or bottom of at least half the pages: headers and footers."""
    if len(pages) < 3:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        edge = [ln for ln in lines if ln][:_EDGE] + [ln for ln in lines if ln][-_EDGE:]
        seen.update({_edge_key(ln) for ln in edge})
    threshold = max(3, len([p for p in pages if any(p)]) // 2)
    return {key for key, n in seen.items() if n >= threshold and key not in ("", "#")} | {"#"}


def _strip_running(lines: list[Line], running: set[str]) -> list[Line]:
    """Drop header and footer lines (and bare page numbers) at the edges of a page."""
    keep = list(lines)
    texts = [ln for ln in keep if ln.text]
    edge_ids = {id(ln) for ln in texts[:_EDGE] + texts[-_EDGE:]}
    return [ln for ln in keep if not (id(ln) in edge_ids and _edge_key(ln.text) in running)]


def join_hyphenations(lines: list[Line]) -> list[Line]:
    """Join a word split by a hyphen at a line end ("consump-" / "tion") onto the first line."""
    out = [Line(ln.number, ln.text) for ln in lines]
    for i in range(len(out) - 1):
        current, following = out[i], out[i + 1]
        if not _HYPHENATED.search(current.text):
            continue
        match = _NEXT_WORD.match(following.text)
        if not match:
            continue
        out[i] = Line(current.number, current.text[:-1] + match.group(1))
        out[i + 1] = Line(following.number, match.group(2).strip())
    return out


def _outline(reader, page_lines: dict[int, list[Line]]) -> list[Heading] | None:
    """Headings from the PDF's outline (bookmarks), placed on the line that shows their title."""
    try:
        outline = reader.outline
    except Exception:  # a broken outline is not a broken document
        return None

    def flat(items, level=1):
        for item in items:
            if isinstance(item, list):
                yield from flat(item, level + 1)
            else:
                try:
                    yield level, str(item.title or "").strip(), reader.get_destination_page_number(item) + 1
                except Exception:
                    continue

    headings = []
    for level, title, page in flat(outline or []):
        if not title:
            continue
        title = normalise(title)
        key = re.sub(r"\W+", "", title.lower())
        line_no = 1
        for ln in page_lines.get(page, []):
            if key and re.sub(r"\W+", "", ln.text.lower()).startswith(key[:40]):
                line_no = ln.number
                break
        headings.append(Heading(title, level, page, line_no))
    headings.sort(key=lambda h: (h.page or 0, h.line))
    return headings or None


def load_pdf(path: Path) -> LoadedDocument:
    """Read a PDF into pages of numbered, normalised lines; raise LoadError with the reason if it cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    size = path.stat().st_size
    if size == 0:
        raise LoadError(f"{path}: the file is empty")
    if size > MAX_BYTES:
        raise LoadError(f"{path}: the file is larger than {MAX_BYTES // 2**20} MB, the limit for one PDF")
    data = path.read_bytes()
    if b"%PDF-" not in data[:1024]:
        raise LoadError(f"{path}: this is not a PDF (it does not start with %PDF-)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        import io

        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(f"{path}: the PDF is encrypted with a password; decrypt it and ingest it again")
        count = len(reader.pages)
    except LoadError:
        raise
    except FileNotDecryptedError:
        raise LoadError(f"{path}: the PDF is encrypted with a password; decrypt it and ingest it again") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise LoadError(f"{path}: the PDF is corrupt or truncated ({exc})") from None
    if count == 0:
        raise LoadError(f"{path}: the PDF has no pages")
    if count > MAX_PAGES:
        raise LoadError(f"{path}: the PDF has {count} pages, more than the limit of {MAX_PAGES}")

    raw_pages: list[list[str]] = []
    notes: list[str] = []
    started = time.monotonic()
    for number, page in enumerate(reader.pages, start=1):
        if time.monotonic() - started > MAX_SECONDS:
            raise LoadError(f"{path}: reading its text took more than {MAX_SECONDS:g} s (stopped at page {number}); split the PDF and ingest the parts")
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # pypdf raises many types on damaged content streams
            notes.append(f"{path}: page {number} could not be read ({type(exc).__name__})")
            text = ""
        if len(text) > MAX_PAGE_CHARS:
            raise LoadError(f"{path}: page {number} holds {len(text)} characters of text, more than the limit of {MAX_PAGE_CHARS}")
        raw_pages.append(normalise(text).split("\n"))

    running = running_lines(raw_pages)
    pages: list[Page] = []
    empty: list[int] = []
    for number, texts in enumerate(raw_pages, start=1):
        lines = [Line(i, t) for i, t in enumerate(texts, start=1)]
        lines = join_hyphenations(_strip_running(lines, running))
        lines = [ln for ln in lines if ln.text]
        if not lines:
            empty.append(number)
        pages.append(Page(number, lines))
    if len(empty) == count:
        raise LoadError(f"{path}: no page has extractable text (a scanned PDF?); run OCR on it first")

    headings = _outline(reader, {p.number: p.lines for p in pages if p.number})
    return LoadedDocument(
        path=path,
        format="pdf",
        sha256=hashlib.sha256(data).hexdigest(),
        pages=pages,
        empty_pages=empty,
        headings=headings,
        notes=notes,
    )
