"""The people of an event without a manifest, read from its transcripts' own speaker labels and the prose around them.

A label is a person when the document also names them, capitalised, inside a sentence ("je reçois Virginie Rozière",
"Present: Anssi Kostiainen, Jason Mayes"): labels such as "Voix OFF", "Scribe" or "Music" are never named that way,
so they stay labels, not people. The name is the fullest form the prose gives ("Anssi" is "Anssi Kostiainen"); the
role is what the prose says after it ("Virginie Rozière, directrice du numérique, ..."). Nothing here is fitted to one
event: it reads only the document's own structure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.document import LoadedDocument
from ingest.event import Person
from ingest.structure import TRANSCRIPT_SHARE, paragraph_starts, turn_label, without_label
from kb.textnorm import fold

_CAPITALISED = re.compile(r"[A-ZÀ-ÖØ-Þ][\w’'-]*(?:[ \u00a0][A-ZÀ-ÖØ-Þ][\w’'-]*)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;«“\"(\[]|\*\*)\s*$")
_ROLE = re.compile(r"^\s*,\s*([a-zà-ÿ][^,.;:!?()]{2,80}?)\s*(?=[,.;:!?)]|$)")  # a description, not the next name of a list


@dataclass
class Found:
    """A person read from the labels, with how often they speak and the role the prose gives them."""

    person: Person
    turns: int


def _prose(doc: LoadedDocument) -> str:
    """The document's text with the speaker labels taken off the lines they open."""
    return "\n".join(without_label(line.text.strip()) for page in doc.pages for line in page.lines)


def label_people(docs: list[LoadedDocument]) -> list[Found]:
    """The people the speaker labels of these documents name (transcript-shaped documents only), in order of first turn."""
    turns: dict[str, int] = {}
    prose = []
    for doc in docs:
        starts = paragraph_starts(doc)
        labels = [label for label in map(turn_label, starts) if label]
        if len(set(labels)) < 2 or len(labels) < TRANSCRIPT_SHARE * len(starts):
            continue
        for label in labels:
            turns[label] = turns.get(label, 0) + 1
        prose.append(_prose(doc))
    text = "\n".join(prose)
    mentions = [(m.group(0), text[m.end():m.end() + 120]) for m in _CAPITALISED.finditer(text)
                if not _SENTENCE_START.search(text[max(0, m.start() - 3):m.start()])]
    found: dict[str, Found] = {}
    for label, count in turns.items():
        words = fold(label.replace("_", " ")).split()
        names = []
        for mention, after in mentions:
            folded = fold(mention).split()
            for i in range(len(folded) - len(words) + 1):
                if folded[i:i + len(words)] == words:
                    names.append((" ".join(mention.split()[i:]), after if i + len(words) == len(folded) else ""))
                    break
        if not names:
            continue  # never named in a sentence: a label such as "Voix OFF", not a person
        # The form of two to four words the prose gives most often ("Anssi" is "Anssi Kostiainen"), else the label.
        full = [n for n, _ in names if 2 <= len(n.split()) <= 4]
        name = max(full, key=lambda n: (full.count(n), -len(n.split()))) if full else label.replace("_", " ")
        role = next((_ROLE.match(after).group(1) for n, after in names if n == name and _ROLE.match(after)), "")
        person = Person(name, role=role, aliases=(label,) if fold(label) != fold(name) else ())
        if name in found:  # two labels for one person ("Dom" and "Dominique")
            found[name].turns += count
            found[name].person = Person(name, role=found[name].person.role, aliases=tuple({*found[name].person.aliases, *person.aliases}))
        else:
            found[name] = Found(person, count)
    return list(found.values())
