"""The audit log: migrations, atomic records, listing and energy totals."""
from __future__ import annotations

import sqlite3

import pytest

from kb import audit
from kb.errors import EventKBError


def record(answer_id: str, joules: float = 36.0, method: str = "estimate-cpu-time") -> dict:
    return {
        "id": answer_id, "created": f"2026-11-29T10:00:0{answer_id[-1]}", "question": "Q ?", "language": "fr", "answer": "A [1].",
        "abstained": False, "model": {"name": "m", "file": "m.gguf", "sha256": "ab" * 32}, "tokens": {"prompt": 100, "completion": 10},
        "timings": {"total_ms": 1000.0}, "energy": {"method": method, "joules": joules, "wh": joules / 3600, "wh_low": 0.0, "wh_high": 1.0},
        "citations": [{"n": 1, "id": "p1", "document": "d", "page": None, "lines": [1, 2], "speaker": None, "text": "cited text"}],
        "build": "b1",
    }


RETRIEVED = [{"n": 1, "id": "p1", "document": "d", "page": None, "lines": [1, 2], "speaker": None, "text": "cited text"},
             {"n": 2, "id": "p2", "document": "d", "page": 3, "lines": None, "speaker": "X", "text": "other"}]


def test_migrations_run_once_and_upgrade_an_old_log(tmp_path):
    conn = sqlite3.connect(tmp_path / audit.AUDIT_FILE)
    conn.executescript(audit.MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.close()
    conn = audit.connect(tmp_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(audit.MIGRATIONS)
    assert "build" in [row[1] for row in conn.execute("PRAGMA table_info(answers)")]
    conn.close()
    audit.connect(tmp_path).close()  # idempotent


def test_a_log_from_a_newer_version_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / audit.AUDIT_FILE)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(EventKBError, match="newer eventkb"):
        audit.connect(tmp_path)


def test_save_get_list_and_energy(tmp_path):
    conn = audit.connect(tmp_path)
    audit.save(conn, record("a1"), RETRIEVED)
    audit.save(conn, record("a2", 72.0), RETRIEVED)
    audit.save(conn, record("a3", 3.6, "measured-rapl"), RETRIEVED)
    got = audit.get(conn, "a1")
    assert got["answer"] == "A [1]." and [p["id"] for p in got["retrieved"]] == ["p1", "p2"] and got["retrieved"][1]["lines"] is None
    assert [r["id"] for r in audit.listing(conn)] == ["a3", "a2", "a1"]
    summary = {m["method"]: m for m in audit.energy_summary(conn)}
    assert summary["estimate-cpu-time"]["answers"] == 2 and summary["estimate-cpu-time"]["total_wh"] == pytest.approx(0.03)
    assert summary["measured-rapl"]["mean_wh"] == pytest.approx(0.001)
    assert len(audit.all_energy(conn)) == 3
    with pytest.raises(EventKBError, match="No answer"):
        audit.get(conn, "nope")


def test_a_failed_save_leaves_no_half_record(tmp_path):
    conn = audit.connect(tmp_path)
    bad = record("a1")
    bad["citations"][0]["text"] = None  # violates NOT NULL after the answer row went in
    with pytest.raises(sqlite3.IntegrityError):
        audit.save(conn, bad, RETRIEVED)
    assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM answer_passages").fetchone()[0] == 0


def test_processes_opening_a_new_audit_log_at_once_migrate_it_once(tmp_path):
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(6) as pool:
        pool.map(_open_and_close, [tmp_path] * 12)
    conn = audit.connect(tmp_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(audit.MIGRATIONS)
    conn.close()


def _open_and_close(home):
    audit.connect(home).close()
