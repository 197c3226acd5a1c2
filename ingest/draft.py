"""Draft an event.toml from the documents of a folder, for the organiser to check and correct (`eventkb init`).

What it can read from the documents themselves: the people their speaker labels name (with turn counts and the role
the prose gives), the labels that name no one, the documents and which of them are transcripts, the language, a title
(the first heading) and a date (the first ISO date). What it cannot read, it leaves empty for the user to fill in.
"""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from ingest.document import LoadedDocument
from ingest.event import MANIFEST
from ingest.people import label_people
from ingest.structure import NameMatcher, analyse, is_transcript
from kb.language import detect

_DATE = re.compile(r"\b(20\d\d|19\d\d)-(0[1-9]|1[0-2])-([0-2]\d|3[01])\b")
_TITLE = re.compile(r"^(?:#\s+(.+)|title:\s*[\"']?(.+?)[\"']?\s*)$")


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _text(doc: LoadedDocument) -> str:
    return "\n".join(line.text for page in doc.pages for line in page.lines)


def draft(folder: Path, docs: list[tuple[str, LoadedDocument]]) -> str:
    """The text of a draft event.toml for `folder`, from its documents as (file name, loaded document)."""
    found = label_people([doc for _, doc in docs])
    people = [f.person for f in found]
    matcher = NameMatcher(people)
    unresolved: dict[str, int] = {}
    for _, doc in docs:
        for label, n in analyse(doc, people, [], detect_speakers=True).unresolved.items():
            unresolved[label] = unresolved.get(label, 0) + n
    texts = [_text(doc) for _, doc in docs]
    title = next((m.group(1) or m.group(2) for text in texts for line in text.splitlines() if (m := _TITLE.match(line.strip()))), folder.name)
    day = next((m.group(0) for text in texts if (m := _DATE.search(text))), "")
    language = detect(" ".join(texts)[:20000], default="en")
    out = [
        f"# Drafted by `eventkb init` on {date.today().isoformat()} from the documents of this folder. Check every line: the",
        "# people, their roles and the title were read from the text and may be wrong or missing. Then run `eventkb ingest`.",
        "format = 1",
        f"id = {_toml(re.sub(r'[^a-z0-9]+', '-', folder.name.lower()).strip('-') or 'event')}",
        f"title = {_toml(' '.join(title.split()))}",
        f"date = {_toml(day)}" + ("" if day else "  # not found in the documents: YYYY-MM-DD"),
        'organiser = ""',
        f"language = {_toml(language)}",
        "# Questions the chat page offers as examples, e.g. [\"What did the speakers say about ...?\"]",
        "examples = []",
        "# Terms of this event's subject in both of its languages, one group each, for keyword search alone and the",
        "# answer check, e.g. [\"sobriété | sufficiency\"] (a general glossary covers energy and digital technology).",
        "glossary = []",
    ]
    for f in found:
        out += ["", "[[people]]", f"name = {_toml(f.person.name)}", f"role = {_toml(f.person.role)}" + ("" if f.person.role else "  # not given by the text"),
                'organisation = ""']
        if f.person.aliases:
            out.append(f"aliases = [{', '.join(_toml(a) for a in f.person.aliases)}]")
        out.append(f"# {f.turns} turn(s) in the documents")
    if unresolved:
        out += ["", "# Speaker labels that name no one above (their text stays unattributed). If one is a person, add them",
                "# with the label among their aliases: " + ", ".join(f"{label} ({n})" for label, n in unresolved.items())]
    for name, doc in docs:
        stem = Path(name).stem
        kind = "transcript" if is_transcript(doc, matcher) else ""
        out += ["", "[[documents]]", f"id = {_toml(re.sub(r'[^a-z0-9]+', '-', stem.lower()).strip('-') or 'document')}",
                f"file = {_toml(name)}", f"title = {_toml(stem)}", f"kind = {_toml(kind)}" + ("" if kind else '  # "report" for a cited report (no speakers)'),
                'url = ""']
    return "\n".join(out) + "\n"


def read_documents(folder: Path) -> tuple[list[tuple[str, LoadedDocument]], list[str]]:
    """The readable documents of a folder as (file name, loaded document), and why the others could not be read."""
    from ingest.document import LoadError
    from ingest.pipeline import load_source, resolve_sources

    _, sources, failures = resolve_sources([folder])
    docs = []
    for source in sources:
        try:
            docs.append((source.path.name, load_source(source)))
        except LoadError as exc:
            failures.append(str(exc))
    return docs, failures


def write_draft(folder: Path) -> tuple[Path, str, list[str]]:
    """Write a draft folder/event.toml from the folder's documents, never over an existing one; returns its path, its
    text and the files that could not be read."""
    from kb.errors import EventKBError

    path = folder / MANIFEST
    if not folder.is_dir():
        raise EventKBError(f"{folder} is not a folder: give the folder that holds the event's documents.")
    if path.exists():
        raise EventKBError(f"{path} already exists: edit it, or move it aside to draft a new one.")
    docs, failures = read_documents(folder)
    if not docs:
        raise EventKBError(f"No readable .txt, .md, .pdf, .vtt or .srt file in {folder}: put the event's documents there first.")
    text = draft(folder, docs)
    path.write_text(text, encoding="utf-8")
    return path, text, failures
