"""Answer quality and speed with a real model: key facts, citations, abstention, language, time, CPU and energy.

Usage: .venv/bin/python benchmarks/eval_answers.py [--model default|small|PATH] [--kb DIR] [--only ID,...] [--json]
Builds the knowledge base (bundled event + the reports) in DIR first if needed.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
from kb.answer import Answerer  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import ANSWER_SET, load_set, score_answer, speed_summary, summarise_answers  # noqa: E402
from kb.generator import load_generator  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "eval-kb")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--model", default="default")
    parser.add_argument("--only", help="comma-separated question ids")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reports = sorted(args.reports.glob("*.pdf"))
    ingest([BUNDLED_EVENT, *reports], args.kb, embedder_name(), load_embedder, log=lambda m: None)
    kb = KnowledgeBase.open(args.kb)
    questions = load_set(ANSWER_SET)["questions"]
    if args.only:
        wanted = set(args.only.split(","))
        questions = [q for q in questions if q["id"] in wanted]
    answerer = Answerer(kb, load_generator(args.model), choose_meter())
    kb.search("warm up", k=1)  # load the embedder before timing
    answerer.ask("Combien de vues compte la vidéo Baby shark ?")  # evaluate the constant prompt prefix once
    rows = []
    for q in questions:
        record = answerer.ask(q["question"])
        row = score_answer(q, record)
        rows.append(row)
        if not args.json:
            mark = "ABST" if row["abstained"] else ("ok  " if row["facts_ok"] else "MISS")
            print(f"{mark} {q['id']:28} {row['first_token_ms'] / 1000:5.1f}s {row['total_ms'] / 1000:5.1f}s  {row['answer'][:110]}", flush=True)
    summary = summarise_answers(rows)
    speed = dict(speed_summary(rows), meter=answerer.meter.name, meter_detail=getattr(answerer.meter, "source", ""))
    if args.json:
        print(json.dumps({"model": answerer.generator.info.to_json(), "summary": summary, "speed": speed, "rows": rows}, ensure_ascii=False, indent=1))
    else:
        print(json.dumps(summary, indent=1))
        print(json.dumps(speed, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
