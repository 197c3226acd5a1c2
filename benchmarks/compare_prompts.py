"""System prompts side by side in one run: the same questions answered with each, everything else as `eventkb ask`.

Usage: .venv/bin/python benchmarks/compare_prompts.py [--kb var/eval-kb] [--answerable N]
Runs every question of eval/answers.toml the sources cannot answer, plus N answerable ones drawn with a fixed seed,
with: the prompt before it came from the manifest ("fixed", the bundled event's own words), the one the manifest
gives now ("manifest"), and the one for an event without a manifest ("generic"). About 3.5 s per answer.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import kb.answer.answerer as answer  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import ANSWER_SET, load_set, score_answer, summarise_answers  # noqa: E402
from kb.generator import load_generator  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402

SEED = 11
FIXED = ("You answer questions about a panel on generative AI and the environment (AILouvain, 18 March 2024). "
         + answer.system_prompt(None).split(". ", 1)[1])  # the words used until the prompt came from the manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "eval-kb")
    parser.add_argument("--answerable", type=int, default=24)
    args = parser.parse_args()
    kb = KnowledgeBase.open(args.kb)
    ingested = {d["id"] for d in kb.documents() if d["ingested"]}
    questions = [q for q in load_set(ANSWER_SET)["questions"] if all(doc in ingested for doc, _ in q.get("expect", []))]
    picked = [q for q in questions if not q["answerable"]]
    picked += random.Random(SEED).sample([q for q in questions if q["answerable"]], args.answerable)
    answerer = answer.Answerer(kb, load_generator("default"), choose_meter())
    variants = {"fixed": FIXED, "manifest": answer.system_prompt(kb.event), "generic": answer.system_prompt(None)}
    original = answer.system_prompt
    rows: dict[str, list[dict]] = {}
    for name, prompt in variants.items():
        answer.system_prompt = lambda event, prompt=prompt: prompt
        answerer.ask(picked[0]["question"])  # warm the prompt's prefix, as a server does
        rows[name] = [score_answer(q, answerer.ask(q["question"])) for q in picked]
        print(f"{name:9} {summarise_answers(rows[name])}", flush=True)
    answer.system_prompt = original
    by_id = {name: {r["id"]: r for r in variant} for name, variant in rows.items()}
    for q in picked:
        decisions = {name: ("ok" if r[q["id"]]["facts_ok"] else "abst" if r[q["id"]]["abstained"] else "miss") for name, r in by_id.items()}
        if len(set(decisions.values())) > 1:
            print(f"  {q['id']:32} " + "  ".join(f"{k}={v}" for k, v in decisions.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
