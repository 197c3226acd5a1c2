"""Verify an answer by exact quote: every figure, name and quotation it gives must be copied from the sentences it was
answered from. Figures are compared by value and unit across French and English notations ("9,3 %" = "9.3 percent",
"1,1 milliard" = "1.1 billion"); the units and number words are data, in units.toml."""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from kb.textnorm import fold

_NUMBER = re.compile(r"(?<![\w.,/-])(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+(?:[.,]\d+)*)(?![\w/])|(?<![\w/])(\d+/\d+)(?![\w/])")
_QUOTED = re.compile(r"«\s*([^«»]+?)\s*»|“([^“”]+)”|\"([^\"]+)\"")
# A name: a word with a capital or a digit inside it ("NVidia", "WebGL", "GPT-4", "f16"), or in capitals ("BLOOM").
_IDENTIFIER = re.compile(r"(?<![\w-])(?=[\w-]*(?:[a-zà-ÿ][A-ZÀ-Ü]|[A-Za-zÀ-ÿ]\d|\d[A-Za-zÀ-ÿ]))[\w-]+|(?<![\w-])[A-ZÀ-Ü]{2,}[\w-]*")
_CAPITALISED = re.compile(r"(?<=[\w,;:)»”] )[A-ZÀ-Ü][\w-]+")  # past a sentence's first word


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, str], dict[str, float]]:
    data = tomllib.loads((Path(__file__).with_name("units.toml")).read_text(encoding="utf-8"))
    units = {fold(spelling): unit for unit, spellings in data["units"].items() for spelling in spellings}
    number_words = {fold(w): float(entry["value"]) for entry in data["number_words"].values() for w in entry["words"]}
    return units, number_words


def values(figure: str) -> set[float]:
    """What a written figure can mean: "256,646" is 256646 in English and 256.646 in French; "1 106" is 1106."""
    if "/" in figure:
        top, bottom = figure.split("/")
        return {round(int(top) / int(bottom), 6)} if int(bottom) else set()
    compact = re.sub(r"[ \u00a0\u202f]", "", figure)
    out = set()
    parts = re.split(r"[.,]", compact)
    if len(parts) == 1:
        return {float(compact)}
    if all(len(p) == 3 for p in parts[1:]):  # thousands separators, or one decimal mark before three digits
        out.add(float("".join(parts)))
    if len(parts) == 2:
        out.add(float(f"{parts[0]}.{parts[1]}"))
    elif re.fullmatch(r"\d+(,\d{3})+\.\d+", compact):
        out.add(float(compact.replace(",", "")))
    elif re.fullmatch(r"\d+(\.\d{3})+,\d+", compact):
        out.add(float(compact.replace(".", "").replace(",", ".")))
    return out


def unit_after(text: str, end: int) -> str | None:
    """The unit or scale word written right after a figure ("9,3 %", "70 GWh", "1,1 milliard"), if the table knows it."""
    units, _ = _table()
    following = fold(text[end : end + 24]).lstrip(" \u00a0\u202f")
    for n in (3, 2, 1):
        words = re.findall(r"%|€|\$|[\w-]+", following)[:n]
        if words and " ".join(words) in units:
            return units[" ".join(words)]
    return None


def figures(text: str) -> list[tuple[str, set[float], str | None]]:
    """The figures of a text: as written, their possible values and their unit; number words count ("trois" = 3)."""
    _, number_words = _table()
    found = [(m.group(0), values(m.group(0)), unit_after(text, m.end())) for m in _NUMBER.finditer(text)]
    for m in re.finditer(r"[\w-]+", text):
        value = number_words.get(fold(m.group(0)))
        if value is not None:
            found.append((m.group(0), {value}, unit_after(text, m.end())))
    return found


def _copied(figure: tuple[str, set[float], str | None], source: list[tuple[str, set[float], str | None]]) -> bool:
    _, wanted, unit = figure
    return any(wanted & have and (unit is None or other is None or unit == other) for _, have, other in source)


def problems(answer: str, sentences: list[str], question: str, same_language: bool) -> list[str]:
    """What in `answer` is not copied from `sentences`: figures (by value and unit), names and quotations. A name the
    question writes counts as given; across languages only identifiers are compared, since other words translate."""
    answer = re.sub(r"\s*\[\d+\]", "", answer)  # its citation marks
    source = " ".join(sentences)
    folded_source = " ".join(fold(source + " " + question).replace("’", "'").split())
    found: list[str] = []
    source_figures = figures(source) + figures(question)
    for m in _NUMBER.finditer(answer):
        figure = (m.group(0), values(m.group(0)), unit_after(answer, m.end()))
        if not _copied(figure, source_figures):
            found.append(f"the figure {m.group(0)}{' ' + figure[2] if figure[2] else ''} is not in the sentence")
    names = set(_IDENTIFIER.findall(answer)) | (set(_CAPITALISED.findall(answer)) if same_language else set())
    for name in sorted(names):
        if re.fullmatch(r"[\d.,/-]+", name):
            continue
        if fold(name) not in folded_source:
            found.append(f"the name {name} is not in the sentence")
    for groups in _QUOTED.findall(answer):
        quoted = next(g for g in groups if g)
        if len(quoted.split()) >= 3 and " ".join(fold(quoted).replace("’", "'").split()) not in folded_source:
            found.append(f"the quotation “{quoted}” is not in the sentence")
    return found


def quote(sentence: str, language: str) -> str:
    """A source sentence shown as the answer, verbatim, in the quotation marks of the question's language."""
    body = sentence.strip().strip("«»“”\"").strip()
    return f"« {body} »" if language == "fr" else f"“{body}”"
