"""Choose what the model reads: the sentences of the retrieved passages that matter to the question.

Prompt processing dominates the time to first token on a CPU, so the model gets a few sentences
from the best passages, numbered as sources, not whole passages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from kb.query import keyword_tokens
from kb.store import Passage
from kb.textnorm import STOPWORDS, tokens, words

WORD_BUDGET = 110  # words of source text sent to the model
MAX_SOURCES = 4
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[^a-z0-9])|\s+(?=o\s+[A-ZÀ-Ü“«\"])|\s+(?=•)")


@dataclass(frozen=True)
class Source:
    """One numbered source as the model sees it: a passage and the sentences taken from it."""

    n: int
    passage: Passage
    sentences: tuple[str, ...]

    @property
    def label(self) -> str:
        who = self.passage.speaker or self.passage.title.split(",")[0].split(":")[0].strip()
        return who

    def prompt_line(self) -> str:
        return f"[{self.n}] ({self.label}) {' '.join(self.sentences)}"


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, whitespace collapsed; bullet items count as sentences."""
    flat = " ".join(text.split())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def _score(sentence: str, own: set[str], related: set[str]) -> float:
    have = set(tokens(sentence))
    return (2 * len(have & own) + len(have & related)) / (1.0 + 0.01 * len(sentence.split()))


def select(question: str, passages: list[Passage], budget: int = WORD_BUDGET, max_sources: int = MAX_SOURCES) -> list[Source]:
    """Numbered sources for the prompt: from each of the best passages, its sentences that share the most words with the question."""
    own = set(tokens(question))
    related = set(keyword_tokens(question)) - own
    picked: list[tuple[int, Passage, list[tuple[int, str]]]] = []
    used = 0
    for rank, passage in enumerate(passages[:max_sources]):
        sentences = split_sentences(passage.text)
        scored = sorted(((_score(s, own, related), i, s) for i, s in enumerate(sentences)), key=lambda t: (-t[0], t[1]))
        chosen: list[tuple[int, str]] = []
        for score, i, sentence in scored:
            size = len(sentence.split())
            if chosen and (score < 0.5 * scored[0][0] or score <= 0 or used + size > budget):
                break
            if not chosen and used and used + size > budget * 1.3:
                break
            chosen.append((i, sentence))
            used += size
            if len(chosen) >= 2:
                break
        if chosen:
            picked.append((rank, passage, sorted(chosen)))
        if used >= budget:
            break
    return [Source(n, passage, tuple(s for _, s in chosen)) for n, (_, passage, chosen) in enumerate(picked, start=1)]


def coverage(question: str, passages: list[Passage]) -> float:
    """The largest share of the question's content words that one passage contains (words or their glossary equivalents)."""
    from kb.support import word_matches

    words = content_words(question)
    if not words or not passages:
        return 0.0
    best = 0.0
    for passage in passages:
        have = set(tokens(passage.text)) | set(tokens(passage.speaker or "")) | set(tokens(passage.title))
        best = max(best, sum(word_matches(w, have) for w in words) / len(words))
    return best


_QUESTION_WORDS = frozenset(
    "quelle quel quels quelles combien comment pourquoi qui quoi que est-ce what which who how why when where much many "
    "does did do is are was were dit-il dit-elle a-t-il a-t-elle said say says according selon y-a-t-il il".split()
)


def content_words(text: str) -> list[str]:
    """The question's distinct content words (folded), function and question words left out."""
    out: list[str] = []
    for w in words(text):
        if w in STOPWORDS or w in _QUESTION_WORDS or len(w) < 2 or w in out:
            continue
        out.append(w)
    return out
