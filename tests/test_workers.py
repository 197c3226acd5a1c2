"""Several web workers: `eventkb serve --workers 4` under gunicorn against one llama.cpp server with the small model,
50 concurrent clients asking 150 questions while searches run alongside. Bounded in count and time, loopback only:
every request gets an answer or a clean 503, exactly one audit record per answer, whichever worker wrote it."""
from __future__ import annotations

import sqlite3
import statistics
import time

import pytest

from kb import audit
from tests.fake_server import free_port, wait_until_up
from tests.test_e2e_remote import start_llama_server
from tests.test_faults import eventkb, stop
from tests.test_load import QUESTIONS, hammer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
WORKERS, CLIENTS, PER_CLIENT, DEADLINE_S = 4, 50, 3, 480


def test_four_workers_and_one_model_server_take_150_questions_from_50_clients(event_home, tmp_path):
    import shutil

    home = tmp_path / "kb"
    shutil.copytree(event_home, home)
    url, model_server = start_llama_server(tmp_path)
    port = free_port()
    server = eventkb("serve", "--kb", str(home), "--port", str(port), "--workers", str(WORKERS), "--backend", url, log=tmp_path / "server.log")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api/health", server, tmp_path / "server.log")
        started = time.monotonic()
        results, searches = hammer(port, lambda n, i: QUESTIONS[(n + i) % len(QUESTIONS)] + f" ({n}-{i})", CLIENTS, PER_CLIENT, DEADLINE_S)
        elapsed = time.monotonic() - started
    finally:
        stop(server)
        model_server.kill()
        model_server.wait(timeout=20)

    assert len(results) == CLIENTS * PER_CLIENT
    answered = [(q, body) for q, status, _, body in results if status == 200]
    for _, status, headers, body in results:
        assert status in (200, 503), (status, body)
        if status == 503:
            assert body["error"]["code"] in ("busy", "model_unavailable") and int(headers["Retry-After"]) >= 1
    assert len(answered) >= WORKERS * 2
    for question, record in answered:
        assert record["question"] == question and record["model"]["backend"] == "openai-compatible"
    db = sqlite3.connect(home / audit.AUDIT_FILE)
    stored = dict(db.execute("SELECT question, COUNT(*) FROM answers GROUP BY question").fetchall())
    assert all(stored.get(question) == 1 for question, _ in answered)  # exactly one record per answer, four writers
    assert sum(stored.get(q, 0) for q, *_ in results) == len(answered)  # and none for a refused question
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    assert searches and all(status == 200 for status, _ in searches)
    median = statistics.median(seconds for _, seconds in searches)
    print(f"\nworkers: {WORKERS} workers, {len(answered)} answered, {len(results) - len(answered)} got 503 in {elapsed:.0f} s; "
          f"search median {median * 1000:.0f} ms over {len(searches)}")
    assert median < 2.0  # search is not stuck behind the model
