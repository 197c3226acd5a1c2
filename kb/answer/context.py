"""Choose what the model reads: the sentences of the retrieved passages that matter to the question.

Prompt processing dominates the time to first token on a CPU, so the model gets a few sentences
from the best passages, numbered as sources, not whole passages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.query import QUESTION_WORDS
from kb.store import Passage
from kb.textnorm import NOT_A_TITLE, STOPWORDS, tokens, words

if TYPE_CHECKING:
    from kb.answer.question import Question

WORD_BUDGET = 80  # words of source text sent to the model (110 held no more key facts on fresh batches, at more energy)
MAX_SOURCES = 4
MAX_SENTENCE_WORDS = 45  # a longer sentence is cut to its best window of this many words
FIRST_SENTENCE_WORDS = 60  # the best passage's sentences keep more: what a sentence's matched words introduce ("… : the laptops of") often follows them
UNIT_BONUS = 2.0  # what a sentence holding the kind of figure the question asks for gains (one question word counts 2)
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


def _score(sentence: str, own: set[str], related: set[str], figure: re.Pattern | None = None) -> float:
    have = set(tokens(sentence))
    bonus = UNIT_BONUS if figure is not None and figure.search(sentence) else 0.0
    return (2 * len(have & own) + len(have & related) + bonus) / (1.0 + 0.01 * len(sentence.split()))


def trim(sentence: str, own: set[str], related: set[str], figure: re.Pattern | None = None, size: int = MAX_SENTENCE_WORDS) -> str:
    """A sentence over `size` words cut to its best window of `size` words, marked with "…" where cut."""
    words = sentence.split()
    if len(words) <= size:
        return sentence
    weight = [2.0 * bool(set(tokens(w)) & own) + bool(set(tokens(w)) & related) for w in words]
    if figure is not None:
        for i in range(len(words)):
            if figure.search(" ".join(words[i : i + 2])):  # "2,9 Wh" is two words
                weight[i] += UNIT_BONUS
    sums = [sum(weight[i : i + size]) for i in range(len(words) - size + 1)]
    best = max(sums)
    hits = [i for i, w in enumerate(weight) if w] or [0]
    middle = (hits[0] + hits[-1]) / 2
    # Among the best windows, the one that centres what matched.
    start = min((i for i, total in enumerate(sums) if total == best), key=lambda i: abs(i + size / 2 - middle))
    end = start + size
    # Cut at a clause boundary near the window's edges, so that no figure is left without what it measures.
    if end < len(words):
        end = next((j + 1 for j in range(end - 1, end - 1 - size // 4, -1) if words[j][-1] in ",;:)" and weight[j + 1 : end] == [0.0] * (end - j - 1)), end)
    if start > 0:
        start = next((j + 1 for j in range(start - 1, start + size // 4) if words[j][-1] in ",;:(" and not any(weight[start : j + 1])), start)
    return ("… " if start else "") + " ".join(words[start:end]) + (" …" if end < len(words) else "")


def _candidates(scored: list[tuple[float, int, str]], names: set[str]) -> list[tuple[float, int, str]]:
    """The best sentence, then a second one: the best holding a name of the question that the first lacks, else the
    next best if it scores at least half as much."""
    if not scored:
        return []
    best = scored[0]
    missing = names - set(words(best[2]))
    naming = [c for c in scored[1:] if missing & set(words(c[2]))]
    if naming:
        return [best, naming[0]]
    return [best] + [c for c in scored[1:2] if c[0] >= 0.5 * best[0]]


def select(question: Question, passages: list[Passage], budget: int = WORD_BUDGET, max_sources: int = MAX_SOURCES) -> list[Source]:
    """Numbered sources for the prompt: from each of the best passages, its sentences that share the most words with the question."""
    own, related, figure = set(question.own), set(question.related), question.figure
    picked: list[tuple[int, Passage, list[tuple[int, str]]]] = []
    used = 0
    for rank, passage in enumerate(passages[:max_sources]):
        window = FIRST_SENTENCE_WORDS if rank == 0 else MAX_SENTENCE_WORDS
        sentences = [trim(s, own, related, figure, window) for s in split_sentences(passage.text)]
        scored = sorted(((_score(s, own, related, figure), i, s) for i, s in enumerate(sentences)), key=lambda t: (-t[0], t[1]))
        chosen: list[tuple[int, str]] = []
        for score, i, sentence in _candidates(scored, set(question.capitalised)):
            size = min(len(sentence.split()), MAX_SENTENCE_WORDS)  # the best passage's longer window takes no room from the others
            if chosen and (score <= 0 or used + size > budget):
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


def content_words(text: str) -> list[str]:
    """The question's distinct content words (folded), function and question words left out."""
    out: list[str] = []
    for w in words(text):
        if w in STOPWORDS or w in QUESTION_WORDS or len(w) < 2 or w in out:
            continue
        out.append(w)
    return out
