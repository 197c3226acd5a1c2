"""Find a person of the event from what a user types: full name, last name, first name, alias or initials."""
from __future__ import annotations

import re

from kb.errors import EventKBError, NotFound
from kb.textnorm import fold

def _forms(person: dict, loose: bool = True, initials: bool = True) -> set[str]:
    """The folded ways to name the person: full names, aliases and last names, plus first names and (with `initials`)
    initials when `loose`."""
    names = [person["name"], *person.get("aliases", [])]
    forms = {" ".join(fold(n).split()) for n in names}
    for n in names:
        parts = fold(n).split()
        forms.update(({parts[-1], parts[0]} if loose else {parts[-1]}) if len(parts) > 1 else set())
    if loose and initials and person.get("initials"):
        forms.add(fold(person["initials"]))
    return forms


def named_in(text: str, people: list[dict]) -> list[str]:
    """The full names of the people `text` names by full name, first or last name, or alias (initials are too short to tell)."""
    have = " " + " ".join(re.findall(r"\w+", fold(text))) + " "
    return [p["name"] for p in people if any(f" {form} " in have for form in _forms(p, initials=False) if len(form) > 2)]


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
