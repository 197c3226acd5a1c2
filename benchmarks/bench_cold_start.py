"""Cold start of the command line: process wall time of `eventkb search` and of `eventkb ask` to its first checked
text, peak memory, and whether torch was imported, for each embedder, side by side in one run.

Usage: .venv/bin/python benchmarks/bench_cold_start.py [--runs 5] [--ask-runs 2] [--event DIR]

Builds a knowledge base of the event (default: the bundled one) with each embedder first, then starts a fresh
process per run. Pages stay in the OS cache between runs: "cold" is a new process, not a cold disk.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402

EVENTKB = [sys.executable, "-m", "eventkb"]
# Runs the command under a tiny wrapper that reports, last on stderr, whether torch got imported and its own peak RSS.
WRAPPER = "import resource, runpy, sys; sys.argv = ['eventkb', *sys.argv[1:]]; code = 0\n" \
          "try:\n    runpy.run_module('eventkb', run_name='__main__')\nexcept SystemExit as e:\n    code = e.code or 0\n" \
          "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, " \
          "file=sys.stderr); sys.exit(code)"


def run(args: list[str], env: dict, first_line: bool = False) -> tuple[float, float | None, bool, float]:
    """Wall seconds of one process, seconds to its first line of output, whether it imported torch, its peak RSS (MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = None
    if first_line:
        char = proc.stdout.read(1)  # `ask` prints its first checked sentence without a newline
        first = time.perf_counter() - started if char else None
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(args)} failed: {err.strip().splitlines()[-2:]}")
    torch, peak_kb = err.splitlines()[-1].split()
    return wall, first, torch == "TORCH", int(peak_kb) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ask-runs", type=int, default=2)
    parser.add_argument("--event", type=Path, default=BUNDLED_EVENT)
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "cold-start")
    args = parser.parse_args()
    question = "Combien de vues compte la vidéo Baby shark ?"
    print(f"{'embedder':8} {'command':7} {'p50 s':>6} {'p90 s':>6} {'first text p50 s':>16} {'peak RSS MB':>11} torch")
    for spec in ("e5", "minilm"):
        home = args.work / spec
        ingest([args.event], home, embedder_name(spec), lambda: load_embedder(spec), log=lambda m: None)
        env = dict(os.environ, EVENTKB_EMBEDDER=spec, EVENTKB_HOME=str(home))
        for command, runs, extra in (("search", args.runs, ["search", question, "--k", "5"]), ("ask", args.ask_runs, ["ask", question])):
            results = [run(extra, env, first_line=command == "ask") for _ in range(runs)]
            walls = sorted(r[0] for r in results)
            firsts = [r[1] for r in results if r[1] is not None]
            p90 = walls[min(len(walls) - 1, round(0.9 * (len(walls) - 1)))]
            first = f"{statistics.median(firsts):16.2f}" if command == "ask" and firsts else f"{'-':>16}"
            print(f"{spec:8} {command:7} {statistics.median(walls):6.2f} {p90:6.2f} {first} {max(r[3] for r in results):11.0f} "
                  f"{'yes' if any(r[2] for r in results) else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
