"""Find a person of the event from what a user types: full name, last name, first name, alias or initials."""
from __future__ import annotations

import re

from kb.errors import EventKBError, NotFound
from kb.textnorm import fold

# A question about who someone is or whom they work for: the answer is where the document introduces them.
_ROLE_QUESTION = re.compile(
    r"\b(r[oô]le|fonction|function|position|poste|job|titre|title|works? (?:for|at)|worked (?:for|at)|travaille|company|"
    r"entreprise|soci[ée]t[ée]|organi[sz]ation|organisme|institut\w*|employer|employeur|who is|qui est)\b", re.IGNORECASE)


def _forms(person: dict, loose: bool = True) -> set[str]:
    """The folded ways to name the person: full names, aliases and last names, plus first names and initials when `loose`."""
    names = [person["name"], *person.get("aliases", [])]
    forms = {" ".join(fold(n).split()) for n in names}
    for n in names:
        parts = fold(n).split()
        forms.update(({parts[-1], parts[0]} if loose else {parts[-1]}) if len(parts) > 1 else set())
    if loose and person.get("initials"):
        forms.add(fold(person["initials"]))
    return forms


def resolve(query: str, people: list[dict]) -> dict:
    """The one person `query` names, ignoring case and accents; a clear error otherwise."""
    key = " ".join(fold(query).replace(".", "").split())
    listing = ", ".join(f"{p['name']} ({p['role']})" if p.get("role") else p["name"] for p in people) or "none"
    if not key:
        raise EventKBError(f"Give a person's name; the people of this event are: {listing}.")
    exact = [p for p in people if key == " ".join(fold(p["name"]).split())]
    matches = exact or [p for p in people if key in _forms(p)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = " and ".join(p["name"] for p in matches)
        raise EventKBError(f"{query!r} could be {names}: give the full name.")
    raise NotFound(f"No one called {query!r} in this event; the people are: {listing}.")


def named(text: str, people: list[dict]) -> list[dict]:
    """The people whose full name, last name or alias `text` writes (not initials or first names alone: too ambiguous)."""
    folded = " " + " ".join(re.findall(r"\w+", fold(text))) + " "
    return [p for p in people if any(" " + " ".join(re.findall(r"\w+", form)) + " " in folded for form in _forms(p, loose=False) if form)]


def asks_role(question: str) -> bool:
    """True when the question asks what someone does or whom they work for ("Quelle fonction occupe-t-il ?")."""
    return _ROLE_QUESTION.search(question) is not None


def introduction(person: dict) -> re.Pattern:
    """How an event summary introduces the person, in folded text with its spaces collapsed: the name, then their title
    in brackets."""
    return re.compile(r"\b" + re.escape(" ".join(fold(person["name"]).split())) + r"\s*\(")
