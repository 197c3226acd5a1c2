"""Load: 30 questions from 10 concurrent clients against the real server with SmolLM2, searches running alongside.

Bounded in count and time, loopback only. Every request gets an answer or a clean 503; nothing is lost or mixed up.
"""
from __future__ import annotations

import http.client
import json
import sqlite3
import statistics
import threading
import time
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import pytest

from kb import audit
from tests.test_browser import free_port
from tests.test_faults import eventkb, stop
from ingest.pipeline import ingest
from kb.embedder import embedder_name, load_embedder
from tests.conftest import EVENT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
QUESTIONS = [
    "Combien de vues compte la vidéo Baby shark ?", "Qui a modéré le panel ?", "Combien de limites planétaires sont franchies ?",
    "How much electricity does a Google search use?", "Quelle croissance I-Care a-t-elle obtenue en Espagne ?",
    "What is techno-discernement?", "Combien de data centres dans le monde ?", "Who introduced the panel?",
    "Que propose Roald Sieberath ?", "Quel est le rôle de Jules Delcon ?",
]
CLIENTS, PER_CLIENT, DEADLINE_S = 10, 3, 600


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request(method, path, body=json.dumps(body) if body else None, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        conn.close()


def hammer(port: int, question: Callable[[int, int], str], clients: int, per_client: int, deadline_s: float) -> tuple[list, list]:
    """`clients` threads asking `per_client` questions each (`question(client, i)`) while another searches every 0.2 s:
    (question, status, headers, body) per request, and (status, seconds) per search."""
    results: list[tuple[str, int, dict, dict]] = []
    searches: list[tuple[int, float]] = []
    lock = threading.Lock()
    done = threading.Event()
    started = time.monotonic()

    def client(n: int) -> None:
        for i in range(per_client):
            if time.monotonic() - started > deadline_s:
                return
            asked = question(n, i)
            status, headers, body = request(port, "POST", "/api/ask", {"question": asked})
            with lock:
                results.append((asked, status, headers, body))

    def searcher() -> None:
        while not done.is_set() and time.monotonic() - started < deadline_s:
            t0 = time.perf_counter()
            status = request(port, "GET", "/api/search?q=" + quote("data centres électricité"))[0]
            searches.append((status, time.perf_counter() - t0))
            time.sleep(0.2)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    watcher = threading.Thread(target=searcher)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=deadline_s)
    done.set()
    watcher.join(timeout=30)
    return results, searches


def test_thirty_questions_from_ten_clients(tmp_path):
    home = tmp_path / "kb"
    ingest([EVENT], home, embedder_name("default"), lambda: load_embedder("default"), log=lambda m: None)
    port = free_port()
    server = eventkb("serve", "--kb", str(home), "--port", str(port), "--model", "small", log=tmp_path / "server.log", embedder="default")
    server_env_embedder = "default"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if request(port, "GET", "/api/health")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-2000:]
            time.sleep(0.5)
        request(port, "POST", "/api/ask", {"question": "Qui a modéré le panel ?"})  # warm up
        rss_before = rss_kb(server.pid)
        results, searches = hammer(port, lambda n, i: QUESTIONS[(n + i * 3) % len(QUESTIONS)] + f" ({n}-{i})", CLIENTS, PER_CLIENT, DEADLINE_S)
        rss_after = rss_kb(server.pid)
    finally:
        stop(server)

    assert len(results) == CLIENTS * PER_CLIENT
    answered = [(q, body) for q, status, headers, body in results if status == 200]
    for q, status, headers, body in results:
        assert status in (200, 503), (status, body)
        if status == 503:
            assert body["error"]["code"] == "busy" and int(headers["Retry-After"]) >= 1
    assert len(answered) >= CLIENTS  # the queue lets most through
    for question, record in answered:
        assert record["question"] == question  # no answer mixed up with another question
        retrieved = {p["id"] for p in record["retrieved"]}
        assert all(c["id"] in retrieved for c in record["citations"])
        assert record["energy"]["joules"] > 0
    db = sqlite3.connect(home / audit.AUDIT_FILE)
    stored = dict(db.execute("SELECT question, COUNT(*) FROM answers GROUP BY question").fetchall())
    for question, record in answered:
        assert stored.get(question) == 1  # exactly one audit and energy record per answer
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    assert searches and all(status == 200 for status, _ in searches)
    assert statistics.median(seconds for _, seconds in searches) < 1.0  # search is not stuck behind the model
    assert rss_after - rss_before < 400_000, (rss_before, rss_after)  # kB: memory stays bounded
    print(f"\nload: {len(answered)} answered, {len(results) - len(answered)} got 503; "
          f"search median {statistics.median(s for _, s in searches) * 1000:.0f} ms over {len(searches)}; "
          f"server RSS {rss_before // 1024} -> {rss_after // 1024} MB; {server_env_embedder} embedder")
