"""Choose what the model reads: the sentences of the retrieved passages that matter to the question.

Prompt processing dominates the time to first token on a CPU, so the model gets a few sentences
from the best passages, numbered as sources, not whole passages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from kb.language import detect
from kb.store import Passage
from kb.textnorm import NOT_A_TITLE, QUESTION_WORDS, STOPWORDS, tokens, words

if TYPE_CHECKING:
    from kb.answer.question import Question

WORD_BUDGET = 80  # words of source text sent to the model (110 held no more key facts on fresh batches, at more energy)
MAX_SOURCES = 4
MAX_SENTENCE_WORDS = 45  # a longer sentence is cut to its best window of this many words
OVERFLOW = 1.3  # a later passage's best sentence may take the words sent this far past the budget
_SENTENCE_END = re.compile(r"(?<=[.!?;])" + NOT_A_TITLE + r"\s+(?=[^a-z0-9])|\s+(?=o\s+[A-ZÀ-Ü0-9“«\"])|\s+(?=•)")


@dataclass(frozen=True)
class Source:
    """One numbered source as the model sees it: a passage and the sentences taken from it."""

    n: int
    passage: Passage
    sentences: tuple[str, ...]

    @property
    def label(self) -> str:
        return source_label(self.passage)

    def prompt_line(self) -> str:
        return f"[{self.n}] ({self.label}) {' '.join(self.sentences)}"


def source_label(passage: Passage) -> str:
    """What the prompt calls a passage's source: its speaker, else its title up to the first comma or colon outside
    brackets ("Panel summary (Acme, 18 March 2024)" stays whole, its brackets closed)."""
    if passage.speaker:
        return passage.speaker
    depth = 0
    for i, ch in enumerate(passage.title):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if ch in ",:" and depth <= 0:
            return passage.title[:i].strip()
    return passage.title.strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, whitespace collapsed; bullet items count as sentences."""
    flat = " ".join(text.split())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def _score(sentence: str, own: set[str]) -> float:
    return len(set(tokens(sentence)) & own) / (1.0 + 0.01 * len(sentence.split()))


def trim(sentence: str, own: set[str], size: int = MAX_SENTENCE_WORDS) -> str:
    """A sentence over `size` words cut to its best window of `size` words, marked with "…" where cut."""
    words = sentence.split()
    if len(words) <= size:
        return sentence
    weight = [float(bool(set(tokens(w)) & own)) for w in words]
    sums = [sum(weight[i : i + size]) for i in range(len(words) - size + 1)]
    best = max(sums)
    hits = [i for i, w in enumerate(weight) if w] or [0]
    middle = (hits[0] + hits[-1]) / 2
    # Among the best windows, the one that centres what matched.
    start = min((i for i, total in enumerate(sums) if total == best), key=lambda i: abs(i + size / 2 - middle))
    end = start + size
    return ("… " if start else "") + " ".join(words[start:end]) + (" …" if end < len(words) else "")


def _candidates(scored: list[tuple[float, int, str]]) -> list[tuple[float, int, str]]:
    """The best sentence, and the next best if it scores at least half as much."""
    return scored[:1] + [c for c in scored[1:2] if c[0] >= 0.5 * scored[0][0]] if scored else []


def select(question: Question, passages: list[Passage], budget: int = WORD_BUDGET, max_sources: int = MAX_SOURCES,
           bridge: Callable[[str], set[str]] | None = None) -> list[Source]:
    """Numbered sources for the prompt: from each of the best passages, its sentences that share the most words with the
    question; in a passage in another language, `bridge` gives the tokens of its words that stand for the question's."""
    picked: list[tuple[Passage, list[tuple[int, str]]]] = []
    used = 0
    for passage in passages[:max_sources]:
        own = set(question.own)
        if bridge is not None and detect(passage.text, default=question.language) != question.language:
            own |= bridge(passage.text)
        sentences = [trim(s, own) for s in split_sentences(passage.text)]
        scored = sorted(((_score(s, own), i, s) for i, s in enumerate(sentences)), key=lambda t: (-t[0], t[1]))
        chosen: list[tuple[int, str]] = []
        for score, i, sentence in _candidates(scored):
            size = min(len(sentence.split()), MAX_SENTENCE_WORDS)  # a cut sentence's "…" marks take no room
            if chosen and (score <= 0 or used + size > budget):
                break
            if not chosen and used and used + size > budget * OVERFLOW:
                break
            chosen.append((i, sentence))
            used += size
            if len(chosen) >= 2:
                break
        if chosen:
            picked.append((passage, sorted(chosen)))
        if used >= budget:
            break
    return [Source(n, passage, tuple(s for _, s in chosen)) for n, (passage, chosen) in enumerate(picked, start=1)]


def content_words(text: str) -> list[str]:
    """The question's distinct content words (folded), function and question words left out."""
    out: list[str] = []
    for w in words(text):
        if w in STOPWORDS or w in QUESTION_WORDS or len(w) < 2 or w in out:
            continue
        out.append(w)
    return out
