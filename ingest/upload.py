"""An event added from uploaded files: a folder under the home's `uploads/<event id>/` that holds its documents and,
once reviewed, its event.toml; then ingested like any event folder.

Every file is checked by its content, not its name (a PDF must be one pypdf opens; text must be UTF-8 without NUL
bytes), and a batch of files is kept whole or not at all: a refused file leaves the folder as it was.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from ingest.document import LoadError
from ingest.event import MANIFEST, load_event
from kb.errors import EventKBError, NotFound
from kb.series import UPLOADS_DIR

DRAFT_FILE = ".draft.json"  # what the organiser typed when creating the event: title, date, organiser
ALLOWED = (".txt", ".md", ".pdf", ".vtt", ".srt")
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 20  # documents per event
MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # one request's body
_NAME = re.compile(r"[\w][\w .()+-]{0,118}", re.UNICODE)
_MAGIC = {b"PK\x03\x04": "a zip archive", b"\x1f\x8b": "a gzip archive", b"7z\xbc\xaf": "a 7-Zip archive", b"Rar!": "a RAR archive",
          b"\x7fELF": "a program", b"MZ": "a Windows program", b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image"}


class Refused(EventKBError):
    """One or more uploaded files refused, each with its reason; nothing was kept."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("Nothing was added: " + "; ".join(reasons) + ".")
        self.reasons = reasons


class Conflict(EventKBError):
    """The event or draft already exists."""


@dataclass(frozen=True)
class Draft:
    """An event being added: its id and the folder that holds its uploaded documents."""

    id: str
    folder: Path

    def files(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir() if p.is_file() and p.suffix.lower() in ALLOWED)

    def typed(self) -> dict:
        path = self.folder / DRAFT_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def uploads(home: Path) -> Path:
    return home / UPLOADS_DIR


def event_id_for(title: str, day: str) -> str:
    """An event id from its title and date: "Water meetup", "2025-05-20" is "water-meetup-2025-05-20"."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:60].strip("-") or "event"
    return f"{slug}-{day}" if day else slug


def create(home: Path, title: str, day: str, organiser: str, taken: list[str]) -> Draft:
    """A new, empty draft for an event: a clear error for a missing title, a malformed date or an id that `taken`
    (the home's events) or another draft already holds."""
    title, day, organiser = (title or "").strip(), (day or "").strip(), (organiser or "").strip()
    if not title or len(title) > 200:
        raise EventKBError("Give the event a title (at most 200 characters).")
    if day:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise EventKBError(f"{day!r} is not a date: write it YYYY-MM-DD, or leave it empty.") from None
    if len(organiser) > 200:
        raise EventKBError("The organiser's name is longer than 200 characters: shorten it.")
    event_id = event_id_for(title, day)
    folder = uploads(home) / event_id
    if event_id in taken or event_id == "all":
        raise Conflict(f"The knowledge base already holds an event {event_id!r}: give this one another title or date.")
    if folder.exists():
        raise Conflict(f"An event {event_id!r} is already being added: continue it, or give this one another title or date.")
    folder.mkdir(parents=True)
    (folder / DRAFT_FILE).write_text(json.dumps({"title": title, "date": day, "organiser": organiser}, ensure_ascii=False), encoding="utf-8")
    return Draft(event_id, folder)


def drafts(home: Path) -> list[Draft]:
    """The events added from the browser, in the order of their ids."""
    folder = uploads(home)
    return [Draft(p.name, p) for p in sorted(folder.iterdir()) if p.is_dir()] if folder.is_dir() else []


def discard(draft: Draft, served: list[str]) -> None:
    """Delete a draft and its files; an event already ingested (in `served`) is removed with `eventkb remove` instead."""
    if draft.id in served:
        raise Conflict(f"The event {draft.id!r} is served: remove it with `eventkb remove {draft.id}`, which deletes its files too.")
    shutil.rmtree(draft.folder)


def find(home: Path, event_id: str) -> Draft:
    folder = uploads(home) / event_id
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,80}", event_id) or not folder.is_dir():
        raise NotFound(f"No event {event_id!r} is being added: create it first.")
    return Draft(event_id, folder)


def safe_name(name: str) -> str:
    """The file name as given, or Refused when it could leave the folder, hide, or is not a document eventkb reads."""
    shown = name if len(name) < 80 else name[:77] + "…"
    if not name or "/" in name or "\\" in name or ".." in name or name.startswith(".") or any(not ch.isprintable() for ch in name):
        raise Refused([f"{shown!r} is not a plain file name"])
    if not _NAME.fullmatch(name):
        raise Refused([f"{shown!r}: use letters, digits, spaces and . ( ) + - _ in file names (at most 119 characters)"])
    if Path(name).suffix.lower() not in ALLOWED:
        raise Refused([f"{shown}: eventkb reads {', '.join(ALLOWED)} files"])
    if name.lower() in (MANIFEST, "readme.md"):
        raise Refused([f"{shown}: that name is kept for the event's own files; rename it"])
    return name


def content_problem(name: str, data: bytes) -> str | None:
    """Why `data` is not the kind of file its name says (None when it is)."""
    if not data:
        return "it is empty"
    if len(data) > MAX_FILE_BYTES:
        return f"it is {len(data) / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB a file"
    magic = next((what for m, what in _MAGIC.items() if data.startswith(m)), None)  # named in the refusal, never the reason for it
    if Path(name).suffix.lower() == ".pdf":
        if b"%PDF-" not in data[:1024]:
            return f"it is not a PDF (its content is {magic})" if magic else "it is not a PDF"
        try:
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                return "the PDF is encrypted: upload it without a password"
            if not len(reader.pages):
                return "the PDF has no page"
        except Exception as exc:  # pypdf raises many kinds on broken files
            return f"it is not a readable PDF ({type(exc).__name__})"
        return None
    if b"\x00" in data:  # text never holds one; archives, programs and images do
        return f"it is not text (its content is {magic})" if magic else "it is not text (it holds NUL bytes)"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "it is not UTF-8 text: save it as UTF-8"
    suffix = Path(name).suffix.lower()
    if suffix == ".vtt" and not text.lstrip().startswith("WEBVTT"):
        return "it is not WebVTT captions (no WEBVTT header)"
    if suffix == ".srt" and "-->" not in text:
        return "it is not SRT captions (no cue times)"
    return None


def add_files(draft: Draft, files: list[tuple[str, bytes]]) -> list[str]:
    """Keep the uploaded files in the draft's folder, all of them or, when any is refused, none; a file of the same
    name is replaced. The names now in the folder."""
    if not files:
        raise EventKBError("Choose at least one file to upload (.txt, .md, .pdf, .vtt or .srt).")
    reasons = []
    names = []
    for name, data in files:
        try:
            names.append(safe_name(name))
        except Refused as exc:
            reasons += exc.reasons
            continue
        problem = content_problem(name, data)
        if problem:
            reasons.append(f"{name}: {problem}")
    if len(set(names)) < len(names):
        reasons.append("two files have the same name")
    after = set(draft.files()) | set(names)
    if len(after) > MAX_FILES:
        reasons.append(f"an event holds at most {MAX_FILES} documents ({len(after)} with these)")
    if reasons:
        raise Refused(reasons)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=draft.folder))
    try:
        for name, data in files:
            (staging / name).write_bytes(data)
        for name, _ in files:
            os.replace(staging / name, draft.folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return draft.files()


def review(draft: Draft) -> dict:
    """What the organiser reviews before the ingest: the people read from the speaker labels, the labels that name no
    one, the files and the manifest (the one saved, else a draft from the documents with the title, date and
    organiser typed at creation)."""
    from ingest.draft import draft as draft_manifest
    from ingest.draft import read_documents
    from ingest.people import label_people

    if not draft.files():
        raise EventKBError("Upload the event's documents first.")
    with tempfile.TemporaryDirectory() as tmp:  # read the documents alone, whatever manifest the folder holds
        scratch = Path(tmp) / draft.id
        scratch.mkdir()
        for name in draft.files():
            shutil.copy(draft.folder / name, scratch / name)
        docs, failures = read_documents(scratch)
        failures = [f.replace(str(scratch), draft.id) for f in failures]
        people = [{"name": f.person.name, "role": f.person.role, "turns": f.turns} for f in label_people([d for _, d in docs])]
        drafted = _typed_in(draft_manifest(scratch, docs), draft.typed()) if docs else ""
    saved = draft.folder / MANIFEST
    return {"id": draft.id, "files": draft.files(), "people": people, "failures": failures,
            "manifest": saved.read_text(encoding="utf-8") if saved.is_file() else drafted, "saved": saved.is_file()}


def _typed_in(manifest: str, typed: dict) -> str:
    """The drafted manifest with the title, date and organiser the organiser typed in place of what was guessed."""
    for key in ("title", "date", "organiser"):
        if typed.get(key):
            manifest = re.sub(rf"(?m)^{key} = .*$", f"{key} = {json.dumps(typed[key], ensure_ascii=False)}", manifest, count=1)
    return manifest


def save_manifest(draft: Draft, text: str) -> None:
    """Save the reviewed event.toml, once it parses and describes this event; else a clear error and nothing saved."""
    if len(text.encode("utf-8")) > 256 * 1024:
        raise EventKBError("The manifest is longer than 256 KB: shorten it.")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EventKBError(f"The manifest is not valid TOML ({exc}): correct it and save again.") from None
    if data.get("id", draft.id) != draft.id:
        raise EventKBError(f"The manifest's id must stay {draft.id!r}, the event's folder.")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / draft.id
        scratch.mkdir()
        (scratch / MANIFEST).write_text(text, encoding="utf-8")
        try:
            load_event(scratch)
        except LoadError as exc:
            raise EventKBError(str(exc).replace(str(scratch / MANIFEST), "The manifest") + ": correct it and save again.") from None
    staged = draft.folder / (MANIFEST + ".new")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, draft.folder / MANIFEST)


def ingest_draft(draft: Draft, home_for: Callable[[str], Path], embedder_name: str, load_embedder, progress=None):
    """Ingest the draft's folder into the event's own home (`home_for(id)`), saving the drafted manifest first when
    none was reviewed. An ingest that fails leaves no trace: a new event's home is removed again."""
    from ingest.pipeline import ingest

    if not (draft.folder / MANIFEST).is_file():
        save_manifest(draft, review(draft)["manifest"])
    target = home_for(draft.id)
    existed = target.exists()
    try:
        return ingest([draft.folder], target, embedder_name, load_embedder, log=lambda m: None, progress=progress)
    except BaseException:
        if not existed:
            shutil.rmtree(target, ignore_errors=True)
        raise
