"""Check an answer sentence by sentence against the sources, instead of trusting the model's brackets.

A sentence is supported by a source when every number (with its scale: "14 milliards" is not
"14 million", and what it measures: "30 ans" is not the reference "[30]"), every name and every
quotation in it appears in that source, and enough of its content words (or their glossary
equivalents) do too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Sequence

from kb.answer.context import Source, content_words
from kb.figures import has_number, numbers
from kb.language import detect
from kb.names import as_name, names
from kb.query import equivalents, expansions, phrase_equivalents, stem_equivalents
from kb.store import Passage
from kb.textnorm import NOT_A_TITLE, fold, stems, tokens, words

if TYPE_CHECKING:
    from kb.answer.question import Question

MIN_OVERLAP = 0.5  # share of a sentence's content words found in the source
MIN_OVERLAP_WITH_FACT = 0.3  # when the sentence also carries a number or a name the source has

_CITED_ATTRIBUTION = re.compile(r"(^|[.;:]\s*)(?:[Aa]ccording to|[Ss]elon|[Dd]['’]apr[eè]s|[Aa]s per)\s+(?:the\s+)?(?:source\s+|la source\s+)?\[\d+(?:\s*,\s*\d+)*\]\s*,?\s*")
_BRACKETS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_SPLIT = re.compile(r"(?<=[.!?])" + NOT_A_TITLE + r"\s+(?=[A-ZÀ-Ü0-9«“\"(])|(?<=\])\s+(?=[A-ZÀ-Ü«“\"(])|\n+")
_PAIRED_QUOTE = re.compile(r"«\s*([^«»]+?)\s*»|“\s*([^“”]+?)\s*”")
REFUSAL = "NOT IN SOURCES"
_YES_NO = frozenset("yes no not never none oui non pas jamais aucun aucune".split())
_YEAR = re.compile(r"(?<![\d.,])(?:19|20)\d\d(?![\d.,]\d)")


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


def word_matches(word: str, have: set[str], phrases: list[tuple[set[str], list[set[str]]]] = ()) -> bool:
    """True when a folded word, one of its stems, or a glossary equivalent's tokens is in `have`, or the word is part
    of a glossary phrase of the text (`phrases`, from `phrase_equivalents`) that one equivalent of has all its tokens in `have`."""
    if any(s in have for s in stems(word)):
        return True
    if any(t in have for t in tokens(" ".join(expansions(word)))) or any(t <= have for t in stem_equivalents(word)):
        return True
    return any(word in written and any(equivalent <= have for equivalent in equivalents) for written, equivalents in phrases)


def _one_edit(a: str, b: str) -> bool:
    """True when `a` and `b` differ by at most one inserted, deleted or replaced letter."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k in range(len(a)) if a[k] != b[k]), len(a))
    return a[i + (len(a) == len(b)):] == b[i + 1:]


@lru_cache(maxsize=1024)
def _name_forms(name: str) -> tuple[str, ...]:
    forms = [name, *expansions(name), *equivalents(name)]  # "US" is the USA when written in capitals
    if re.fullmatch(r"[A-Z]{2,}s", name):
        forms.append(name[:-1])  # "LEDs", "NPUs"
    return tuple(forms)


def _name_in(name: str, folded_source: str) -> bool:
    key = fold(name)
    if any(_written_in(n, folded_source) for n in _name_forms(name)):
        return True
    # A long name one letter away from the source's ("Resilience" where the source misspells "Resilence").
    return len(key) >= 6 and any(_one_edit(key, w) for w in _words_of(folded_source) if abs(len(w) - len(key)) <= 1)


@lru_cache(maxsize=2048)  # keys are whole passages' text, some joined: bounded to a few tens of MB
def _words_of(folded: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", folded))


@lru_cache(maxsize=4096)
def _folded_context(passage: Passage, title: bool = True) -> str:
    return " ".join(fold(f"{passage.text} {passage.speaker or ''} {passage.title if title else ''} {passage.section or ''}").replace("’", "'").split())


_SPELLED_OUT = (
    re.compile(r"(?P<words>(?:[A-ZÀ-Ü][\w-]*\s+){2,6})\((?P<acronym>[A-Z][A-Za-z0-9]+)\)"),  # "Power Usage Efficiency (PUE)"
    re.compile(r"\b(?P<acronym>[A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*)" + "[\"”»']?" + r"\s*\((?P<words>(?:[A-ZÀ-Ü][\w-]*\s*){2,6})[^()]*\)"),  # "LLMops (Large Language Model operations)"
)


def spelled_out(text: str, folded_source: str) -> frozenset[str]:
    """The words of an acronym the sentence spells out ("Power Usage Efficiency (PUE)", "LLMops (Large Language Model
    operations)") when the source writes the acronym: the model's expansion is checked through the acronym, not word by word."""
    found: set[str] = set()
    for pattern in _SPELLED_OUT:
        for m in pattern.finditer(text):
            capitals = "".join(ch for ch in m.group("acronym") if ch.isupper())
            spelled = [w for w in m.group("words").split() if w[:1].isupper()]
            initials = "".join(w[0] for w in spelled)
            if len(capitals) >= 2 and capitals in initials and _written_in(m.group("acronym"), folded_source):
                at = initials.index(capitals)
                found.update(as_name(w) for w in spelled[at : at + len(capitals)])
    return frozenset(found)


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
            return not problems, problems, closeness
    sentence_names = names(text)
    untitled = _folded_context(passage, title=False)
    skip_names = spelled_out(text, untitled)
    asked_names = set(question.names) if question else set()
    for name in sentence_names:
        if name not in skip_names and not _name_in(name, untitled if name not in asked_names else folded):
            problems.append(f"the name {name!r} is not in the source")
    name_words = {w for name in sentence_names for w in content_words(name)}
    words = [w for w in content_words(text) if not re.fullmatch(r"[\d.,]+", w) and w not in name_words]
    have = set(tokens(body))  # what the passage says, not its title: "panel" in a title backs no claim about the panel
    phrases = phrase_equivalents(text)
    overlap = sum(word_matches(w, have, phrases) for w in words) / len(words) if words else 0.0
    has_fact = bool(sentence_numbers or sentence_names)
    # A bare fact ("6", "Jean Zay") carries no other words: the fact itself must then be found.
    # "6 limites", "Jean Zay" are answers, and so is a lone year to "which year"; a lone "14." (14 what?) says nothing.
    bare_fact = has_fact and not words and (len(text.split()) >= 2 or bool(question and question.year and _YEAR.fullmatch(text.strip(" ."))))
    enough = bare_fact or overlap >= (MIN_OVERLAP_WITH_FACT if has_fact else MIN_OVERLAP)
    if not enough:
        problems.append(f"only {overlap:.0%} of its words are in the source")
    return not problems, problems, overlap


def restore_numbers(text: str, source: Source) -> str:
    """Write back a number the model garbled with a comma and a space ("10, 113") as its source writes it ("10 113")."""
    for forms, _, raw in numbers(text):
        if ", " not in raw:
            continue
        for other, _, other_raw in numbers(source.passage.text):
            if forms & other:
                text = text.replace(raw, " ".join(other_raw.split()), 1)
                break
    return text


@lru_cache(maxsize=1024)
def _name_pattern(name: str) -> re.Pattern | None:
    squashed = re.sub(r"[\W_]+", "", fold(name))
    if not squashed:
        return None
    pattern = r"\b" + r"[-\s]{0,2}".join(map(re.escape, squashed))  # "GPT-4", "GPT 4", "gpt4"; not "GPT-3"
    # A PDF glues footnote numbers to words ("Apple Watch23"): a name ending in a letter may carry one or two digits.
    pattern += r"\d{0,2}\b" if squashed[-1:].isalpha() and len(squashed) >= 3 else r"\b"
    return re.compile(pattern)


def _written_in(name: str, folded: str) -> bool:
    pattern = _name_pattern(name)
    return pattern is not None and pattern.search(folded) is not None


def unmentioned(question: Question, passages: list[Passage]) -> list[str]:
    """The names the question asks about that none of `passages` mentions (text, speaker, title or section),
    or any of their glossary equivalents: an answer from such passages is about something else."""
    folded = " ".join(_folded_context(p) for p in passages)
    return [name for name in question.subjects if not _name_in(name, folded)]


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
        if good:
            sentence.text = restore_numbers(text, by_n[good[0]])
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
    """True when `text` says nothing the question does not: every number and content word of it (or a glossary
    equivalent) is the question's, and it says neither yes nor no ("Acme a utilisé ChatGPT pour son plan commercial")."""
    if set(words(text)) & _YES_NO:
        return False
    asked_numbers = numbers(question)
    if any(not has_number(n, asked_numbers) for n in numbers(text)):
        return False
    have = _vocabulary(question)
    phrases = phrase_equivalents(text)
    return all(word_matches(w, have, phrases) for w in content_words(text))


def is_refusal(answer: str) -> bool:
    """True when the model answered with the refusal marker (alone or nearly)."""
    folded = fold(answer).strip().strip(".").upper()
    return REFUSAL in folded or folded.startswith("NOT IN SOURCE")
