"""Faults: an ingest killed at random points, a server killed mid-answer, a full disk, a damaged model file.

Each fault runs a real `eventkb` process and checks what is left; bounded in count and time.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from kb import audit, models
from kb.answer import Answerer
from kb.embedder import FakeEmbedder
from kb.energy import FakeMeter
from kb.generator import FakeGenerator, echo_first_source
from kb.knowledge import KnowledgeBase
from tests.conftest import EVENT, all_reports
from tests.test_browser import free_port

pytestmark = pytest.mark.e2e
QUERIES = ["Baby shark vues", "consommation électrique des data centres", "limites planétaires", "I-Care Espagne ChatGPT"]


def eventkb(*args: str, log: Path | None = None, embedder: str = "fake", **kwargs) -> subprocess.Popen:
    """A real eventkb process; a server logs to a file (a full pipe would stall it), the others to pipes."""
    command = [sys.executable, "-m", "eventkb.cli", *args]
    env = dict(os.environ, EVENTKB_EMBEDDER=embedder)
    if log is None:
        return subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    with open(log, "w") as handle:  # the child keeps its own descriptor
        return subprocess.Popen(command, env=env, text=True, stdout=subprocess.DEVNULL, stderr=handle, **kwargs)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    proc.communicate(timeout=30)
    if proc.stderr and not proc.stderr.closed:
        proc.stderr.close()


def snapshot(home: Path) -> list:
    """What the knowledge base answers: search results, and the answers of a deterministic model."""
    kb = KnowledgeBase.open(home, embedder=FakeEmbedder())
    try:
        answerer = Answerer(kb, FakeGenerator(echo_first_source), FakeMeter())
        return [([h.passage.id for h in kb.search(q, k=5)], answerer.ask(q)["answer"]) for q in QUERIES]
    finally:
        kb.close()


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "kb"
    ingest([EVENT], path, FakeEmbedder.name, FakeEmbedder, log=lambda m: None)
    return path


def test_an_ingest_killed_at_random_points_leaves_the_previous_base_answering_identically(home):
    before = snapshot(home)
    rng = random.Random(20240318)
    for delay in sorted(rng.uniform(0.3, 6.0) for _ in range(5)):
        proc = eventkb("ingest", str(EVENT), *map(str, all_reports()), "--kb", str(home))
        time.sleep(delay)
        if proc.poll() is not None:
            stop(proc)
            break  # finished before the kill: nothing left to interrupt
        stop(proc, signal.SIGKILL)
        assert snapshot(home) == before, f"killed after {delay:.1f} s"
    done = eventkb("ingest", str(EVENT), *map(str, all_reports()), "--kb", str(home))
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert len(KnowledgeBase.open(home, embedder=FakeEmbedder()).documents()) >= 5
    assert not list((home / "builds").glob(".tmp-*"))


def test_a_full_disk_during_ingest_gives_a_clear_error_and_keeps_the_previous_base(home):
    before = snapshot(home)

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    proc = eventkb("ingest", str(EVENT), *map(str, all_reports()), "--kb", str(home), preexec_fn=small_disk)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "disk" in lines[0] and "Traceback" not in err, err
    assert snapshot(home) == before


def start_server(home: Path, port: int) -> subprocess.Popen:
    proc = eventkb("serve", "--kb", str(home), "--port", str(port), "--model", "small", log=home.parent / f"server-{port}.log")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
        finally:
            conn.close()
        assert proc.poll() is None, (home.parent / f"server-{port}.log").read_text()
    stop(proc, signal.SIGKILL)
    pytest.fail("the server did not start")


def test_a_server_killed_mid_answer_leaves_a_consistent_audit_log_and_restarts(home):
    port = free_port()
    server = start_server(home, port)
    question = "Combien de vues compte la vidéo Baby shark sur YouTube ?"
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/api/ask/stream", body=json.dumps({"question": question}), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200
        seen = b""
        while b"event: retrieval" not in seen:
            seen += response.read1(256)
        response.close()
        conn.close()
    finally:
        stop(server, signal.SIGKILL)
    db = sqlite3.connect(home / audit.AUDIT_FILE)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT id FROM answers WHERE question = ?", (question,)).fetchall()
    for (answer_id,) in rows:  # if the answer was complete before the kill, it is whole
        assert db.execute("SELECT COUNT(*) FROM answer_passages WHERE answer_id = ? AND role = 'retrieved'", (answer_id,)).fetchone()[0] == 5
    db.close()
    server = start_server(home, port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("POST", "/api/ask", body=json.dumps({"question": question}), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["question"] == question
        conn.close()
    finally:
        stop(server)


def test_a_damaged_model_file_is_refused_at_start_up_in_one_sentence(home, tmp_path):
    small = models.generator_path("small-generator")
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(small.read_bytes()[: 1 << 20])
    proc = eventkb("serve", "--kb", str(home), "--port", str(free_port()), "--model", str(truncated))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip().count("\n") == 0 and err.startswith("error: llama.cpp could not load") and "GGUF" in err
