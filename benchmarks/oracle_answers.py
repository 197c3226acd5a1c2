"""What the answers are worth when retrieval is perfect: the passage that answers each question is put first among the
retrieved ones, and everything after it (sentence selection, the model, the check) runs as in `eventkb ask`.

Usage: .venv/bin/python benchmarks/oracle_answers.py [--kb DIR] [--sample N] [--json OUT]
Runs every answerable held-out question with an expected passage, plus N tuned-on ones drawn with a fixed seed
(all of them with --sample -1). Prints the key facts per group and where the others were lost. Needs the default
model; about 4 s per question on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from kb.answer import Answerer  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import ANSWER_SET, load_set, matches, score_answer, summarise_answers  # noqa: E402
from kb.generator import load_generator  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from where_lost import STAGES, stage  # noqa: E402
from compare_answers import AnswerFirst  # noqa: E402

SEED = 7


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "eval-kb")
    parser.add_argument("--sample", type=int, default=60, help="tuned-on questions to add to the held-out ones (-1: all)")
    parser.add_argument("--json", type=Path, help="write the scored rows here")
    args = parser.parse_args()
    kb = AnswerFirst(KnowledgeBase.open(args.kb))
    questions = [q for q in load_set(ANSWER_SET)["questions"] if q["answerable"] and q.get("expect")]
    questions = [q for q in questions if any(matches(p, q["expect"]) for p in kb.passages)]  # their documents are ingested
    held = [q for q in questions if q.get("held_out")]
    tuned = [q for q in questions if not q.get("held_out")]
    if 0 <= args.sample < len(tuned):
        tuned = random.Random(SEED).sample(tuned, args.sample)
    answerer = Answerer(kb, load_generator(None), choose_meter())
    answerer.ask("Qui a modéré le panel ?")  # the constant prompt prefix is then cached, as in a running server
    rows, found = [], {"held out": Counter(), "tuned on": Counter()}
    for question in held + tuned:
        kb.question = question
        row = score_answer(question, answerer.ask(question["question"]))
        group = "held out" if question.get("held_out") else "tuned on"
        found[group][stage(kb, question, row)] += 1
        rows.append(row)
        print(f"{'right' if row['facts_ok'] else 'abstained' if row['abstained'] else 'wrong':9} {question['id']}", file=sys.stderr, flush=True)
    kb.question = None
    print(f"{'group':<10}{'questions':>10}{'key facts':>10}{'citation precision':>20}" + "".join(f"{s:>18}" for s in STAGES[:1] + STAGES[2:]))
    for group, counts in found.items():
        scored = summarise_answers([r for r in rows if ("held out" if r["held_out"] else "tuned on") == group])
        print(f"{group:<10}{sum(counts.values()):>10}{scored['key_fact_accuracy'] or 0:>10.3f}{scored['citation_precision'] or 0:>20.3f}"
              + "".join(f"{counts[s]:>18}" for s in STAGES[:1] + STAGES[2:]))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
