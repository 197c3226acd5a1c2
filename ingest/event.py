"""Read an event folder's event.toml: the event, its people, its documents and explicit speaker attributions."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.document import LoadError

MANIFEST = "event.toml"


@dataclass(frozen=True)
class Person:
    name: str
    role: str = ""
    organisation: str = ""
    title: str = ""
    initials: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentSpec:
    id: str
    title: str
    file: str | None = None
    kind: str = ""
    language: str = ""
    url: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class Attribution:
    """Lines [first, last] of a document (on `page` for a PDF) belong to `speaker`."""

    document: str
    first: int
    last: int
    speaker: str
    page: int | None = None


@dataclass
class Event:
    id: str
    title: str
    date: str = ""
    organiser: str = ""
    place: str = ""
    language: str = ""
    examples: tuple[str, ...] = ()  # questions the web page offers as examples, in the event's languages
    glossary: tuple[str, ...] = ()  # the event's own equivalent terms, one group per string: "terme | term | abbr"
    folder: Path | None = None
    manifest_sha256: str = ""
    people: list[Person] = field(default_factory=list)
    documents: list[DocumentSpec] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)

    def document_for_file(self, name: str) -> DocumentSpec | None:
        """The listed document whose file name is `name`, if any."""
        return next((d for d in self.documents if d.file and d.file == name), None)

    def to_json(self) -> dict:
        return {**{k: getattr(self, k) for k in ("id", "title", "date", "organiser", "place", "language")}, "examples": list(self.examples),
                "glossary": list(self.glossary)}


def _glossary(groups, path: Path) -> tuple[str, ...]:
    """The manifest's `glossary`: a list of strings, each two or more equivalent terms separated by "|"."""
    if not isinstance(groups, list) or not all(isinstance(g, str) and len([t for t in g.split("|") if t.strip()]) >= 2 for g in groups):
        raise LoadError(f'{path}: glossary must be a list of strings of equivalent terms, e.g. ["sobriété | sufficiency"]')
    return tuple(" | ".join(t.strip() for t in g.split("|") if t.strip()) for g in groups)


def load_event(folder: Path) -> Event:
    """Parse folder/event.toml, raising LoadError with a one-line reason when it is wrong."""
    import hashlib

    path = folder / MANIFEST
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LoadError(f"{path}: cannot read the event manifest ({exc})") from None
    if data.get("format", 1) != 1:
        raise LoadError(f"{path}: unknown manifest format {data.get('format')!r}; this eventkb reads format 1")
    try:
        people = [
            Person(p["name"], p.get("role", ""), p.get("organisation", ""), p.get("title", ""), p.get("initials", ""), tuple(p.get("aliases", ())))
            for p in data.get("people", [])
        ]
        documents = [
            DocumentSpec(d["id"], d.get("title") or d["id"], d.get("file"), d.get("kind", ""), d.get("language", ""), d.get("url"), d.get("author"))
            for d in data.get("documents", [])
        ]
        attributions = [
            Attribution(a["document"], int(a["lines"][0]), int(a["lines"][1]), a["speaker"], a.get("page"))
            for a in data.get("attributions", [])
        ]
        event = Event(
            id=data.get("id") or folder.name,
            title=data["title"],
            date=str(data.get("date", "")),
            organiser=data.get("organiser", ""),
            place=data.get("place", ""),
            language=data.get("language", ""),
            examples=tuple(str(q) for q in data.get("examples", ())),
            glossary=_glossary(data.get("glossary", []), path),
            folder=folder,
            manifest_sha256=hashlib.sha256(raw).hexdigest(),
            people=people,
            documents=documents,
            attributions=attributions,
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise LoadError(f"{path}: missing or malformed field {exc}") from None
    names = {p.name for p in people}
    ids = {d.id for d in documents}
    for a in attributions:
        if a.speaker not in names:
            raise LoadError(f"{path}: attribution to {a.speaker!r}, who is not among the event's people")
        if a.document not in ids:
            raise LoadError(f"{path}: attribution in document {a.document!r}, which the event does not list")
    return event
