"""Re-run the checks that follow generation on the replies an eval run saved, and print what the current code decides differently.

Usage: .venv/bin/python benchmarks/recheck_replies.py EVAL.json [--kb DIR]
EVAL.json is the output of `eventkb eval --json`. Each question's sources are selected again with the current code,
so the result is exact for a change made after generation (the support check, the fallbacks, the abstention rules),
measured in seconds without the model; after a change to retrieval or selection, a question whose sources change
needs the model again.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.answer import ACROSS_SIMILARITY, NO_PASSAGE, closeness, gather, settle, shown  # noqa: E402
from kb.answer.context import Source  # noqa: E402
from kb.answer.question import Question  # noqa: E402
from kb.evaluate import ANSWER_SET, SPLITS, batch_of, groups_of, load_set, score_answer, summarise_answers  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.language import detect  # noqa: E402
from kb.answer.verify import REFUSAL, Similar  # noqa: E402

MEASURES = ("key_fact_accuracy", "citation_precision", "abstention_accuracy", "abstention_recall")


def rescore(question: dict, sources: list[Source], row: dict, similar: Similar | None = None, least: float = 0.0) -> dict:
    """The scored row the current checks make of the saved reply `row` to `question`, given the sources it was written
    from (`similar`, `least`: how sentences in another language than their source are checked, as in `settle`)."""
    text = question["question"]
    language = detect(text)
    raw = row["raw_answer"] or ""
    if row.get("declined"):
        raw = REFUSAL  # the model declined at its first word: what it began is not its reply
    if sources and raw:
        sentences, reason, _ = settle(Question.parse(text, language), sources, raw, similar, least)
    else:
        sentences, reason = [], row["abstain_reason"] or NO_PASSAGE
    answer, citations = shown(language, sources, sentences, reason)
    record = {"abstained": reason is not None, "answer": answer, "raw_answer": raw, "abstain_reason": reason, "citations": citations,
              "timings": {"first_token_ms": row["first_token_ms"], "total_ms": row["total_ms"]},
              "energy": {"cpu_seconds": row["cpu_seconds"], "wh": row["wh"]}, "tokens": row["tokens"]}
    return score_answer(question, record)


def recheck(kb: KnowledgeBase, question: dict, row: dict) -> dict:
    """The scored row the current checks make of the saved reply `row` to `question`, its sources selected again."""
    _, sources = gather(kb, Question.parse(question["question"]))
    return rescore(question, sources, row, functools.partial(closeness, kb.embedder), ACROSS_SIMILARITY)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_json", type=Path)
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "eval-kb")
    args = parser.parse_args()
    rows = json.loads(args.eval_json.read_text(encoding="utf-8"))["rows"]
    questions = {q["id"]: q for q in load_set(ANSWER_SET)["questions"]}
    kb = KnowledgeBase.open(args.kb)
    old_rows, new_rows = [], []
    for row in rows:
        question = questions.get(row["id"])
        if question is None:
            continue
        new = recheck(kb, question, row)
        old_rows.append(row)
        new_rows.append(new)
        if (new["facts_ok"], new["abstained"]) != (row["facts_ok"], row["abstained"]):
            print(f"{row['id']}: key facts {row['facts_ok']} -> {new['facts_ok']}, abstained {row['abstained']} -> {new['abstained']} | {new['answer'][:100]}")
    groups = sorted({batch_of(r["id"]) for r in old_rows}) + list(SPLITS)
    for group in groups:
        for label, chosen in (("saved", old_rows), ("now", new_rows)):
            picked = [r for r in chosen if group in groups_of(r)]
            if picked:
                summary = summarise_answers(picked)
                print(f"{group:<9} {label:<6}" + "".join(f" {m} {summary[m]}" for m in MEASURES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
