"""Several events in one knowledge base home: each in a home of its own, with its own builds and audit log.

A home's first event lives at its root (the layout of a home with one event, unchanged); every other event lives in
`events/<event id>/`, laid out the same way. Nothing here opens an index: listing reads manifests and audit counts.
"""
from __future__ import annotations

import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kb import store
from kb.audit import AUDIT_FILE
from kb.errors import EventKBError, NotFound

EVENTS_DIR = "events"
ACROSS_DIR = "across"  # the audit log of the answers asked across events
UPLOADS_DIR = "uploads"  # the documents of the events added from the browser, a folder each
ROOT_FILES = (store.CURRENT, "builds", AUDIT_FILE, AUDIT_FILE + "-wal", AUDIT_FILE + "-shm", AUDIT_FILE + ".lock", ".ingest.lock")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class EventHome:
    """One event of a home: its id and the directory that holds its builds and audit log."""

    id: str
    path: Path

    def summary(self) -> dict:
        """Its id, title, date, documents, people, passages, stored answers and the Wh they used, from its manifest,
        its store and its audit log."""
        build = store.current_build(self.path)
        manifest = store.read_manifest(build) if build is not None else {}
        event, counts = manifest.get("event") or {}, manifest.get("counts") or {}
        answers, wh = _answer_totals(self.path)
        return {"id": self.id, "title": event.get("title") or "", "date": event.get("date") or "", "organiser": event.get("organiser") or "",
                "documents": counts.get("documents", 0), "people": _people_count(build), "passages": counts.get("passages", 0),
                "answers": answers, "wh": wh, "home": str(self.path)}


def _people_count(build: Path | None) -> int:
    if build is None:
        return 0
    conn = store.open_readonly(build / store.DB_FILE)
    try:
        return conn.execute("SELECT COUNT(*) FROM people").fetchone()[0]
    finally:
        conn.close()


def _answer_totals(path: Path) -> tuple[int, float]:
    """The number of stored answers and the Wh the generated ones used (an answer served again from the cache used none)."""
    if not (path / AUDIT_FILE).is_file():
        return 0, 0.0
    conn = sqlite3.connect(f"file:{path / AUDIT_FILE}?mode=ro", uri=True)
    try:
        count, joules = conn.execute("SELECT COUNT(*), COALESCE(SUM(CASE WHEN cached_from = '' THEN joules END), 0) FROM answers").fetchone()
        return count, round(joules / 3600, 6)
    except sqlite3.Error:  # no answer table yet
        return 0, 0.0
    finally:
        conn.close()


def _root_id(home: Path) -> str | None:
    build = store.current_build(home)
    if build is None:
        return None
    return (store.read_manifest(build).get("event") or {}).get("id") or "default"


def events(home: Path) -> list[EventHome]:
    """The events the home holds, the one at its root first, then the others by id."""
    found = []
    root = _root_id(home)
    if root is not None:
        found.append(EventHome(root, home))
    folder = home / EVENTS_DIR
    if folder.is_dir():
        found += [EventHome(p.name, p) for p in sorted(folder.iterdir()) if p.is_dir() and store.current_build(p) is not None and p.name != root]
    return found


def _listing(found: list[EventHome]) -> str:
    return ", ".join(e.id for e in found)


def event_home(home: Path, event_id: str | None = None) -> Path:
    """The home of one event: `event_id`'s, else the only one; a clear error when the id is unknown or, with several
    events, missing. An empty home is its own (the first ingest builds there)."""
    found = events(home)
    if event_id is None:
        if len(found) > 1:
            raise EventKBError(f"This knowledge base holds {len(found)} events: choose one with --event ID ({_listing(found)}).")
        return found[0].path if found else home
    for e in found:
        if e.id == event_id:
            return e.path
    raise NotFound(f"No event {event_id!r} in {home}: " + (f"the events are {_listing(found)}." if found else "it holds none yet; ingest one first."))


def chosen(home: Path, spec: str) -> list[EventHome]:
    """The events `spec` names: "all", or ids separated by commas; a clear error for an unknown one."""
    found = events(home)
    if spec == "all":
        if not found:
            raise NotFound(f"{home} holds no event yet; ingest one first.")
        return found
    by_id = {e.id: e for e in found}
    wanted = [i.strip() for i in spec.split(",") if i.strip()]
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        raise NotFound(f"No event {unknown[0]!r} in {home}: the events are {_listing(found)}.")
    return [by_id[i] for i in dict.fromkeys(wanted)]


def several(spec: str | None) -> bool:
    """Whether an --event value names several events ("all", or ids separated by commas)."""
    return spec is not None and (spec == "all" or "," in spec)


def across_home(home: Path) -> Path:
    """Where the answers asked across several events are kept: an audit log of their own, beside the events'."""
    return home / ACROSS_DIR


def home_for_ingest(home: Path, event_id: str | None) -> Path:
    """Where an ingest of the event `event_id` (None: no event folder given) goes: the event's own home if the home
    holds it, the root of an empty home, else a new home under events/; with no event, the only event's home."""
    found = events(home)
    if event_id is None:
        return event_home(home)
    if not _ID.fullmatch(event_id) or event_id == "all":
        raise EventKBError(f"{event_id!r} cannot name an event folder: use letters, digits, '.', '-' and '_' (and not \"all\").")
    for e in found:
        if e.id == event_id:
            return e.path
    return home if not found else home / EVENTS_DIR / event_id


def remove(home: Path, event_id: str) -> Path:
    """Remove one event, its builds, its audit log and the documents uploaded for it, and nothing else; the directory
    it was in."""
    path = event_home(home, event_id)
    shutil.rmtree(home / UPLOADS_DIR / event_id, ignore_errors=True)
    if path == home:
        for name in ROOT_FILES:
            target = home / name
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
    else:
        shutil.rmtree(path)
    return path
