"""Check an answer sentence by sentence against the sources, instead of trusting the model's brackets.

A sentence is supported by a source when every number (with its scale: "14 milliards" is not
"14 million", and what it measures: "30 ans" is not the reference "[30]"), every name and every
quotation in it appears in that source, and enough of its content words (or their stems) do too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Sequence

from kb.answer.context import Source, content_words
from kb.figures import has_number, numbers
from kb.language import detect
from kb.names import names
from kb.query import equivalents
from kb.store import Passage
from kb.textnorm import NOT_A_TITLE, fold, stems, tokens

if TYPE_CHECKING:
    from kb.answer.question import Question

MIN_OVERLAP = 0.5  # share of a sentence's content words found in the source
NAMES_ACROSS_LANGUAGES = True  # a sentence in another language than its source must still copy the names it adds

_CITED_ATTRIBUTION = re.compile(r"(^|[.;:]\s*)(?:[Aa]ccording to|[Ss]elon|[Dd]['’]apr[eè]s|[Aa]s per)\s+(?:the\s+)?(?:source\s+|la source\s+)?\[\d+(?:\s*,\s*\d+)*\]\s*,?\s*")
_BRACKETS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_SPLIT = re.compile(r"(?<=[.!?])" + NOT_A_TITLE + r"\s+(?=[A-ZÀ-Ü0-9«“\"(])|(?<=\])\s+(?=[A-ZÀ-Ü«“\"(])|\n+")
_PAIRED_QUOTE = re.compile(r"«\s*([^«»]+?)\s*»|“\s*([^“”]+?)\s*”")
REFUSAL = "NOT IN SOURCES"


@dataclass
class Sentence:
    """One sentence of the answer and what backs it."""

    text: str
    claimed: list[int]
    citations: list[int] = field(default_factory=list)
    supported: bool = False
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"text": self.text, "citations": self.citations, "supported": self.supported, "claimed": self.claimed, "problems": self.problems}


def complete_part(answer: str) -> str:
    """The start of a reply still being written, up to the end of its last complete sentence ("" while none is):
    a sentence is complete once the next one has begun. Split, it gives the first sentences the whole reply will."""
    text = answer.strip()
    cuts = [m.start() for m in _SPLIT.finditer(text)]
    return text[: cuts[-1]] if cuts else ""


def split(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences of the answer with the source numbers the model put after each; brackets removed from the text."""
    out = []
    for raw in _SPLIT.split(answer.strip()):
        claimed = [int(n) for group in _BRACKETS.findall(raw) for n in re.split(r"\s*,\s*", group)]
        # "According to [1], the cost..." would read "According to, the cost...": the citation says it already.
        raw = _CITED_ATTRIBUTION.sub(lambda m: m.group(1), raw)
        raw = re.sub(r"^\s*([a-zà-ü])", lambda m: m.group(1).upper(), raw)
        text = " ".join(_BRACKETS.sub("", raw).split()).strip()
        if text in {".", ""} or not re.search(r"\w", text):
            continue
        out.append((text, claimed))
    return out


def quotations(text: str) -> list[str]:
    """Quoted passages of three words or more: «...», “...” and "..." paired in order."""
    quoted = [a or b for a, b in _PAIRED_QUOTE.findall(text)]
    quoted += text.split('"')[1::2] if text.count('"') >= 2 else []
    return [q.strip() for q in quoted if len(q.split()) >= 3]


def word_matches(word: str, have: set[str]) -> bool:
    """True when a folded word or one of its stems is in `have`."""
    return any(s in have for s in stems(word))


@lru_cache(maxsize=4096)
def _folded_context(passage: Passage, title: bool = True) -> str:
    return " ".join(fold(f"{passage.text} {passage.speaker or ''} {passage.title if title else ''} {passage.section or ''}").replace("’", "'").split())


Similar = Callable[[str, Sequence[str]], float]  # how close in meaning a sentence is to any of some others, in any language


def check_sentence(text: str, source: Source, question: Question | None = None, similar: Similar | None = None, least: float = 0.0) -> tuple[bool, list[str], float]:
    """Whether `source` supports the sentence, the problems found, and the share of content words it holds (its
    closeness in meaning, across languages), which ranks the sources that support it. A name
    found only in the passage's title counts when the `question` names it too ("dans l'étude Power Hungry Processing").
    With `similar`, a sentence in another language than its source, whose words and names cannot be matched, must
    instead be at least `least` close in meaning to one of the source's sentences; its figures and quotations still
    must be copied."""
    passage = source.passage
    body = passage.text
    folded = _folded_context(passage)
    problems = []
    source_numbers = numbers(body)
    sentence_numbers = numbers(text)
    for number in sentence_numbers:
        if not has_number(number, source_numbers):
            problems.append(f"the number {number[2]!r} is not in the source")
    for quote in quotations(text):
        if " ".join(fold(quote).split()) not in folded:
            problems.append(f"the quotation {quote!r} is not in the source")
    if similar is not None:
        language = detect(body)
        if detect(text, default=language) != language:
            closeness = similar(text, source.sentences)
            if closeness < least:
                problems.append(f"it is not close enough in meaning to the source ({closeness:.2f})")
            if NAMES_ACROSS_LANGUAGES:
                problems += _missing_names(names(text), passage, question, asked_only=True)
            return not problems, problems, closeness
    sentence_names = names(text)
    problems += _missing_names(sentence_names, passage, question)
    name_words = {w for name in sentence_names for w in content_words(name)}
    words = [w for w in content_words(text) if not re.fullmatch(r"[\d.,]+", w) and w not in name_words]
    have = set(tokens(body))  # what the passage says, not its title: "panel" in a title backs no claim about the panel
    overlap = sum(word_matches(w, have) for w in words) / len(words) if words else 0.0
    has_fact = bool(sentence_numbers or sentence_names)
    # A bare fact ("6", "Jean Zay") carries no other words: the fact itself must then be found.
    # "6 limites", "Jean Zay" are answers; a lone "14." (14 what?) says nothing.
    bare_fact = has_fact and not words and len(text.split()) >= 2
    enough = bare_fact or overlap >= MIN_OVERLAP
    if not enough:
        problems.append(f"only {overlap:.0%} of its words are in the source")
    return not problems, problems, overlap


def _missing_names(sentence_names: list[str], passage: Passage, question: Question | None, asked_only: bool = False) -> list[str]:
    """Problems for the names of a sentence that the passage does not write; a name the question asks about may be
    found in the passage's title too, or (`asked_only`, for a sentence in another language) need not be found at all."""
    asked = set(question.names) if question else set()
    untitled = _folded_context(passage, title=False)
    found = _name_across if asked_only else _name_in
    return [f"the name {name!r} is not in the source" for name in sentence_names
            if not (asked_only and name in asked) and not found(name, untitled if name not in asked else _folded_context(passage))]


def _name_across(name: str, folded: str) -> bool:
    """Whether a name written in another language than `folded` is in it, as is or as its glossary equivalent
    ("March", "mars")."""
    return _name_in(name, folded) or any(_name_in(term, folded) for term in equivalents(name))


@lru_cache(maxsize=1024)
def _name_pattern(name: str) -> re.Pattern | None:
    plural = re.fullmatch(r"[A-Z]{2,}s?", name) is not None  # an acronym written with or without its plural: "API", "APIs"
    squashed = re.sub(r"[\W_]+", "", fold(name[:-1] if plural and name.endswith("s") else name))
    if not squashed:
        return None
    # "GPT-4", "GPT 4", "gpt4", "O'Neil", "I'm"; not "GPT-3"
    return re.compile(r"\b" + r"[-\s']{0,2}".join(map(re.escape, squashed)) + ("s?" if plural else "") + r"\b")


def _name_in(name: str, folded: str) -> bool:
    pattern = _name_pattern(name)
    return pattern is not None and pattern.search(folded) is not None


def unmentioned(question: Question, passages: list[Passage]) -> list[str]:
    """The names the question asks about that none of `passages` mentions (text, speaker, title or section): an answer
    from such passages is about something else."""
    folded = " ".join(_folded_context(p) for p in passages)
    return [name for name in question.names if not _name_in(name, folded)]


def check(answer: str, sources: list[Source], question: Question | None = None, similar: Similar | None = None, least: float = 0.0) -> list[Sentence]:
    """Each sentence of the answer to `question` with the sources that support it; claimed numbers that do not support
    it are dropped."""
    by_n = {s.n: s for s in sources}
    checked = []
    for text, claimed in split(answer):
        sentence = Sentence(text, claimed)
        results = {s.n: check_sentence(text, s, question, similar, least) for s in sources}
        good = [n for n in claimed if n in results and results[n][0]]
        if not good:
            # The model's own numbers do not hold: cite the best supporting source, if any.
            ranked = sorted((n for n, r in results.items() if r[0]), key=lambda n: -results[n][2])
            good = ranked[:1]
        sentence.citations = good
        sentence.supported = bool(good)
        if not good:
            target = [n for n in claimed if n in by_n] or sorted(results, key=lambda n: -results[n][2])[:1]
            sentence.problems = results[target[0]][1] if target else ["no source was given"]
        checked.append(sentence)
    return checked


def _vocabulary(text: str) -> set[str]:
    """The text's tokens and their own stems: "utilisée" gives "utilise", which "utilisé" (stem "utilis") must match."""
    have = set(tokens(text))
    return have | {s for t in have for s in stems(t)}


def repeats(question: str, text: str) -> bool:
    """True when `text` says nothing the question does not: every number and content word of it (or its stem) is the
    question's ("Acme a utilisé ChatGPT pour son plan commercial")."""
    asked_numbers = numbers(question)
    if any(not has_number(n, asked_numbers) for n in numbers(text)):
        return False
    have = _vocabulary(question)
    return all(word_matches(w, have) for w in content_words(text))


def is_refusal(answer: str) -> bool:
    """True when the model answered with the refusal marker (alone or nearly)."""
    folded = fold(answer).strip().strip(".").upper()
    return REFUSAL in folded or folded.startswith("NOT IN SOURCE")
