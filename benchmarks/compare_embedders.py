"""Retrieval on each event with both embedders and every fusion variant, side by side in one run.

Usage: .venv/bin/python benchmarks/compare_embedders.py [--events DIR] [--reports DIR] [--json FILE]

For the bundled event (with the four reports) and each event of ../shared/events that has a question file in
eval/events/, it ingests with each embedder (timing the embedding), then scores recall@1, recall@5 and MRR on
one fresh batch (the "retrieval" entries of eval/events/<event>.toml whose ids start with --batch) and, apart, on the questions tuned on
before (eval/retrieval.toml for the bundled event, the answer questions of the event file otherwise), per
question language and per same-language / cross-language question (the question's language against the
language of the passage that answers it).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.evaluate import EVENT_SETS, load_set, matches  # noqa: E402
from kb.knowledge import Fusion, KnowledgeBase  # noqa: E402
from kb.language import detect  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402

EMBEDDERS = ("minilm", "e5")
DEFAULT = Fusion()
VARIANTS = {  # name: (search mode, fusion, glossary expansion or None for the mode's default)
    "bm25": ("bm25", DEFAULT, None),
    "bm25, no glossary": ("bm25", DEFAULT, False),
    "dense": ("dense", DEFAULT, None),
    "hybrid, dense re-ranks (before)": ("hybrid", Fusion(dense=0.3, dense_pool=5, method="rrf"), True),
    "hybrid, rank fusion": ("hybrid", Fusion(method="rrf"), False),
    "hybrid, rank fusion, glossary": ("hybrid", Fusion(method="rrf"), True),
    "hybrid, score fusion": ("hybrid", Fusion(method="convex"), False),
    "hybrid, score fusion, glossary": ("hybrid", Fusion(method="convex"), True),
}


def answer_language(kb: KnowledgeBase, question: dict) -> str:
    """The language of the first passage that answers the question."""
    found = next((p for p in kb.passages if matches(p, question["expect"])), None)
    return detect(found.text) if found else "?"


def score(kb: KnowledgeBase, questions: list[dict], mode: str, expand: bool | None, depth: int = 10) -> dict:
    groups: dict[str, list[int]] = {}
    r1 = r5 = rr = 0.0
    misses = []
    for q in questions:
        hits = kb.search(q["question"], k=depth, mode=mode, expand=expand)
        rank = next((i for i, h in enumerate(hits, start=1) if matches(h.passage, q["expect"])), None)
        top5 = int(rank is not None and rank <= 5)
        r1 += rank == 1
        r5 += top5
        rr += 1 / rank if rank else 0
        for group in (q["lang"], "same" if q["lang"] == q["_answer_lang"] else "cross"):
            groups.setdefault(group, []).append(top5)
        if not top5:
            misses.append(q["id"])
    n = max(1, len(questions))
    return {"r@1": r1 / n, "r@5": r5 / n, "mrr": rr / n, "n": len(questions),
            "r@5 by group": {g: (sum(v) / len(v), len(v)) for g, v in groups.items()}, "misses": misses}


def event_inputs(events: Path, reports: Path) -> dict[str, list[Path]]:
    found = {"ailouvain-2024-03-18": [BUNDLED_EVENT, *sorted(reports.glob("*.pdf"))]}
    for folder in sorted(p for p in events.iterdir() if (p / "event.toml").is_file()):
        if (EVENT_SETS / f"{folder.name}.toml").is_file():
            found[folder.name] = [folder]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, default=ROOT.parent / "shared" / "events")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "compare-embedders")
    parser.add_argument("--embedders", default=",".join(EMBEDDERS), help="comma-separated, from: " + ", ".join(EMBEDDERS))
    parser.add_argument("--batch", default="r2", help="the fresh batch to score: the prefix of its question ids (default r2)")
    parser.add_argument("--time-ingest", action="store_true", help="ingest from scratch, to time the embedding")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    if len(list(args.reports.glob("*.pdf"))) < 4:
        sys.exit(f"error: the four reports are not in {args.reports}: pass --reports DIR.")
    out: dict = {"embedders": {}, "events": {}}
    specs = [s for s in args.embedders.split(",") if s in EMBEDDERS]
    for spec in specs:
        t0 = time.perf_counter()
        embedder = load_embedder(spec)
        out["embedders"][spec] = {"name": embedder.name, "load_s": round(time.perf_counter() - t0, 2)}
        for event, inputs in event_inputs(args.events, args.reports).items():
            home = args.work / f"{spec}-{event}"
            if args.time_ingest:
                shutil.rmtree(home, ignore_errors=True)
            result = ingest(inputs, home, embedder_name(spec), lambda: embedder, log=lambda m: None, rebuild=True)
            kb = KnowledgeBase.open(home, embedder=embedder)
            own = load_set(EVENT_SETS / f"{event}.toml")
            fresh = [q for q in own["retrieval"] if q["id"].startswith(f"{args.batch}-")]
            tuned = load_set()["questions"] if event == "ailouvain-2024-03-18" else [q for q in own.get("questions", []) if q.get("expect")]
            for q in fresh + tuned:
                q["_answer_lang"] = answer_language(kb, q)
            rows = {}
            for name, (mode, fusion, expand) in VARIANTS.items():
                kb.fusion = fusion
                started = time.perf_counter()
                rows[name] = {"fresh": score(kb, fresh, mode, expand), "tuned on": score(kb, tuned, mode, expand),
                              "ms_per_query": round(1000 * (time.perf_counter() - started) / (len(fresh) + len(tuned)), 1)}
            entry = out["events"].setdefault(event, {"passages": result.passages, "fresh": len(fresh), "tuned on": len(tuned), "by_embedder": {}})
            entry["by_embedder"][spec] = {"ingest_s": {k: round(v, 1) for k, v in result.seconds.items()},
                                          "passages_per_s": round(result.passages / max(result.seconds.get("embed", 0), 1e-9), 1),
                                          "variants": rows}
            kb.close()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    for spec, info in out["embedders"].items():
        print(f"{spec}: {info['name']}, loaded in {info['load_s']} s")
    for event, entry in out["events"].items():
        print(f"\n## {event}: {entry['passages']} passages; fresh batch {args.batch}, {entry['fresh']} questions, tuned on {entry['tuned on']}")
        for spec in specs:
            e = entry["by_embedder"][spec]
            if "embed" not in e["ingest_s"]:
                continue  # the build was already there: nothing was timed (--time-ingest)
            print(f"  {spec}: ingest {e['ingest_s'].get('total')} s, embedding {e['ingest_s'].get('embed')} s ({e['passages_per_s']} passages/s)")
        print(f"  {'variant':34} {'emb':6} {'r@1':>5} {'r@5':>5} {'MRR':>5} {'fr':>5} {'en':>5} {'same':>5} {'cross':>5} | {'tuned r@5':>9} {'ms/q':>6}")
        for name in VARIANTS:
            for spec in specs:
                row = entry["by_embedder"][spec]["variants"][name]
                f, groups = row["fresh"], row["fresh"]["r@5 by group"]
                cell = lambda g: f"{groups[g][0]:5.2f}" if g in groups else "    -"  # noqa: E731
                print(f"  {name:34} {spec:6} {f['r@1']:5.2f} {f['r@5']:5.2f} {f['mrr']:5.2f} {cell('fr')} {cell('en')} {cell('same')} {cell('cross')} | "
                      f"{row['tuned on']['r@5']:9.2f} {row['ms_per_query']:6.1f}")
        for spec in specs:
            for name in ("hybrid, rank fusion", "hybrid, score fusion"):
                print(f"  misses@5, {name}, {spec}: {', '.join(entry['by_embedder'][spec]['variants'][name]['fresh']['misses']) or 'none'}")
    print(f"\npeak RSS {out['peak_rss_mb']} MB (both embedders loaded)")
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
