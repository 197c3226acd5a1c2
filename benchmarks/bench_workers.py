"""Throughput and latency of the web app with 1, 2 and 4 gunicorn workers against one llama.cpp server, side by side
in one run, with the single waitress process (workers = 1 is waitress) as the reference.

Usage: .venv/bin/python benchmarks/bench_workers.py [--model small|default] [--clients 20] [--questions 40]
Starts `python -m llama_cpp.server` with the model on loopback, then for each worker count `eventkb serve --backend`
on a copy of a knowledge base of the bundled event, asks the questions from the clients at once, and prints answers
per second, median and p90 latency (a refused question is asked again half a second later and its latency runs
from the first try), the 503s, and the median of searches run alongside. Bounded: about 2 minutes with the
small model on 2 cores.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
from kb import models  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402

QUESTIONS = ["Combien de vues compte la vidéo Baby shark ?", "How much electricity does a Google search use?",
             "Qui a modéré le panel ?", "What is techno-discernement?", "Combien de data centres dans le monde ?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: dict | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request(method, path, body=json.dumps(body) if body else None, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wait(url_port: int, path: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if request(url_port, "GET", path) == 200:
                return
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            break
    sys.exit(f"error: a server did not start (port {url_port}).")


def run(home: Path, backend: str, workers: int, clients: int, questions: int) -> dict:
    port = free_port()
    env = dict(os.environ, EVENTKB_EMBEDDER="default")
    server = subprocess.Popen([sys.executable, "-m", "eventkb.cli", "serve", "--kb", str(home), "--port", str(port), "--workers", str(workers),
                               "--backend", backend], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(port, "/api/health", server)
        latencies: list[float] = []
        refused = 0
        searches: list[float] = []
        lock = threading.Lock()
        done = threading.Event()
        todo = list(range(questions))

        def client() -> None:
            nonlocal refused
            while True:
                with lock:
                    if not todo:
                        return
                    n = todo.pop()
                t0 = time.perf_counter()
                while request(port, "POST", "/api/ask", {"question": f"{QUESTIONS[n % len(QUESTIONS)]} ({workers}-{n})"}) != 200:
                    with lock:
                        refused += 1  # a full queue: asked again half a second later, as a patient client would
                    time.sleep(0.5)
                with lock:
                    latencies.append(time.perf_counter() - t0)

        def searcher() -> None:
            while not done.is_set():
                t0 = time.perf_counter()
                request(port, "GET", "/api/search?q=" + quote("data centres électricité"))
                searches.append(time.perf_counter() - t0)
                time.sleep(0.2)

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        watcher = threading.Thread(target=searcher)
        watcher.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        done.set()
        watcher.join()
    finally:
        server.terminate()
        server.wait(timeout=60)
    ordered = sorted(latencies)
    return {"workers": workers, "answered": len(latencies), "refused": refused, "seconds": round(elapsed, 1),
            "answers_per_s": round(len(latencies) / elapsed, 3), "p50_s": round(statistics.median(ordered), 2) if ordered else None,
            "p90_s": round(ordered[int(0.9 * (len(ordered) - 1))], 2) if ordered else None,
            "search_p50_ms": round(1000 * statistics.median(searches), 1) if searches else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="small", choices=sorted(models.GENERATOR_ROLES))
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    try:
        home = work / "kb"
        ingest([BUNDLED_EVENT], home, embedder_name("default"), lambda: load_embedder("default"), log=lambda m: None)
        model = models.generator_path(models.GENERATOR_ROLES[args.model])
        port = free_port()
        llama = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
                                  "--n_ctx", "2048"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait(port, "/v1/models", llama)
            rows = []
            for workers in (int(w) for w in args.workers.split(",")):
                copy = work / f"kb-{workers}"
                shutil.copytree(home, copy)
                rows.append(run(copy, f"http://127.0.0.1:{port}/v1", workers, args.clients, args.questions))
        finally:
            llama.terminate()
            llama.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = rows[0]["answers_per_s"] or 1e-9
    print(f"model server: llama_cpp.server, {args.model} model; {args.clients} clients, {args.questions} questions per run")
    print(f"{'workers':>7} {'answered':>8} {'503':>4} {'s':>6} {'answers/s':>9} {'ratio':>5} {'p50 s':>6} {'p90 s':>6} {'search p50 ms':>13}")
    for r in rows:
        print(f"{r['workers']:>7} {r['answered']:>8} {r['refused']:>4} {r['seconds']:>6} {r['answers_per_s']:>9} {r['answers_per_s'] / base:>5.2f} "
              f"{r['p50_s']!s:>6} {r['p90_s']!s:>6} {r['search_p50_ms']!s:>13}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
