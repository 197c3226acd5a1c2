"""Cut blocks into passages of a few sentences, each with an exact locator and a stable id.

A passage never crosses a block, so never a page, section or speaker boundary. Its shown text is
the source lines it covers, as written (blank lines dropped, line breaks kept); the embedded text
adds the document title, section and speaker as context.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ingest.structure import Block

MAX_WORDS = 90
VERSION = 2  # raised whenever the same text would be cut differently, so that ingest rebuilds (2: "(Mr." is no sentence end)
MIN_WORDS = 20

# A sentence ends at . ! ? or … followed by a space and something that can start a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”»)]*\s+(?=[«\"“(\[]?\s?[A-ZÀ-ÖØ-Þ0-9o•—-])")
_ABBREVIATIONS = ("mr.", "m.", "dr.", "etc.", "e.g.", "i.e.", "cf.", "vs.", "fig.", "p.", "al.", "no.", "ndlr.")


@dataclass(frozen=True)
class Chunk:
    id: str
    document: str
    page: int | None
    first_line: int
    last_line: int
    section: str | None
    speaker: str | None
    text: str
    embed_text: str


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].split()
        if before and before[-1].lower().lstrip("([«\"“") in _ABBREVIATIONS:  # "(Mr. Dupont"
            continue
        spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def passage_id(document: str, page: int | None, first: int, last: int, text: str) -> str:
    """A stable id from the passage's location and content."""
    key = f"{document}\x1f{page}\x1f{first}\x1f{last}\x1f{text}".encode()
    return hashlib.sha256(key).hexdigest()[:16]


def embed_text(title: str, section: str | None, speaker: str | None, text: str) -> str:
    """The text given to the embedder and to BM25: context first, then the passage on one line."""
    context = " | ".join(x for x in (title, section, speaker) if x)
    return f"{context}\n{' '.join(text.split())}"


def chunk_block(block: Block, document: str, title: str, max_words: int = MAX_WORDS, min_words: int = MIN_WORDS) -> list[Chunk]:
    """The passages of one block."""
    texts = [ln.text.rstrip() for ln in block.lines]
    joined = "\n".join(texts)
    # Line of each character offset, to map sentences back to line numbers.
    starts, offset = [], 0
    for ln, t in zip(block.lines, texts):
        starts.append((offset, ln.number))
        offset += len(t) + 1

    def line_at(pos: int) -> int:
        number = starts[0][1]
        for begin, n in starts:
            if begin > pos:
                break
            number = n
        return number

    groups: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    count = 0
    for a, b in _sentence_spans(joined):
        words = len(joined[a:b].split())
        if current and count + words > max_words and count >= min_words:
            groups.append(current)
            current, count = None, 0
        current = (current[0], b) if current else (a, b)
        count += words
        # A single sentence longer than the limit still stays whole: never cut mid-sentence.
    if current:
        if groups and count < min_words // 2:
            groups[-1] = (groups[-1][0], current[1])
        else:
            groups.append(current)

    chunks = []
    for a, b in groups:
        while joined[a].isspace():
            a += 1
        text = joined[a:b].rstrip()
        first, last = line_at(a), line_at(b - 1)
        chunks.append(
            Chunk(
                id=passage_id(document, block.page, first, last, text),
                document=document,
                page=block.page,
                first_line=first,
                last_line=last,
                section=block.section,
                speaker=block.speaker,
                text=text,
                embed_text=embed_text(title, block.section, block.speaker, text),
            )
        )
    return chunks
