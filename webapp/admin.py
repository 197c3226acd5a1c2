"""Organisers add an event from the browser, behind the admin token: create it, upload its documents, review the
people found and the manifest, ingest it with its progress, see the outcome. The work is done by `ingest.upload`."""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from ingest import upload
from kb import series, store
from kb.errors import EventKBError
from webapp import api
from webapp.api import ApiError, require_admin

bp = Blueprint("admin", __name__)


JOB_FILE = ".ingest.json"  # in the event's upload folder, so that every web worker process sees the same ingest


@dataclass
class Job:
    """One ingest started from the browser: where it is, and how it ended; kept in a file beside the uploads."""

    path: Path
    state: str = "running"  # then "done" or "failed"
    stage: str = "read"
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)
    pid: int = field(default_factory=os.getpid)
    outcome: dict | None = None
    error: str | None = None
    _saved: float = 0.0

    def to_json(self) -> dict:
        return {"state": self.state, "stage": self.stage, "done": self.done, "total": self.total, "outcome": self.outcome, "error": self.error,
                "seconds": round(time.time() - self.started, 1)}

    def save(self, every_s: float = 0.0) -> None:
        """Write the job's state (at most every `every_s` seconds), whole or not at all."""
        if every_s and time.monotonic() - self._saved < every_s:
            return
        self._saved = time.monotonic()
        staged = self.path.with_suffix(f".{self.pid}.tmp")
        staged.write_text(json.dumps({**self.to_json(), "started": self.started, "pid": self.pid}, ensure_ascii=False), encoding="utf-8")
        os.replace(staged, self.path)

    @classmethod
    def load(cls, path: Path) -> "Job | None":
        """The job kept at `path`; one whose process is gone while it ran counts as failed."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        job = cls(path, data["state"], data["stage"], data["done"], data["total"], data["started"], data["pid"], data["outcome"], data["error"])
        if job.state == "running" and not _alive(job.pid):
            job.state, job.error = "failed", "The server stopped during the ingest; nothing was changed: start it again."
        return job


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_starting = threading.Lock()


def _engines():
    return current_app.extensions["eventkb"]


@bp.get("/admin")
def admin_page() -> str:
    return render_template("admin.html", admin_on=bool(current_app.config.get("ADMIN_TOKEN")), limits={"files": upload.MAX_FILES, "file_mb": upload.MAX_FILE_BYTES // (1024 * 1024),
                                                 "upload_mb": upload.MAX_UPLOAD_BYTES // (1024 * 1024), "types": ", ".join(upload.ALLOWED)})


@bp.post("/api/admin/events")
def create_event() -> Response:
    """{"title", "date", "organiser"} → {"id"}: a new event, empty until its documents are uploaded."""
    require_admin()
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict) or not all(isinstance(body.get(k, ""), str) for k in ("title", "date", "organiser")):
        raise ApiError(400, "bad_request", 'The body must be a JSON object {"title": "...", "date": "YYYY-MM-DD", "organiser": "..."}.')
    home = _engines().home
    try:
        draft = upload.create(home, body.get("title", ""), body.get("date", ""), body.get("organiser", ""), [e.id for e in series.events(home)])
    except upload.Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return jsonify({"id": draft.id, "files": []}), 201


@bp.get("/api/admin/events")
def list_drafts() -> Response:
    """The events added from the browser: id, what was typed, files, whether the manifest was saved, whether it is served."""
    require_admin()
    home = _engines().home
    served = {e.id for e in series.events(home)}
    return jsonify({"events": [{"id": d.id, **d.typed(), "files": d.files(), "saved": (d.folder / upload.MANIFEST).is_file(), "served": d.id in served}
                               for d in upload.drafts(home)]})


@bp.delete("/api/admin/events/<event_id>")
def discard(event_id: str) -> Response:
    """Delete an event being added, and its files (an event already served is removed with `eventkb remove`)."""
    require_admin()
    home = _engines().home
    try:
        upload.discard(upload.find(home, event_id), [e.id for e in series.events(home)])
    except upload.Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return jsonify({"id": event_id, "discarded": True})


@bp.post("/api/admin/events/<event_id>/files")
def upload_files(event_id: str) -> Response:
    """Multipart files (field "files"), kept all together or, when one is refused, none: {"files"} or the reasons."""
    require_admin()
    size = request.content_length
    if size is None or size > upload.MAX_UPLOAD_BYTES:
        shown = f"{size / 1e6:.0f} MB" if size else "of unknown size"
        raise ApiError(413, "too_large", f"The upload is {shown}; the limit is {upload.MAX_UPLOAD_BYTES // (1024 * 1024)} MB an upload and "
                                         f"{upload.MAX_FILE_BYTES // (1024 * 1024)} MB a file: upload fewer or smaller files.")
    draft = upload.find(_engines().home, event_id)
    request.max_content_length = upload.MAX_UPLOAD_BYTES
    request.max_form_parts = 2 * upload.MAX_FILES + 10
    given = request.files.getlist("files")
    if len(given) > upload.MAX_FILES:
        raise ApiError(400, "too_many_files", f"{len(given)} files: an event holds at most {upload.MAX_FILES} documents.")
    try:
        files = upload.add_files(draft, [(f.filename or "", f.read(upload.MAX_FILE_BYTES + 1)) for f in given])
    except upload.Refused as exc:
        return jsonify({"error": {"status": 422, "code": "refused", "message": str(exc), "reasons": exc.reasons}}), 422
    return jsonify({"id": draft.id, "files": files})


@bp.get("/api/admin/events/<event_id>/review")
def review(event_id: str) -> Response:
    """The people read from the documents, the files, the manifest to review (drafted, or as saved)."""
    require_admin()
    return jsonify(upload.review(upload.find(_engines().home, event_id)))


@bp.put("/api/admin/events/<event_id>/manifest")
def save_manifest(event_id: str) -> Response:
    """{"manifest": "…toml…"}: the reviewed event.toml, saved once it parses and describes this event."""
    require_admin()
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict) or not isinstance(body.get("manifest"), str):
        raise ApiError(400, "bad_request", 'The body must be a JSON object {"manifest": "the event.toml text"}.')
    draft = upload.find(_engines().home, event_id)
    upload.save_manifest(draft, body["manifest"])
    return jsonify({"id": draft.id, "saved": True})


@bp.post("/api/admin/events/<event_id>/ingest")
def start_ingest(event_id: str) -> Response:
    """Start the event's ingest in the background (202); GET on the same URL tells its progress and outcome."""
    require_admin()
    e = _engines()
    draft = upload.find(e.home, event_id)
    with _starting:
        before = Job.load(draft.folder / JOB_FILE)
        if before is not None and before.state == "running":
            raise ApiError(409, "conflict", "This event's ingest is already running: wait for it to finish.")
        job = Job(draft.folder / JOB_FILE)
        job.save()
    threading.Thread(target=_run, args=(e, draft, job), name=f"ingest-{event_id}", daemon=True).start()
    return jsonify(job.to_json()), 202


@bp.get("/api/admin/events/<event_id>/ingest")
def ingest_progress(event_id: str) -> Response:
    require_admin()
    job = Job.load(upload.find(_engines().home, event_id).folder / JOB_FILE)
    if job is None:
        raise ApiError(404, "not_found", "No ingest of this event was started: start it first.")
    return jsonify(job.to_json())


def _run(engines, draft: upload.Draft, job: Job) -> None:
    """The ingest itself, in its own thread: progress into `job`, then the outcome or the one sentence of its failure."""
    from kb.embedder import embedder_name

    def progress(stage: str, done: int, total: int) -> None:
        job.stage, job.done, job.total = stage, done, total
        job.save(every_s=0.5)

    try:
        result = upload.ingest_draft(draft, lambda event_id: series.home_for_ingest(engines.home, event_id), embedder_name(engines.embedder_spec),
                                     lambda: engines.embedder, progress)
        home = series.event_home(engines.home, draft.id)
        conn = store.open_readonly(store.current_build(home) / store.DB_FILE)
        try:
            people = store.people(conn)
        finally:
            conn.close()
        job.outcome = {"event": draft.id, "status": result.status, "documents": result.documents, "passages": result.passages,
                       "people": [{"name": p["name"], "passages": p["passages"]} for p in people],
                       "empty_pages": result.empty_pages, "refused": [api.public(EventKBError(f)) for f in result.failures]}
        job.state = "done"
        job.save()
    except EventKBError as exc:
        job.error, job.state = api.public(exc), "failed"
        job.save()
    except Exception:  # the log keeps the details; the organiser gets one sentence
        import logging

        logging.getLogger(__name__).exception("ingest from the browser failed")
        job.error, job.state = "The ingest failed on the server; nothing was changed. The error was logged: try again.", "failed"
        job.save()
