"""What BM25 search looks for: the query's words, with cross-language equivalents from a bilingual glossary (the
general one, plus the terms an event's manifest adds) and the unit words of the kind of figure it asks for.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from kb.figure_kinds import asked
from kb.textnorm import QUESTION_WORDS, STOPWORDS, fold, stems, tokens, words

GLOSSARY = Path(__file__).resolve().parent / "glossary.txt"
_AMBIGUOUS = frozenset({"us", "it", "an", "w"})
# The event's own glossary lines ("terme | term"), added to the general one while its knowledge base searches or
# answers (see `event_glossary`); a context variable, so that requests for different events never mix.
_EVENT_LINES: ContextVar[tuple[str, ...]] = ContextVar("event_glossary", default=())


@contextmanager
def event_glossary(lines: tuple[str, ...]) -> Iterator[None]:
    """Within this block, the glossary is the general one plus the event's `lines`."""
    token = _EVENT_LINES.set(tuple(lines))
    try:
        yield
    finally:
        try:
            _EVENT_LINES.reset(token)
        except ValueError:  # a streamed answer closed from another thread's context: that context never had it set
            pass


def _groups() -> list[tuple[re.Pattern, list[str]]]:
    return _compiled(_EVENT_LINES.get())


@lru_cache(maxsize=16)
def _compiled(event_lines: tuple[str, ...]) -> list[tuple[re.Pattern, list[str]]]:
    groups = []
    general = [raw for raw in GLOSSARY.read_text(encoding="utf-8").splitlines() if raw.strip() and not raw.lstrip().startswith("#")]
    for raw in [*general, *event_lines]:
        terms = [t.strip() for t in raw.split("|") if t.strip()]
        # "IT", "US", "an" are also English function words: they never trigger a group, only come with it.
        triggers = [t for t in terms if fold(t) not in STOPWORDS | _AMBIGUOUS]
        if not triggers:
            continue
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(fold(t)) for t in sorted(triggers, key=len, reverse=True)) + r")\b")
        groups.append((pattern, terms))
    return groups


def expansions(query: str) -> list[str]:
    """The glossary terms equivalent to terms found in `query` (not including what the query already has)."""
    folded = fold(query).replace("’", "'")
    added: list[str] = []
    for pattern, terms in _groups():
        if pattern.search(folded):
            added.extend(t for t in terms if not re.search(r"\b" + re.escape(fold(t)) + r"\b", folded))
    return added


def equivalents(term: str) -> list[str]:
    """The other terms of the glossary groups that hold `term` exactly (folded), ambiguous words included: the name
    check asks this of "US" written in capitals, which never triggers a group in running text."""
    key = fold(term)
    return [t for _, terms in _groups() if any(fold(x) == key for x in terms) for t in terms if fold(t) != key]


def _stem_index() -> tuple[dict[str, set[int]], list[list[set[str]]]]:
    return _stem_index_of(_EVENT_LINES.get())


@lru_cache(maxsize=16)
def _stem_index_of(event_lines: tuple[str, ...]) -> tuple[dict[str, set[int]], list[list[set[str]]]]:
    index: dict[str, set[int]] = {}
    groups = []
    for g, (_, terms) in enumerate(_compiled(event_lines)):
        groups.append([set(tokens(t)) for t in terms if tokens(t)])
        for term in terms:
            written = words(term)
            if len(written) == 1 and written[0] not in STOPWORDS | _AMBIGUOUS:
                for stem in stems(written[0]):
                    index.setdefault(stem, set()).add(g)
    return index, groups


def stem_equivalents(word: str) -> list[set[str]]:
    """The token sets of the glossary terms equivalent to a folded word, found by stem ("increased" finds the
    group of "increase", "croissance")."""
    index, groups = _stem_index()
    return [t for g in sorted({g for stem in stems(word) for g in index.get(stem, ())}) for t in groups[g]]


OWN_WEIGHT = 2  # the query's own words count twice as much as their glossary equivalents

# A concept is one thing the query asks about: its (token, weight) alternatives, of which a passage scores by the best
# it holds, so that a passage writing "consomment de l'énergie ... energy consumption" counts "energy" once, not once
# per variant and language, and a rare name of the query ("ChatGPT") is not outweighed by the variants of common words.
Concept = list[tuple[str, float]]


def keyword_concepts(query: str, expand: bool = True) -> list[Concept]:
    """What BM25 searches with, as concepts: each content word of the query (its stems, weight 1) with its glossary
    equivalents (weight 1/OWN_WEIGHT); a glossary phrase of several words; the units a quantity question asks for."""
    if not expand:
        return [[(t, 1.0)] for t in tokens(query)]
    folded = fold(query).replace("’", "'")
    phrased = re.sub(r"\bhow long\b", " ", folded)  # "long" only phrases the question; the glossary gives "durée"
    own_words = [w for w in words(phrased) if w not in QUESTION_WORDS and tokens(w)] or [w for w in words(query) if tokens(w)]
    related: dict[str, set[str]] = {w: {t for group in stem_equivalents(w) for t in group} for w in own_words}  # "days" finds "jours"
    phrases: list[set[str]] = []
    for pattern, terms in _groups():
        matched = [words(m.group(0)) for m in pattern.finditer(folded)]
        if not matched:
            continue
        equivalent = {t for term in terms if not re.search(r"\b" + re.escape(fold(term)) + r"\b", folded) for t in tokens(term)}
        for written in matched:
            if len(written) == 1 and written[0] in related:
                related[written[0]] |= equivalent
            else:
                phrases.append(equivalent)
    concepts: list[Concept] = []
    for w in dict.fromkeys(own_words):
        own = tokens(w)
        concepts.append([(t, 1.0) for t in own] + [(t, 1 / OWN_WEIGHT) for t in sorted(related[w] - set(own))])
    concepts += [[(t, 1 / OWN_WEIGHT) for t in sorted(phrase)] for phrase in phrases]
    kind = asked(query)
    if kind and kind.search:  # "how long" also searches "days", "jours"
        concepts.append([(t, 1 / OWN_WEIGHT) for t in tokens(kind.search)])
    return concepts


def keyword_tokens(query: str, expand: bool = True) -> list[str]:
    """Every token of the query's concepts, own words first, each once."""
    return list(dict.fromkeys(t for concept in keyword_concepts(query, expand) for t, _ in concept))
