"""Print where the key facts of missed answers were lost: retrieval, the sentences sent to the model, the model, or the check.

Usage: .venv/bin/python benchmarks/where_lost.py EVAL.json [--kb DIR] [--show]
EVAL.json is the output of `eventkb eval --json` on the same knowledge base and code (the bundled event's answer
set, or the set of the event the knowledge base holds): the passages and sentences
each question got are computed again (retrieval and selection are deterministic), the model's reply is read from
the file. A fact counts as present where every key fact of the question appears.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.answer import K, gather  # noqa: E402
from kb.answer.question import Question  # noqa: E402
from kb.evaluate import ANSWER_SET, SPLITS, event_set, groups_of, holds, load_set  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402

STAGES = ("right", f"not in top {K}", "not in sentences", "model", "check")


def stage(kb: KnowledgeBase, question: dict, row: dict) -> str:
    """Where an answerable question's key facts were lost ("right" when the answer states them)."""
    if row["facts_ok"]:
        return "right"
    facts = question["facts"]
    hits, sources = gather(kb, Question.parse(question["question"]))
    if not all(any(holds(h.passage.text, alternatives) for h in hits) for alternatives in facts):
        return f"not in top {K}"
    sent = " ".join(" ".join(s.sentences) for s in sources)
    if not all(holds(sent, alternatives) for alternatives in facts):
        return "not in sentences"
    if not all(holds(row["raw_answer"] or "", alternatives) for alternatives in facts):
        return "model"
    return "check"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_json", type=Path)
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "eval-kb")
    parser.add_argument("--show", action="store_true", help="list the questions of each stage")
    args = parser.parse_args()
    rows = json.loads(args.eval_json.read_text(encoding="utf-8"))["rows"]
    kb = KnowledgeBase.open(args.kb)
    questions = {q["id"]: q for q in load_set(ANSWER_SET)["questions"]}
    questions.update({q["id"]: q for q in (event_set(kb) or {}).get("questions", [])})  # the event's own set
    found: dict[str, Counter] = {}
    listed: dict[str, list[str]] = {s: [] for s in STAGES}
    for row in rows:
        question = questions.get(row["id"])
        if question is None or not question["answerable"]:
            continue
        where = stage(kb, question, row)
        for group in groups_of(row):
            found.setdefault(group, Counter())[where] += 1
        listed[where].append(row["id"])
    print(f"{'group':<10}" + "".join(f"{s:>18}" for s in STAGES) + f"{'answerable':>12}")
    order = [g for g in found if g not in SPLITS] + [g for g in SPLITS if g in found]
    for group in order:
        counts = found[group]
        print(f"{group:<10}" + "".join(f"{counts[s]:>18}" for s in STAGES) + f"{sum(counts.values()):>12}")
    if args.show:
        for where in STAGES[1:]:
            print(f"\n{where}: {', '.join(listed[where]) or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
