"""The shapes loaders produce: a document as pages of numbered lines, plus what went wrong."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class LoadError(Exception):
    """A source file that cannot be ingested; the message names the file and the reason."""


@dataclass(frozen=True)
class Line:
    """One line of source text with its 1-based number in its file (text) or page (PDF)."""

    number: int
    text: str


@dataclass
class Page:
    """A page of lines; `number` is None for text files, which have no pages."""

    number: int | None
    lines: list[Line]


@dataclass
class Heading:
    """A section start found by the loader itself (a PDF outline entry), located on a page and line."""

    title: str
    level: int
    page: int | None
    line: int


@dataclass
class LoadedDocument:
    """A source file as the loaders read it."""

    path: Path
    format: str  # "text" or "pdf"
    sha256: str
    pages: list[Page]
    empty_pages: list[int] = field(default_factory=list)
    headings: list[Heading] | None = None  # None: find headings from the text
    notes: list[str] = field(default_factory=list)
