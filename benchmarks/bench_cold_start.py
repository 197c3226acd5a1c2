"""Cold start of the command line: process wall time of `eventkb search` and of `eventkb ask` to its first model token
and its first checked text, peak memory, and whether torch was imported, for each embedder and, for `ask`, with
llama.cpp's weight repacking on and off, side by side in one run.

Usage: .venv/bin/python benchmarks/bench_cold_start.py [--runs 5] [--ask-runs 4] [--embedders e5,minilm] [--event DIR]

Builds a knowledge base of the event (default: the bundled one) with each embedder first, then starts a fresh
process per run. Pages stay in the OS cache between runs: "cold" is a new process, not a cold disk. `ask` runs with
--no-cache on the event's example questions in turn, with a cache folder of its own emptied first: its first run
evaluates the system prompt and keeps it, the later ones read it back (reported apart).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402

# Runs the command under a tiny wrapper that reports, last on stderr, whether torch got imported, its own peak RSS and
# the wall-clock time of the model's first token (0 when none came).
WRAPPER = """import resource, runpy, sys, time
first = []
import kb.generator as generator
stream = generator.LlamaGenerator.stream
def timed(self, *args, **kwargs):
    for piece in stream(self, *args, **kwargs):
        first.append(first[0] if first else time.time())
        yield piece
generator.LlamaGenerator.stream = timed
sys.argv = ['eventkb', *sys.argv[1:]]; code = 0
try:
    runpy.run_module('eventkb', run_name='__main__')
except SystemExit as e:
    code = e.code or 0
print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
      first[0] if first else 0, file=sys.stderr)
sys.exit(code)
"""


def run(args: list[str], env: dict, first_line: bool = False) -> dict:
    """One process: wall seconds, seconds to its first model token and to its first line of output, whether it imported
    torch, its peak RSS (MB)."""
    started, epoch = time.perf_counter(), time.time()
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    shown = None
    if first_line:
        char = proc.stdout.read(1)  # `ask` prints its first checked sentence without a newline
        shown = time.perf_counter() - started if char else None
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(args)} failed: {err.strip().splitlines()[-2:]}")
    torch, peak_kb, token_at = err.splitlines()[-1].split()
    return {"wall": wall, "token": float(token_at) - epoch if float(token_at) else None, "shown": shown, "torch": torch == "TORCH",
            "rss": int(peak_kb) / 1024}


def median(rows: list[dict], key: str) -> str:
    values = [r[key] for r in rows if r[key] is not None]
    return f"{statistics.median(values):.2f}" if values else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ask-runs", type=int, default=4)
    parser.add_argument("--embedders", default="e5,minilm")
    parser.add_argument("--event", type=Path, default=BUNDLED_EVENT)
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "cold-start")
    args = parser.parse_args()
    manifest = tomllib.loads((args.event / "event.toml").read_text(encoding="utf-8")) if (args.event / "event.toml").is_file() else {}
    questions = manifest.get("examples") or ["What is this event about?"]
    print(f"{'embedder':8} {'command':7} {'repack':6} {'runs':>4} {'wall p50':>8} {'p90':>6} {'first token p50':>15} {'first text p50':>14} "
          f"{'peak RSS MB':>11} torch")
    for spec in args.embedders.split(","):
        home = args.work / spec
        ingest([args.event], home, embedder_name(spec), lambda: load_embedder(spec), log=lambda m: None)
        env = dict(os.environ, EVENTKB_EMBEDDER=spec, EVENTKB_HOME=str(home))
        searches = [run(["search", questions[0], "--k", "5"], env) for _ in range(args.runs)]
        report(spec, "search", "", searches)
        for repack in ("1", "0"):
            cache = args.work / f"cache-{spec}-{repack}"
            shutil.rmtree(cache, ignore_errors=True)
            asked = [run(["ask", "--no-cache", questions[n % len(questions)]], dict(env, EVENTKB_REPACK=repack, XDG_CACHE_HOME=str(cache)),
                         first_line=True) for n in range(args.ask_runs)]
            report(spec, "ask", repack, asked[:1], "first, no kept prefix")
            report(spec, "ask", repack, asked[1:])
    return 0


def report(spec: str, command: str, repack: str, rows: list[dict], note: str = "") -> None:
    if not rows:
        return
    walls = sorted(r["wall"] for r in rows)
    p90 = walls[min(len(walls) - 1, round(0.9 * (len(walls) - 1)))]
    print(f"{spec:8} {command:7} {repack:6} {len(rows):4} {statistics.median(walls):8.2f} {p90:6.2f} {median(rows, 'token'):>15} "
          f"{median(rows, 'shown'):>14} {max(r['rss'] for r in rows):11.0f} {'yes' if any(r['torch'] for r in rows) else 'no'}"
          + (f"  ({note})" if note else ""))


if __name__ == "__main__":
    sys.exit(main())
