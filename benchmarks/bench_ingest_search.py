"""Print ingest and search speed on this machine: the bundled event plus the four reports.

Usage: .venv/bin/python benchmarks/bench_ingest_search.py [--reports DIR] [--repeat N]
Figures: model load, ingest after model load (by stage), unchanged re-ingest, and warm search
latency (median and 90th percentile) per mode over the evaluation questions.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.evaluate import load_set  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the questions for search timing")
    args = parser.parse_args()
    reports = sorted(args.reports.glob("*.pdf"))
    print(f"machine: {os.cpu_count()} cores; {len(reports)} reports from {args.reports}")

    t0 = time.perf_counter()
    embedder = load_embedder("default")
    load_s = time.perf_counter() - t0
    print(f"embedding model load: {load_s:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        result = ingest([BUNDLED_EVENT, *reports], home, embedder_name("default"), lambda: embedder, log=lambda m: None)
        s = result.seconds
        after_load = s["total"] - s.get("model_load", 0.0)
        print(f"ingest after model load: {after_load:.1f} s for {result.documents} documents, {result.passages} passages "
              f"(load+structure {s['load']:.1f} s, embed {s['embed']:.1f} s, words {s['words']:.1f} s, write {s['write']:.1f} s)")
        t0 = time.perf_counter()
        again = ingest([BUNDLED_EVENT, *reports], home, embedder_name("default"), lambda: embedder, log=lambda m: None)
        print(f"re-ingest, unchanged: {time.perf_counter() - t0:.2f} s ({again.status})")

        kb = KnowledgeBase(result.build, embedder=embedder)
        questions = [q["question"] for q in load_set()["questions"]]
        for mode in ("bm25", "dense", "hybrid"):
            kb.search(questions[0], mode=mode)  # warm
            times = []
            for _ in range(args.repeat):
                for q in questions:
                    t0 = time.perf_counter()
                    kb.search(q, k=5, mode=mode)
                    times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            p90 = times[int(0.9 * (len(times) - 1))]
            print(f"warm search {mode:6}: median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms over {len(times)} queries")
        kb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
