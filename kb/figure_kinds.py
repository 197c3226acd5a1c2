"""The kind of figure a quantity question asks for (a duration, a share, CO2, energy, water, money, a count), read
with the table in units.toml; BM25-alone search adds the unit words of that kind to the question's."""
from __future__ import annotations

import re
from dataclasses import dataclass

from kb.figures import UNITS, alternatives

# A figure as a question's kind of figure is written: a digit or a number word, maybe a scale word, then its unit.
_FIGURE = (r"(?:\d|\b(?:" + "|".join(UNITS["number_words"]) + r")\b)"
           rf"(?:\s*(?:{alternatives(UNITS['scales'])})\b)?(?:\s*(?:de|d['’]|of)\b)?\s*")
_RATIO = _FIGURE + r"(fois|times|x)\b|\b(\w+fold|doubl\w*|tripl\w*)\b"
_QUANTITY = re.compile(UNITS["quantity"], re.I)
_NAMED_MEASURES = UNITS["measures"]["named"]
_COUNT_QUESTION = re.compile(r"^(?!.*\b(?:" + _NAMED_MEASURES + r")\b).*" + UNITS["count"] + r"(?!\s*temps\b)", re.I | re.S)
_COUNTED = re.compile(UNITS["count"] + r"\s*([\w-]+)", re.I)
_TITLE_CASE = re.compile(r"\b[A-ZÀ-Ü][a-zà-ÿ]+(?:\s+(?:[A-ZÀ-Ü][a-zà-ÿ]+|For|of|de))*\s+[A-ZÀ-Ü][a-zà-ÿ]+\b")


@dataclass(frozen=True)
class Asked:
    """A kind of figure a question asks for: what its question says, the pattern of a figure of that kind, and the
    words keyword search adds for it."""

    kind: str
    question: re.Pattern
    figure: re.Pattern
    search: str = ""


KINDS = tuple(Asked(entry["kind"], re.compile(entry["question"], re.I),
                    re.compile(entry["figure"].replace("{figure}", _FIGURE).replace("{ratio}", _RATIO), re.I), entry.get("search", ""))
              for entry in UNITS["asked"])
# A count ("how many devices"): a bare number, not one followed by a measure ("15 years", "4.2 %").
COUNT = Asked("count", _COUNT_QUESTION, re.compile(
    r"(?<![\d.,])\d+(?![\d.,\s]*(?:(?:" + alternatives(UNITS["scales"]) + r")\s+)?(?:de\s+|d['’]|of\s+)?(?:"
    + UNITS["measures"]["symbols"] + "|" + _NAMED_MEASURES + r")(?!\w))", re.I))


def asked(question: str) -> Asked | None:
    """The kind of figure a quantity question's words ask for; None for another question, or a quantity question
    that does not say."""
    if not _QUANTITY.search(question):
        return None
    unnamed = _TITLE_CASE.sub(" ", question)  # "Power Hungry Processing" names a study: it asks for no power figure
    counted = _COUNTED.search(unnamed)
    if counted and COUNT.question.search(unnamed) and not any(kind.question.search(counted.group(1)) for kind in KINDS):
        return COUNT  # "Combien de catégories d'effets sur les émissions": categories are counted, not emissions
    return next((kind for kind in (*KINDS, COUNT) if kind.question.search(unnamed)), None)
