"""The knowledge base's own words and their vectors: what bridges a question's words to a passage in another language.

The embedder places a word and its translation close together ("laptop", "ordinateur"), so a passage's word that is
the closest of its words to one of the question's, and close enough, counts as that word when the sentences sent to
the model are chosen. No word list is involved; the vectors are computed once, at ingest.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from kb.textnorm import QUESTION_WORDS, STOPWORDS, fold, tokens

if TYPE_CHECKING:
    from kb.embedder import Embedder

VERSION = 1  # of what a build's lexicon holds: a change rebuilds knowledge bases on their next ingest
WORDS_FILE = "words.json"
VECTORS_FILE = "words.npy"
BRIDGE_AT = 0.92  # the least cosine (multilingual-e5-small) of a word and its translation (BENCHMARKS.md, "Words bridged")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


def vocabulary(text: str) -> list[str]:
    """The distinct content words of a text as written, lowercased: letters only, three or more, function words left out."""
    out: dict[str, None] = {}
    for word in _WORD.findall(text):
        folded = fold(word)
        if len(folded) >= 3 and folded not in STOPWORDS and folded not in QUESTION_WORDS:
            out.setdefault(word.lower(), None)
    return list(out)


@dataclass
class Lexicon:
    """Words and their unit vectors, row by row; empty for a knowledge base built before it had one."""

    words: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    def __post_init__(self) -> None:
        self.row = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def load(cls, directory: Path) -> Lexicon:
        if not (directory / WORDS_FILE).exists():
            return cls()
        words = json.loads((directory / WORDS_FILE).read_text(encoding="utf-8"))
        return cls(words, np.load(directory / VECTORS_FILE).astype(np.float32))

    def save(self, directory: Path) -> None:
        (directory / WORDS_FILE).write_text(json.dumps(self.words, ensure_ascii=False), encoding="utf-8")
        np.save(directory / VECTORS_FILE, self.vectors.astype(np.float16))

    @classmethod
    def merged(cls, lexicons: list[Lexicon]) -> Lexicon:
        """One lexicon of several knowledge bases' (made by one embedder), each word once."""
        rows: dict[str, np.ndarray] = {}
        for lexicon in lexicons:
            for word, i in lexicon.row.items():
                rows.setdefault(word, lexicon.vectors[i])
        return cls(list(rows), np.vstack(list(rows.values())) if rows else np.zeros((0, 0), np.float32))

    def vectors_of(self, words: list[str]) -> dict[str, np.ndarray]:
        """The vectors this lexicon holds for `words`."""
        return {w: self.vectors[self.row[w]] for w in words if w in self.row}

    def bridge(self, question: str, embedder: Embedder, least: float = BRIDGE_AT) -> Callable[[str], set[str]]:
        """For the text of a passage, the tokens of its words that stand for the question's: each the closest of the
        passage's words to one of the question's words, with a cosine of at least `least`. The question's words are
        embedded once, on the first passage asked about."""
        asked = vocabulary(question)
        cache: list[np.ndarray] = []

        def bridged(text: str) -> set[str]:
            held = self.vectors_of(vocabulary(text))
            if not asked or not held:
                return set()
            if not cache:
                cache.append(np.asarray(embedder.passages(asked, None), np.float32))
            written = list(held)
            cosines = cache[0] @ np.vstack([held[w] for w in written]).T
            best = cosines.argmax(axis=1)
            return {t for i, j in enumerate(best) if cosines[i, j] >= least for t in tokens(written[j])}

        return bridged


def build(texts: list[str], embedder: Embedder | None, previous: Lexicon | None = None,
          progress: Callable[[int, int], None] | None = None) -> Lexicon:
    """The lexicon of the passages' texts: the words of the previous build keep their vectors, the others are embedded."""
    words = list(dict.fromkeys(w for text in texts for w in vocabulary(text)))
    known = previous.vectors_of(words) if previous is not None else {}
    new = [w for w in words if w not in known]
    if new:
        assert embedder is not None, "new words need the embedder"
        known.update(zip(new, np.asarray(embedder.passages(new, progress), np.float32)))
    return Lexicon(words, np.vstack([known[w] for w in words]).astype(np.float32) if words else np.zeros((0, 0), np.float32))
