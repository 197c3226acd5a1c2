"""Answer speed with the default model: the pipeline against bare llama-cpp-python on the same prompts.

Usage: .venv/bin/python benchmarks/bench_answer.py [--model default|small|PATH] [--kb DIR] [--n 12] [--repack 1,0]
Prints time to first token, time to the first checked sentence on screen, total time, CPU-seconds, energy and generation speed per answer (median, p90),
and the bare library's generation speed on the very prompts the pipeline sent, run in the same process; with
--repack 1,0, all of it with llama.cpp's weight repacking on, then off, in the same run.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
from kb.answer import MAX_TOKENS, Answerer  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import ANSWER_SET, load_set, percentile  # noqa: E402
from kb.generator import load_generator  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402


def bare(llm, messages: list[dict]) -> tuple[float, float, int]:
    """Time to first token, total time and chunks for one bare streamed chat completion."""
    t0 = time.perf_counter()
    first, n = None, 0
    for chunk in llm.create_chat_completion(messages, stream=True, temperature=0.0, max_tokens=MAX_TOKENS):
        if chunk["choices"][0]["delta"].get("content"):
            first = first or time.perf_counter() - t0
            n += 1
    return first or 0.0, time.perf_counter() - t0, n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "eval-kb")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--model", default="default")
    parser.add_argument("--n", type=int, default=12, help="answerable questions to time")
    parser.add_argument("--repack", default="", help="1, 0 or 1,0: llama.cpp's weight repacking (default: $EVENTKB_REPACK)")
    args = parser.parse_args()
    ingest([BUNDLED_EVENT, *sorted(args.reports.glob("*.pdf"))], args.kb, embedder_name(), load_embedder, log=lambda m: None)
    kb = KnowledgeBase.open(args.kb)
    for repack in [r == "1" for r in args.repack.split(",")] if args.repack else [None]:
        if repack is not None:
            print(f"\n## repacking {'on' if repack else 'off'}")
        measure(kb, load_generator(args.model, repack=repack), args.n)
    print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


def capture_prompts(generator) -> list[list[dict]]:
    """The list the messages of every later call of `generator.stream` are appended to."""
    sent: list[list[dict]] = []
    original = generator.stream

    def capture(messages, max_tokens, usage, *args, **kwargs):
        sent.append(messages)
        return original(messages, max_tokens, usage, *args, **kwargs)

    generator.stream = capture
    return sent


def measure(kb: KnowledgeBase, generator, n: int) -> None:
    """Time `n` answers through the pipeline, then the bare library on the same prompts, and print the figures."""
    answerer = Answerer(kb, generator, choose_meter())
    kb.search("warm up", k=1)
    answerer.ask("Combien de vues compte la vidéo Baby shark ?")
    questions = [q for q in load_set(ANSWER_SET)["questions"] if q["answerable"]][:n]
    original = generator.stream
    sent = capture_prompts(generator)
    rows = []
    for q in questions:
        record = answerer.ask(q["question"])
        t = record["timings"]
        if record["tokens"]["completion"] > 1:
            gen_s = (t["total_ms"] - t["first_token_ms"]) / 1000
            rows.append({"ttft": t["first_token_ms"] / 1000, "shown": t["first_shown_ms"] / 1000, "early": t["total_ms"] - t["first_shown_ms"] > 100, "total": t["total_ms"] / 1000, "cpu": record["energy"]["cpu_seconds"],
                         "wh": record["energy"]["wh"], "tps": (record["tokens"]["completion"] - 1) / gen_s if gen_s > 0 else 0.0, "messages": sent[-1]})
    bare_tps = []
    for row in rows:
        _, total, n = bare(generator.llm, row["messages"])
        first, total, n = bare(generator.llm, row["messages"])  # second run: prompt cached, as in the pipeline's steady state
        bare_tps.append((n - 1) / (total - first) if total > first and n > 1 else 0.0)
    print(f"machine: {os.cpu_count()} cores; model {generator.info.name}; {len(rows)} answers with generation; meter {answerer.meter.name}")
    for key, label in (("ttft", "time to first token (s)"), ("shown", "first checked sentence shown (s)"), ("total", "full answer (s)"), ("cpu", "CPU-seconds per answer"), ("wh", "Wh per answer"), ("tps", "generation tokens/s, pipeline")):
        values = [r[key] for r in rows]
        print(f"{label:32} median {statistics.median(values):8.4g}  p90 {percentile(values, 0.9):8.4g}")
    print(f"answers whose first checked sentence was shown before the model finished: {sum(r['early'] for r in rows)}/{len(rows)}")
    print(f"{'generation tokens/s, bare':32} median {statistics.median(bare_tps):8.4g}  p90 {percentile(bare_tps, 0.9):8.4g}")
    print("per answer, tokens/s pipeline vs bare: " + ", ".join(f"{r['tps']:.1f}/{b:.1f}" for r, b in zip(rows, bare_tps)))
    print(f"pipeline / bare generation speed: {statistics.median([r['tps'] for r in rows]) / statistics.median(bare_tps):.3f}")
    print(f"estimate per core: {getattr(answerer.meter, 'low', '?')}-{getattr(answerer.meter, 'high', '?')} W ({getattr(answerer.meter, 'source', '')})")
    generator.stream = original


if __name__ == "__main__":
    sys.exit(main())
