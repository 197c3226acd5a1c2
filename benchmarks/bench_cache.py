"""The answer cache against generation, side by side in one run: latency and energy of a question answered by the
model, then of the same question asked again (served from the audit log).

Usage: .venv/bin/python benchmarks/bench_cache.py [--kb DIR] [--model default|small|PATH] [--questions N]
Builds a knowledge base of the bundled event in DIR if there is none; the audit log is a temporary one.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
from kb import audit  # noqa: E402
from kb.answer import Answerer  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import ANSWER_SET, load_set  # noqa: E402
from kb.generator import load_generator  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "bench-cache")
    parser.add_argument("--model", default="default")
    parser.add_argument("--questions", type=int, default=8)
    args = parser.parse_args()
    ingest([BUNDLED_EVENT], args.kb, embedder_name(), load_embedder, log=lambda m: None)
    kb = KnowledgeBase.open(args.kb)
    questions = [q["question"] for q in load_set(ANSWER_SET)["questions"] if q.get("answerable")][: args.questions]
    with tempfile.TemporaryDirectory() as tmp:
        answerer = Answerer(kb, load_generator(args.model), choose_meter(), audit.connect(Path(tmp)))
        answerer.ask("warm up: " + questions[0])
        rows = []
        for question in questions:
            t0 = time.perf_counter()
            made = answerer.ask(question)
            t1 = time.perf_counter()
            again = answerer.ask(question)
            t2 = time.perf_counter()
            assert again["cached"] and again["cached_from"] == made["id"]
            rows.append(((t1 - t0) * 1000, (t2 - t1) * 1000, made["energy"]["wh"], again["energy"]["wh"]))
    made_ms, cached_ms = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
    made_wh, cached_wh = statistics.median(r[2] for r in rows), statistics.median(r[3] for r in rows)
    print(f"{len(rows)} questions, model {answerer.generator.info.name}, meter {answerer.meter.name}")
    print(f"{'':10} {'p50 latency':>12} {'p50 energy':>12}")
    print(f"{'generated':10} {made_ms:10.1f} ms {made_wh:10.2e} Wh")
    print(f"{'cached':10} {cached_ms:10.1f} ms {cached_wh:10.2e} Wh")
    print(f"ratio cached / generated: latency {cached_ms / made_ms:.4f}, energy {cached_wh / made_wh:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
