"""The knowledge base on disk: its layout, its schema, its one writer and its readers.

A home holds `builds/<name>/` (a SQLite file for documents, passages, people and references, the FAISS and BM25
index files, a manifest of what built it) and `current`, a symlink to the build in use. `write_build` writes a
new build beside the current one and swaps the link in one atomic rename at the very end, so a failed or
interrupted build leaves the previous one untouched; everything else opens the current build read-only.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kb.words import Lexicon

FORMAT = 1
DB_FILE = "kb.sqlite"
CURRENT = "current"
BUILDS = "builds"
MANIFEST = "manifest.json"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, kind TEXT, format TEXT, file TEXT, sha256 TEXT,
    url TEXT, language TEXT, pages INTEGER, empty_pages TEXT NOT NULL DEFAULT '[]', ingested INTEGER NOT NULL
);
CREATE TABLE people (
    name TEXT PRIMARY KEY, role TEXT, organisation TEXT, title TEXT, initials TEXT, aliases TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, document TEXT NOT NULL REFERENCES documents(id),
    page INTEGER, line_start INTEGER, line_end INTEGER, section TEXT, speaker TEXT REFERENCES people(name),
    text TEXT NOT NULL, embed_text TEXT NOT NULL
);
CREATE INDEX passages_speaker ON passages(speaker);
CREATE INDEX passages_document ON passages(document);
CREATE TABLE refs (
    id INTEGER PRIMARY KEY, url TEXT NOT NULL, document TEXT NOT NULL, page INTEGER, line INTEGER,
    target TEXT REFERENCES documents(id)
);
CREATE TABLE ref_passages (ref INTEGER NOT NULL REFERENCES refs(id), passage TEXT NOT NULL REFERENCES passages(id));
"""


@dataclass(frozen=True)
class Passage:
    """A chunk of source text with its exact locator."""

    row: int
    id: str
    document: str
    title: str
    page: int | None
    lines: tuple[int, int] | None
    section: str | None
    speaker: str | None
    text: str
    embed_text: str
    event: str | None = None  # the event it belongs to, named when several events are searched together

    def to_json(self, score: float | None = None) -> dict:
        """The passage as the CLI and API show it (with its event when several events are searched together)."""
        return {
            **({"event": self.event} if self.event else {}),
            "id": self.id,
            "text": self.text,
            "document": self.document,
            "title": self.title,
            "page": self.page,
            "lines": list(self.lines) if self.lines else None,
            "section": self.section,
            "speaker": self.speaker,
            "score": None if score is None else round(float(score), 6),
        }

    def locator(self) -> str:
        """A short human locator: "panel-summary l.113-119" or "greenit-2019 p.12 l.3-9"."""
        parts = [self.document]
        if self.page is not None:
            parts.append(f"p.{self.page}")
        if self.lines:
            first, last = self.lines
            parts.append(f"l.{first}" if first == last else f"l.{first}-{last}")
        return " ".join(parts)


def create(path: Path) -> sqlite3.Connection:
    """A new, empty store at `path`."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT),))
    return conn


def open_readonly(path: Path) -> sqlite3.Connection:
    """Open an existing store read-only, checking its format."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    if row is None or int(row[0]) != FORMAT:
        conn.close()
        from kb.errors import EventKBError

        raise EventKBError(f"The knowledge base at {path.parent} has another format: run `eventkb ingest` to rebuild it.")
    return conn


_PASSAGE_SQL = """
SELECT p.row, p.id, p.document, d.title, p.page, p.line_start, p.line_end, p.section, p.speaker, p.text, p.embed_text
FROM passages p JOIN documents d ON d.id = p.document
"""


def _passage(row: sqlite3.Row) -> Passage:
    lines = (row["line_start"], row["line_end"]) if row["line_start"] is not None else None
    return Passage(row["row"], row["id"], row["document"], row["title"], row["page"], lines, row["section"], row["speaker"], row["text"], row["embed_text"])


def all_passages(conn: sqlite3.Connection) -> list[Passage]:
    """Every passage in row order (row = position in both indexes)."""
    return [_passage(r) for r in conn.execute(_PASSAGE_SQL + " ORDER BY p.row")]


def meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def people(conn: sqlite3.Connection) -> list[dict]:
    """The people of the event, with their number of attributed passages."""
    rows = conn.execute(
        "SELECT pe.*, (SELECT COUNT(*) FROM passages pa WHERE pa.speaker = pe.name) AS passages FROM people pe ORDER BY pe.rowid"
    )
    return [{**dict(r), "aliases": json.loads(r["aliases"])} for r in rows]


def documents(conn: sqlite3.Connection) -> list[dict]:
    """The documents the event lists or that were ingested, with their passage and reference counts."""
    rows = conn.execute(
        "SELECT d.*, (SELECT COUNT(*) FROM passages p WHERE p.document = d.id) AS passages FROM documents d ORDER BY d.rowid"
    )
    return [{**dict(r), "empty_pages": json.loads(r["empty_pages"]), "ingested": bool(r["ingested"])} for r in rows]


def references(conn: sqlite3.Connection) -> list[dict]:
    """Every URL the sources cite, with the passages that cite it and the ingested document it points to."""
    out = []
    for r in conn.execute("SELECT * FROM refs ORDER BY id"):
        cited_by = [x[0] for x in conn.execute("SELECT passage FROM ref_passages WHERE ref = ? ORDER BY rowid", (r["id"],))]
        out.append({"url": r["url"], "document": r["document"], "page": r["page"], "line": r["line"], "target": r["target"], "cited_by": cited_by})
    return out


def current_build(home: Path) -> Path | None:
    """The directory of the knowledge base in use, or None if there is none yet."""
    link = home / CURRENT
    if link.is_symlink() or link.is_dir():
        target = link.resolve()
        if (target / MANIFEST).is_file():
            return target
    return None


def read_manifest(build: Path) -> dict:
    return json.loads((build / MANIFEST).read_text(encoding="utf-8"))


@dataclass
class BuildContent:
    """Everything one build holds, as rows of the schema above; passages are numbered in order (their index rows)."""

    event: dict | None = None
    people: list[tuple] = field(default_factory=list)  # name, role, organisation, title, initials, aliases
    documents: list[tuple] = field(default_factory=list)  # the columns of `documents`
    passages: list[tuple] = field(default_factory=list)  # id, document, page, line_start, line_end, section, speaker, text, embed_text
    references: list[tuple] = field(default_factory=list)  # url, document, page, line, target document, ids of the citing passages
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    lexicon: "Lexicon | None" = None  # the passages' words and their vectors (kb.words)


def write_build(home: Path, name: str, content: BuildContent, manifest: dict) -> Path:
    """Write `content` as the build `name` of `home` with its `manifest`, make it current, remove older builds."""
    from kb.errors import EventKBError

    builds = home / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    for stale in builds.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=builds))
    try:
        _write_files(tmp, content)
        _write_atomic(tmp / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
        _fsync_dir(tmp)
        final = builds / name
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        _swap_current(home, final)
    except (OSError, sqlite3.Error) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EventKBError(f"Writing the new build in {builds} failed ({exc}): check the free disk space; the previous knowledge base is unchanged.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in builds.iterdir():
        if old != final and not old.name.startswith(".tmp-"):
            shutil.rmtree(old, ignore_errors=True)
    return final


def _write_files(directory: Path, content: BuildContent) -> None:
    from kb.indexes import DenseIndex, KeywordIndex

    conn = create(directory / DB_FILE)
    with conn:
        if content.event is not None:
            conn.execute("INSERT INTO meta VALUES ('event', ?)", (json.dumps(content.event, ensure_ascii=False),))
        conn.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)",
                         [(*row[:5], json.dumps(list(row[5]), ensure_ascii=False)) for row in content.people])
        conn.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", content.documents)
        conn.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(row, *p) for row, p in enumerate(content.passages)])
        for url, document, page, line, target, cited in content.references:
            cur = conn.execute("INSERT INTO refs (url, document, page, line, target) VALUES (?, ?, ?, ?, ?)", (url, document, page, line, target))
            conn.executemany("INSERT INTO ref_passages VALUES (?, ?)", [(cur.lastrowid, pid) for pid in cited])
    conn.close()
    DenseIndex.build(content.vectors).save(directory)
    KeywordIndex.build([p[8] for p in content.passages]).save(directory)
    if content.lexicon is not None:
        content.lexicon.save(directory)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _fsync_dir(directory: Path, recursive: bool = True) -> None:
    """Flush a directory (and, by default, everything under it) to disk."""
    for path in [*(directory.rglob("*") if recursive else []), directory]:
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _swap_current(home: Path, target: Path) -> None:
    """Point home/current at `target` in one atomic rename."""
    link = home / CURRENT
    tmp = home / f".{CURRENT}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(target, home), tmp)
    os.replace(tmp, link)
    _fsync_dir(home, recursive=False)
