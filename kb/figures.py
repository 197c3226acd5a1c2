"""Figures: the numbers a text writes, with their scales, and the kind of figure a question asks for, both read with
the table of number words, scales and units in units.toml."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

UNITS = tomllib.loads((Path(__file__).resolve().parent / "units.toml").read_text(encoding="utf-8"))

Number = tuple[frozenset[str], "str | None", str]  # comparable forms, scale ("e9" for milliard/billion), as written


def _words(table: dict) -> str:
    return "|".join(re.escape(w) for w in sorted(table, key=len, reverse=True))


_SCALE_OF = {**UNITS["scales"], **UNITS["abbreviated_scales"]}
_NUMBER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d{1,3}(?:, \d{3})+(?!\d)|\d+(?:[.,]\d+)*)"
    rf"(?:\s*({_words(_SCALE_OF)})\b|(?-i:({_words(UNITS['attached_scales'])}))\b)?",
    re.IGNORECASE,
)
# A figure as a question's kind of figure is written: a digit or a number word, maybe a scale word, then its unit.
_FIGURE = (r"(?:\d|\b(?:" + "|".join(UNITS["number_words"]) + r")\b)"
           rf"(?:\s*(?:{_words(UNITS['scales'])})\b)?(?:\s*(?:de|d['’]|of)\b)?\s*")
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
    r"(?<![\d.,])\d+(?![\d.,\s]*(?:(?:" + _words(UNITS["scales"]) + r")\s+)?(?:de\s+|d['’]|of\s+)?(?:"
    + UNITS["measures"]["symbols"] + "|" + _NAMED_MEASURES + r")(?!\w))", re.I))


def asked(question: str) -> Asked | None:
    """The kind of figure a quantity question's words ask for (a duration, a share, CO2, energy, water, money, a
    count); None for another question, or a quantity question that does not say."""
    if not _QUANTITY.search(question):
        return None
    unnamed = _TITLE_CASE.sub(" ", question)  # "Power Hungry Processing" names a study: it asks for no power figure
    counted = _COUNTED.search(unnamed)
    if counted and COUNT.question.search(unnamed) and not any(kind.question.search(counted.group(1)) for kind in KINDS):
        return COUNT  # "Combien de catégories d'effets sur les émissions": categories are counted, not emissions
    return next((kind for kind in (*KINDS, COUNT) if kind.question.search(unnamed)), None)


def _number_forms(raw: str) -> set[str]:
    compact = re.sub(r"[ \u00a0\u202f]", "", raw)
    forms = {compact.replace(",", "."), compact.replace(",", "").replace(".", "")}
    if re.fullmatch(r"\d+[.,]0+", compact):
        forms.add(re.split(r"[.,]", compact)[0])
    return forms


@lru_cache(maxsize=4096)
def _numbers(text: str) -> tuple[Number, ...]:
    found = []
    for m in _NUMBER.finditer(text):
        power = _SCALE_OF.get((m.group(2) or "").lower()) or UNITS["attached_scales"].get(m.group(3) or "")
        found.append((frozenset(_number_forms(m.group(1))), f"e{power}" if power else None, m.group(0)))
    return tuple(found)


def numbers(text: str) -> list[Number]:
    """Each number in `text`: its comparable forms, its scale ("e9" for milliard/billion) and how it was written;
    cached, as the check reads every source once per sentence of the answer."""
    return list(_numbers(text))


def has_number(number: Number, others: list[Number]) -> bool:
    """True when `number` is among `others`, by value and scale ("14 milliards" is not "14 millions")."""
    forms, scale, _ = number
    return any(forms & other and (scale is None or scale == other_scale) for other, other_scale, _ in others)
