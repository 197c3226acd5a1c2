"""Print what asking across events costs in quality: batch x20 of eval/across.toml asked of the three events at once
and of each question's own event alone, side by side.

Usage: .venv/bin/python benchmarks/across.py [--answers] [--json FILE]
Builds the three events (the bundled panel with the reports, and the two of ../shared/events/) in var/compare-answers/.
Search: recall@5 of the expected passage, in its own event; beside `kb.across.Across` (each event's ranking fused by
rank, equal ranks ordered by dense score), the two designs measured on batch x20 before it, kept for comparison. With --answers: answered with the
key facts and a citation of the expected passage (and, across events, of the expected event).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
from kb import audit  # noqa: E402
from kb.across import Across, open_all  # noqa: E402
from kb.answer import Answerer  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import holds, load_set, matches  # noqa: E402
from kb.generator import load_generator  # noqa: E402
from kb.indexes import reciprocal_rank_fusion  # noqa: E402
from kb.knowledge import fuse  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402
from kb.series import EventHome  # noqa: E402

BUNDLED = "ailouvain-2024-03-18"
QUESTIONS = ROOT / "eval" / "across.toml"


def by_rank(joined: Across, query: str, k: int = 5) -> list:
    """The first design: each event's own top list, fused by rank, ties in the order of the events."""
    lists = [[replace(h.passage, event=e) for h in kb.search(query, k=50)] for e, kb in joined.kbs]
    keyed = {(p.event, p.id): p for ranked in lists for p in ranked}
    fused = reciprocal_rank_fusion([[(p.event, p.id) for p in ranked] for ranked in lists])
    return [keyed[key] for key, _ in fused[:k]]


def together(joined: Across, query: str, k: int = 5) -> list:
    """The second design: the events' BM25 lists merged by score, their dense lists by cosine, then fused as in one event."""
    merged = None
    for event_id, kb in joined.kbs:
        offset = joined.offsets[event_id]
        lists = [[(row + offset, s) for row, s in ranked] for ranked in kb.ranked(query, 50)]
        merged = lists if merged is None else [a + b for a, b in zip(merged, lists)]
    ranked = fuse(joined.fusion, [sorted(scored, key=lambda pair: -pair[1]) for scored in merged])
    return [joined.passages[row] for row, _ in ranked[:k]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="x20")
    parser.add_argument("--events", type=Path, default=ROOT.parent / "shared" / "events")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "compare-answers")
    parser.add_argument("--answers", action="store_true", help="also answer each question, across events and in its own event")
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    args = parser.parse_args()
    reports = sorted(args.reports.glob("*.pdf"))
    if len(reports) < 4:
        sys.exit(f"error: the four reports are not in {args.reports}: pass --reports DIR.")
    questions = [q for q in load_set(QUESTIONS)["questions"] if q["id"].startswith(f"{args.batch}-")]
    embedder = load_embedder()
    events = []
    for event in dict.fromkeys(q["event"] for q in questions):
        home = args.work / event
        ingest([BUNDLED_EVENT, *reports] if event == BUNDLED else [args.events / event], home, embedder_name(), lambda: embedder, log=lambda m: None)
        events.append(EventHome(event, home))
    kbs = open_all(events, embedder)
    own = dict(kbs)
    joined = Across(kbs)
    generator = load_generator() if args.answers else None
    log = audit.connect(Path(tempfile.mkdtemp(prefix="across-")))
    answerers = {}
    if generator is not None:
        answerers = {"across": Answerer(joined, generator, choose_meter(), log, cache=False),
                     **{e: Answerer(kb, generator, choose_meter(), log, cache=False) for e, kb in kbs}}
        answerers["across"].ask(questions[0]["question"])  # warm, as the web app is
    rows = []
    for q in questions:
        expect, event = q["expect"], q["event"]
        found = {
            "own event": any(matches(h.passage, expect) for h in own[event].search(q["question"], k=5)),
            "across": any(h.passage.event == event and matches(h.passage, expect) for h in joined.search(q["question"], k=5)),
            "x20: by rank": any(p.event == event and matches(p, expect) for p in by_rank(joined, q["question"])),
            "x20: together": any(p.event == event and matches(p, expect) for p in together(joined, q["question"])),
        }
        row = {"id": q["id"], "event": event, "lang": q["lang"], "found": found, "answers": {}}
        for name, answerer in ([("across", answerers["across"]), ("own event", answerers[event])] if answerers else []):
            record = answerer.ask(q["question"])
            right = [c for c in record["citations"] if c.get("event", event) == event and matches(own[event].passage(c["id"]), expect)]
            row["answers"][name] = {"answer": record["answer"], "abstained": record["abstained"], "cited_expected": bool(right),
                                    "facts": not record["abstained"] and all(holds(record["answer"], alts) for alts in q["facts"]),
                                    "events_cited": sorted({c.get("event", event) for c in record["citations"]}),
                                    "total_ms": record["timings"]["total_ms"], "wh": record["energy"]["wh"]}
        print(f"  {q['id']}: " + " ".join(f"{k}={'ok' if v else 'miss'}" for k, v in found.items())
              + "".join(f" | {k}: {'abstained' if a['abstained'] else a['answer'][:70]}" for k, a in row["answers"].items()), file=sys.stderr, flush=True)
        rows.append(row)
    designs = list(rows[0]["found"])
    print(f"\nrecall@5 of the expected passage, batch {args.batch}, {len(rows)} questions, 3 events, {sum(len(kb.passages) for _, kb in kbs)} passages")
    groups = [(e, "all") for e in own] + [("all", "fr"), ("all", "en"), ("all", "all")]
    print(f"  {'event':32} {'lang':4} {'n':>3} " + " ".join(f"{d:>15}" for d in designs))
    for event, lang in groups:
        picked = [r for r in rows if event in ("all", r["event"]) and lang in ("all", r["lang"])]
        if picked:
            print(f"  {event:32} {lang:4} {len(picked):3} " + " ".join(f"{sum(r['found'][d] for r in picked) / len(picked):15.2f}" for d in designs))
    if answerers:
        print(f"\nanswered with the key facts, citing the expected passage (abstained), model {generator.info.name}")
        for event, lang in groups:
            picked = [r for r in rows if event in ("all", r["event"]) and lang in ("all", r["lang"])]
            if picked:
                cells = " ".join(f"{name}: {sum(r['answers'][name]['facts'] and r['answers'][name]['cited_expected'] for r in picked) / len(picked):.2f} "
                                 f"({sum(r['answers'][name]['abstained'] for r in picked)})" for name in ("across", "own event"))
                print(f"  {event:32} {lang:4} {len(picked):3} {cells}")
        wrong = sum(any(e != r["event"] for e in r["answers"]["across"]["events_cited"]) for r in rows)
        print(f"  answers across events citing another event than the question's: {wrong} of {len(rows)}")
        print("  median per answer: " + ", ".join(f"{name} {statistics.median(r['answers'][name]['total_ms'] for r in rows) / 1000:.1f} s "
                                                  f"{statistics.median(r['answers'][name]['wh'] for r in rows):.4f} Wh" for name in ("across", "own event")))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
