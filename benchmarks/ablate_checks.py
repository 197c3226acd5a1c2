"""What each check that follows generation changes: the saved replies of a compare_answers run settled again with one
check switched off at a time, per event, without the model.

Usage: .venv/bin/python benchmarks/ablate_checks.py RUN.json [--design eventkb] [--similarity 0.8] [--work var/compare-answers]
RUN.json is the output of `benchmarks/compare_answers.py --json`; --design names its row, and --similarity is the
setting that row ran with (0: sentences across languages checked by their words, as before 2026-12-02). Each question's sources are selected again with the
current code (the knowledge bases that run built, in --work), so the result is exact for the checks after generation;
a check whose removal changes no answer on fresh batches has shown no gain, and a removal that raises key facts or
abstention shows it costs.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import kb.answer as answer  # noqa: E402
import kb.answer.checks as checks  # noqa: E402
import kb.answer.verify as support  # noqa: E402
from compare_answers import batch_questions  # noqa: E402
from recheck_replies import rescore  # noqa: E402
from kb.embedder import load_embedder  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.answer.question import Question  # noqa: E402

# Each check, and how to switch it off: (module, attribute, replacement).
CHECKS = {
    "echo (repeats)": [(checks, "repeats", lambda *a, **k: False)],
    "quote when declined": [(checks, "quote_fallback", lambda *a, **k: None)],
    "subjects in backing passages": [(checks, "unmentioned", lambda *a, **k: [])],
    "subjects also across languages": [(checks, "SUBJECTS_SAME_LANGUAGE", False)],
    "word overlap": [(support, "MIN_OVERLAP", 0.0)],
    "names copied": [(support, "names", lambda *a, **k: [])],
    "names also across languages": [(support, "NAMES_ACROSS_LANGUAGES", False)],
    "quotations copied": [(support, "quotations", lambda *a, **k: [])],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_json", type=Path)
    parser.add_argument("--design", default="eventkb", help="the row of RUN.json whose replies are settled again (default eventkb)")
    parser.add_argument("--similarity", type=float, default=answer.ACROSS_SIMILARITY,
                        help=f"how close in meaning a sentence must be to its source in another language (default {answer.ACROSS_SIMILARITY}; 0: by its words)")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "compare-answers")
    args = parser.parse_args()
    run = json.loads(args.run_json.read_text(encoding="utf-8"))
    embedder = load_embedder()
    print(f"{'event':32} {'check switched off':30} {'facts':>9} {'abstained right':>16} {'good cited':>10}  answers changed")
    for event, entry in run["events"].items():
        rows = {r["id"]: r for r in entry["designs"][args.design]["rows"]}
        questions = [q for q in batch_questions(event, entry["batch"]) if q["id"] in rows]
        kb = KnowledgeBase.open(args.work / event, embedder=embedder)
        settings = (functools.partial(answer.closeness, embedder), args.similarity) if args.similarity else (None, 0.0)
        sources = {q["id"]: answer.gather(kb, Question.parse(q["question"]))[1] for q in questions}
        base = {q["id"]: rescore(q, sources[q["id"]], rows[q["id"]], *settings)
                for q in questions}

        def totals(scored: dict) -> tuple[int, int, str]:
            answered = [r for r in scored.values() if not r["abstained"]]
            return (sum(r["facts_ok"] for r in scored.values()),
                    sum(r["abstained"] for q, r in scored.items() if not r["answerable"]),
                    f"{sum(r['good_citations'] for r in answered)}/{sum(r['citations'] for r in answered)}")

        facts, abstained, cited = totals(base)
        answerable = sum(q["answerable"] for q in questions)
        print(f"{event[:32]:32} {'(none: today)':30} {facts:4}/{answerable:<4} {abstained:9}/{len(questions) - answerable:<6} {cited:>9}")
        for name, patches in CHECKS.items():
            with contextlib.ExitStack() as stack:
                for module, attribute, value in patches:
                    stack.enter_context(mock.patch.object(module, attribute, value))
                scored = {q["id"]: rescore(q, sources[q["id"]], rows[q["id"]], *settings)
                          for q in questions}
            f, a, c = totals(scored)
            changed = [i for i in scored if (scored[i]["facts_ok"], scored[i]["abstained"]) != (base[i]["facts_ok"], base[i]["abstained"])]
            print(f"{'':32} {name:30} {f:4} ({f - facts:+d}) {a:9} ({a - abstained:+d}) {c:>9}     {len(changed)} {' '.join(changed)}")
        kb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
