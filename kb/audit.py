"""The audit trail: every answer with the passages behind it, the model, tokens, timings and energy.

SQLite in the knowledge base home (it outlives rebuilds), versioned by small numbered migrations.
Each answer is written in one transaction once it is complete, so a crash never leaves half a record.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from kb.energy import cloud_total
from kb.errors import EventKBError, NotFound

AUDIT_FILE = "audit.sqlite3"

MIGRATIONS: list[str] = [
    # 1: answers and the passages each one retrieved and cited, with their text as it was.
    """
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        created TEXT NOT NULL,
        question TEXT NOT NULL,
        language TEXT NOT NULL,
        answer TEXT NOT NULL,
        abstained INTEGER NOT NULL,
        model_name TEXT NOT NULL,
        model_sha256 TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        total_ms REAL NOT NULL,
        energy_method TEXT NOT NULL,
        joules REAL NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE answer_passages (
        answer_id TEXT NOT NULL REFERENCES answers(id),
        role TEXT NOT NULL CHECK (role IN ('retrieved', 'cited')),
        n INTEGER NOT NULL,
        passage_id TEXT NOT NULL,
        document TEXT NOT NULL,
        page INTEGER,
        first_line INTEGER,
        last_line INTEGER,
        speaker TEXT,
        text TEXT NOT NULL,
        PRIMARY KEY (answer_id, role, n)
    );
    CREATE INDEX answers_created ON answers(created);
    """,
    # 2: the knowledge base build an answer came from, to tell answers of different builds apart.
    "ALTER TABLE answers ADD COLUMN build TEXT NOT NULL DEFAULT '';",
    # 3: answers whose client left before they were complete (their energy was spent all the same).
    "ALTER TABLE answers ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;",
    # 4: the answer cache: the key of the question, build, model and settings an answer was made for, and for an
    # answer served from the cache, the id of the answer it repeats.
    """
    ALTER TABLE answers ADD COLUMN cache_key TEXT NOT NULL DEFAULT '';
    ALTER TABLE answers ADD COLUMN cached_from TEXT NOT NULL DEFAULT '';
    CREATE INDEX answers_cache_key ON answers(cache_key);
    """,
    # 5: readers' feedback on an answer: thumbs up or down and an optional comment, any number per answer.
    """
    CREATE TABLE feedback (
        answer_id TEXT NOT NULL REFERENCES answers(id),
        created TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
        comment TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX feedback_answer ON feedback(answer_id);
    """,
    # 6: conversations: the id of a conversation's first answer on each of its answers, and the question as searched
    # (a follow-up made standalone) beside the question as typed.
    """
    ALTER TABLE answers ADD COLUMN conversation TEXT NOT NULL DEFAULT '';
    ALTER TABLE answers ADD COLUMN searched TEXT NOT NULL DEFAULT '';
    CREATE INDEX answers_conversation ON answers(conversation);
    """,
]

RATINGS = {"up": 1, "down": -1}
IN_CONVERSATION = "conversation = ? OR (id = ? AND conversation = '')"  # answers stored before migration 6 start their own
EXPORT_FIELDS = ("id", "created", "question", "language", "answer", "abstained", "cancelled", "cached_from", "model",
                 "build", "prompt_tokens", "completion_tokens", "total_ms", "energy_method", "wh", "gco2e", "citations",
                 "feedback_up", "feedback_down", "conversation", "searched")  # new columns go last, for scripts that read by position


def connect(home: Path) -> sqlite3.Connection:
    """Open (creating and migrating as needed) the audit database of a knowledge base home."""
    home.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(home / AUDIT_FILE, timeout=30, check_same_thread=False)
        with _migration_lock(home):  # several web workers start at once: one migrates, the others then see it done
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            migrate(conn)
    except sqlite3.DatabaseError as exc:
        raise EventKBError(f"The audit log {home / AUDIT_FILE} cannot be opened ({exc}): move it aside to start a new one.") from None
    return conn


@contextlib.contextmanager
def _migration_lock(home: Path) -> Iterator[None]:
    """An exclusive lock across processes on the audit log's schema, held while it is checked and migrated."""
    try:
        import fcntl
    except ImportError:  # not POSIX: one process (gunicorn's workers need POSIX anyway)
        yield
        return
    with open(home / (AUDIT_FILE + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations the database has not seen yet, each in its own transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise EventKBError(f"The audit log was written by a newer eventkb (schema {version}): update eventkb.")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")


def _passage_rows(answer_id: str, role: str, items: list[dict]) -> list[tuple]:
    rows = []
    for item in items:
        lines = item.get("lines") or [None, None]
        rows.append((answer_id, role, item["n"], item["id"], item["document"], item.get("page"), lines[0], lines[1], item.get("speaker"), item["text"]))
    return rows


def save(conn: sqlite3.Connection, record: dict, retrieved: list[dict]) -> None:
    """Store one complete answer record and its passages in one transaction."""
    energy = record["energy"]
    with conn:
        conn.execute(
            "INSERT INTO answers (id, created, question, language, answer, abstained, model_name, model_sha256, prompt_tokens, "
            "completion_tokens, total_ms, energy_method, joules, record, build, cancelled, cache_key, cached_from, conversation, searched) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (record["id"], record["created"], record["question"], record["language"], record["answer"], int(record["abstained"]),
             record["model"]["name"], record["model"]["sha256"], record["tokens"]["prompt"], record["tokens"]["completion"],
             record["timings"]["total_ms"], energy["method"], energy["joules"], json.dumps(record, ensure_ascii=False), record.get("build", ""),
             int(record.get("cancelled", False)), record.get("cache_key", ""), record.get("cached_from") or "",
             record.get("conversation") or record["id"], record.get("searched") or record["question"]),
        )
        conn.executemany("INSERT INTO answer_passages VALUES (?,?,?,?,?,?,?,?,?,?)",
                         _passage_rows(record["id"], "retrieved", retrieved) + _passage_rows(record["id"], "cited", record["citations"]))


def get(conn: sqlite3.Connection, answer_id: str) -> dict:
    """One stored answer: its record plus the passages it retrieved, as stored."""
    row = conn.execute("SELECT record FROM answers WHERE id = ?", (answer_id,)).fetchone()
    if row is None:
        raise NotFound(f"No answer {answer_id!r} in the audit log: `eventkb audit` lists them.")
    record = json.loads(row[0])
    record["feedback"] = feedback(conn, answer_id)
    record["retrieved"] = [
        {"n": n, "id": pid, "document": doc, "page": page, "lines": [a, b] if a is not None else None, "speaker": speaker, "text": text}
        for n, pid, doc, page, a, b, speaker, text in conn.execute(
            "SELECT n, passage_id, document, page, first_line, last_line, speaker, text FROM answer_passages "
            "WHERE answer_id = ? AND role = 'retrieved' ORDER BY n", (answer_id,))
    ]
    return record


def add_feedback(conn: sqlite3.Connection, answer_id: str, rating: str, comment: str = "") -> dict:
    """Store a reader's rating ("up" or "down") and comment on a stored answer; the answer's feedback so far."""
    if rating not in RATINGS:
        raise EventKBError(f"The rating must be one of {', '.join(RATINGS)}.")
    if conn.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
        raise NotFound(f"No answer {answer_id!r} in the audit log: `eventkb audit` lists them.")
    created = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    with conn:
        conn.execute("INSERT INTO feedback VALUES (?,?,?,?)", (answer_id, created, RATINGS[rating], comment.strip()))
    return feedback(conn, answer_id)


def feedback(conn: sqlite3.Connection, answer_id: str) -> dict:
    """The counts of ratings of one answer and its comments, oldest first."""
    rows = conn.execute("SELECT created, rating, comment FROM feedback WHERE answer_id = ? ORDER BY created", (answer_id,)).fetchall()
    return {"up": sum(r == 1 for _, r, _ in rows), "down": sum(r == -1 for _, r, _ in rows),
            "comments": [{"created": c, "rating": "up" if r == 1 else "down", "comment": text} for c, r, text in rows if text]}


def export(conn: sqlite3.Connection) -> list[dict]:
    """Every stored answer as one flat row (EXPORT_FIELDS), oldest first, for CSV and JSON export."""
    counts = {a: (up, down) for a, up, down in conn.execute(
        "SELECT answer_id, SUM(rating = 1), SUM(rating = -1) FROM feedback GROUP BY answer_id")}
    rows = []
    for answer_id, record, cached_from in conn.execute("SELECT id, record, cached_from FROM answers ORDER BY created, id"):
        r = json.loads(record)
        up, down = counts.get(answer_id, (0, 0))
        rows.append({"id": answer_id, "created": r["created"], "conversation": r.get("conversation") or answer_id, "question": r["question"],
                     "searched": r.get("searched") or r["question"], "language": r["language"],
                     "answer": r["answer"], "abstained": r["abstained"], "cancelled": r.get("cancelled", False),
                     "cached_from": cached_from or "", "model": r["model"]["name"], "build": r.get("build", ""),
                     "prompt_tokens": r["tokens"]["prompt"], "completion_tokens": r["tokens"]["completion"],
                     "total_ms": r["timings"]["total_ms"], "energy_method": r["energy"]["method"], "wh": r["energy"]["wh"],
                     "gco2e": r["energy"].get("gco2e"), "citations": " ".join(f"[{c['n']}] {c['id']}" for c in r["citations"]),
                     "feedback_up": up, "feedback_down": down})
    return rows


def to_csv(rows: list[dict]) -> str:
    """The export rows as CSV, with a header line; a cell that a spreadsheet would run as a formula starts with '."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v) for k, v in row.items()})
    return out.getvalue()


def cached(conn: sqlite3.Connection, key: str) -> dict | None:
    """The newest complete answer made (not itself served from the cache) for `key`, with its passages; else None."""
    row = conn.execute("SELECT id FROM answers WHERE cache_key = ? AND cached_from = '' AND cancelled = 0 "
                       "ORDER BY created DESC, id DESC LIMIT 1", (key,)).fetchone() if key else None
    return get(conn, row[0]) if row else None


def conversation(conn: sqlite3.Connection, conversation_id: str) -> list[dict]:
    """The records of one conversation's answers, oldest first; NotFound when no answer starts or belongs to it."""
    rows = conn.execute(f"SELECT record FROM answers WHERE {IN_CONVERSATION} ORDER BY created, id", (conversation_id, conversation_id)).fetchall()
    if not rows:
        raise NotFound(f"No conversation {conversation_id!r} in the audit log: start a new conversation.")
    return [json.loads(r[0]) for r in rows]


def conversation_energy(conn: sqlite3.Connection, conversation_id: str) -> dict:
    """A conversation's running total: its answers, the energy they used (Wh, with the range) and what the same
    questions would have taken as ChatGPT requests."""
    energies = [r["energy"] for r in conversation(conn, conversation_id)]
    return {"conversation": conversation_id, **cloud_total(len(energies), sum(e["wh"] for e in energies)),
            "wh_low": round(sum(e["wh_low"] for e in energies), 6), "wh_high": round(sum(e["wh_high"] for e in energies), 6)}


def conversations(conn: sqlite3.Connection, limit: int = 20) -> list[dict]:
    """The latest conversations, newest first: their first question, number of answers, the energy they used and what
    ChatGPT requests would have taken."""
    rows = conn.execute(
        "SELECT CASE WHEN conversation = '' THEN id ELSE conversation END AS c, MIN(created), MAX(created), COUNT(*), SUM(joules) "
        "FROM answers GROUP BY c ORDER BY MAX(created) DESC LIMIT ?", (limit,)).fetchall()
    out = []
    for conversation_id, started, last, answers, joules in rows:
        first = conn.execute("SELECT question FROM answers WHERE id = ?", (conversation_id,)).fetchone()
        out.append({"conversation": conversation_id, "started": started, "last": last, "first_question": first[0] if first else "",
                    **cloud_total(answers, (joules or 0.0) / 3600.0)})
    return out


def listing(conn: sqlite3.Connection, limit: int = 100, offset: int = 0) -> list[dict]:
    """The stored answers, newest first, in brief."""
    rows = conn.execute(
        "SELECT id, created, question, language, abstained, model_name, total_ms, energy_method, joules, cancelled, cached_from, "
        "conversation, searched FROM answers ORDER BY created DESC, id DESC LIMIT ? OFFSET ?", (limit, offset))
    return [{"id": r[0], "created": r[1], "question": r[2], "language": r[3], "abstained": bool(r[4]), "model": r[5],
             "total_ms": r[6], "energy_method": r[7], "wh": round(r[8] / 3600.0, 6), "cancelled": bool(r[9]),
             "cached_from": r[10] or None, "conversation": r[11] or r[0], "searched": r[12] or r[2]} for r in rows]


def energy_summary(conn: sqlite3.Connection) -> list[dict]:
    """Totals and averages of energy per method, answers served from the cache counted apart."""
    rows = conn.execute(
        "SELECT energy_method, cached_from != '' AS cached, COUNT(*), SUM(joules), AVG(joules), SUM(completion_tokens) FROM answers "
        "GROUP BY energy_method, cached ORDER BY energy_method, cached")
    return [{"method": m, "cached": bool(c), "answers": n, "total_wh": round(total / 3600.0, 6), "mean_wh": round(mean / 3600.0, 6),
             "completion_tokens": tokens or 0} for m, c, n, total, mean, tokens in rows]


def all_energy(conn: sqlite3.Connection) -> list[dict]:
    """Per answer, oldest first: id, time, method, Wh and its range (for charts)."""
    out = []
    for answer_id, created, record, cached_from in conn.execute("SELECT id, created, record, cached_from FROM answers ORDER BY created, id"):
        energy = json.loads(record)["energy"]
        out.append({"id": answer_id, "created": created, "method": energy["method"], "wh": energy["wh"], "wh_low": energy["wh_low"],
                    "wh_high": energy["wh_high"], "cached": bool(cached_from)})
    return out
