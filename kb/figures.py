"""Figures: the numbers a text writes, with their scales, read with the table of number words, scales and units in
units.toml."""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

UNITS = tomllib.loads((Path(__file__).resolve().parent / "units.toml").read_text(encoding="utf-8"))

Number = tuple[frozenset[str], "str | None", str]  # comparable forms, scale ("e9" for milliard/billion), as written


def alternatives(table: dict) -> str:
    """A regular expression matching any key of `table`, longest first."""
    return "|".join(re.escape(w) for w in sorted(table, key=len, reverse=True))


_SCALE_OF = {**UNITS["scales"], **UNITS["abbreviated_scales"]}
_NUMBER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d{1,3}(?:, \d{3})+(?!\d)|\d+(?:[.,]\d+)*)"
    rf"(?:\s*({alternatives(_SCALE_OF)})\b|(?-i:({alternatives(UNITS['attached_scales'])}))\b)?",
    re.IGNORECASE,
)


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
