"""Follow-up questions made standalone, by each method side by side: does the question searched find the passage that
answers the follow-up in the top 5?

Usage: .venv/bin/python benchmarks/followups.py [--methods model,names,concat,fused,none] [--batch f19] [--answers]
       [--only EVENT] [--limit N] [--json OUT]
For each pair of eval/followups.toml (the bundled event with the four reports, and the events of ../shared/events),
the first question is answered by the default answer path with the default model, as in the chat; then each method
turns the follow-up into the question searched, and hybrid search's top 5 is checked for the expected passage.
Prints recall@5 per event, per language and per method, with the time and tokens of the model's rewrites and how many
failed their check. About 6 s per pair on 2 cores. With --answers, each method also answers the follow-up through
the web app's path (a conversation in a scratch audit log), and the share of follow-ups answered with a citation of
the expected passage is printed beside recall (about 5 s more per pair and method), with each method's median time
and energy per answered follow-up, the rewrite included. --only and --limit run one event, or the first N pairs of each.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb import audit, followup  # noqa: E402
from kb.answer import Answerer  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import load_set, matches  # noqa: E402
from kb.generator import load_generator  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402
from ingest.pipeline import ingest  # noqa: E402

BUNDLED = "ailouvain-2024-03-18"
PAIRS = ROOT / "eval" / "followups.toml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(followup.METHODS), help="comma-separated, from: " + ", ".join(followup.METHODS))
    parser.add_argument("--batch", default="f19", help="the pairs whose ids start with this (default f19)")
    parser.add_argument("--events", type=Path, default=ROOT.parent / "shared" / "events")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "compare-answers")
    parser.add_argument("--answers", action="store_true", help="also answer each follow-up by each method, as the chat does")
    parser.add_argument("--only", help="one event id")
    parser.add_argument("--limit", type=int, help="the first N pairs of each event")
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    args = parser.parse_args()
    reports = sorted(args.reports.glob("*.pdf"))
    if len(reports) < 4:
        sys.exit(f"error: the four reports are not in {args.reports}: pass --reports DIR.")
    methods = [m for m in args.methods.split(",") if m]
    pairs = [p for p in load_set(PAIRS)["pairs"] if p["id"].startswith(f"{args.batch}-")]
    embedder = load_embedder()
    generator = load_generator()
    rows: list[dict] = []
    for event in [e for e in dict.fromkeys(p["event"] for p in pairs) if args.only in (None, e)]:
        paths = [BUNDLED_EVENT, *reports] if event == BUNDLED else [args.events / event]
        home = args.work / event
        ingest(paths, home, embedder_name(), lambda: embedder, log=lambda m: None)
        kb = KnowledgeBase.open(home, embedder=embedder)
        log = audit.connect(Path(tempfile.mkdtemp(prefix="followups-")))  # the first answers are generated once, then served again
        answerer = Answerer(kb, generator, choose_meter(), log)
        answerer.ask(pairs[0]["turns"][0])  # warm, as the web app is
        print(f"## {event}", file=sys.stderr)
        for pair in [p for p in pairs if p["event"] == event][: args.limit]:
            first, question = pair["turns"]
            record = answerer.ask(first)
            history = [followup.Turn(record["searched"], "" if record["abstained"] else record["answer"])]
            row = {"id": pair["id"], "event": event, "lang": pair["lang"], "first_answer": record["answer"], "methods": {}}
            for method in methods:
                t0 = time.perf_counter()
                with generator.lock:
                    rewrite = followup.standalone(method, question, history, kb.people, generator)
                ms = (time.perf_counter() - t0) * 1000
                hits = kb.search(rewrite.searched, k=5, also=rewrite.also)
                found = any(matches(h.passage, pair["expect"]) for h in hits)
                row["methods"][method] = {"searched": rewrite.searched, "found": found, "ms": round(ms, 1), **rewrite.to_json()}
                if args.answers:
                    answered = Answerer(kb, generator, choose_meter(), log, followup=method).ask(question, conversation=record["id"])
                    cited = any(matches(kb.passage(c["id"]), pair["expect"]) for c in answered["citations"])
                    row["methods"][method].update(answer=answered["answer"], answered_from_expected=cited, abstained=answered["abstained"],
                                                  total_ms=answered["timings"]["total_ms"], wh=answered["energy"]["wh"])
                print(f"  {'ok  ' if found else 'miss'} {method:6} {pair['id']}: {rewrite.searched[:120]}"
                      + (f"  [rejected: {rewrite.rejected}]" if rewrite.rejected else ""), file=sys.stderr, flush=True)
            rows.append(row)
        kb.close()
    print(f"\nrecall@5 of the searched follow-up, batch {args.batch}, {len(rows)} pairs, model {generator.info.name}")
    print(f"  {'event':32} {'lang':4} {'n':>3} " + " ".join(f"{m:>7}" for m in methods))
    groups = [(e, lang) for e in dict.fromkeys(r["event"] for r in rows) for lang in ("fr", "en")] + [("all", "fr"), ("all", "en"), ("all", "all")]
    for event, lang in groups:
        picked = [r for r in rows if event in ("all", r["event"]) and lang in ("all", r["lang"])]
        if picked:
            cells = " ".join(f"{sum(r['methods'][m]['found'] for r in picked) / len(picked):7.2f}" for m in methods)
            print(f"  {event:32} {lang:4} {len(picked):3} {cells}")
    if args.answers:
        print("\nfollow-ups answered with a citation of the expected passage (abstained)")
        for event, lang in groups:
            picked = [r for r in rows if event in ("all", r["event"]) and lang in ("all", r["lang"])]
            if picked:
                cells = " ".join(f"{sum(r['methods'][m]['answered_from_expected'] for r in picked) / len(picked):4.2f} ({sum(r['methods'][m]['abstained'] for r in picked):2})"
                                 for m in methods)
                print(f"  {event:32} {lang:4} {len(picked):3} {cells}")
    if args.answers:
        print("  median per answered follow-up: " + ", ".join(
            f"{m} {statistics.median(r['methods'][m]['total_ms'] for r in rows) / 1000:.1f} s {statistics.median(r['methods'][m]['wh'] for r in rows):.4f} Wh"
            for m in methods))
    if "model" in methods:
        model = [r["methods"]["model"] for r in rows]
        print(f"  model rewrites: p50 {statistics.median(m['ms'] for m in model):.0f} ms, "
              f"p50 {statistics.median(m['tokens']['prompt'] for m in model):.0f}+{statistics.median(m['tokens']['completion'] for m in model):.0f} tokens, "
              f"{sum('rejected' in m for m in model)} of {len(model)} failed their check")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
