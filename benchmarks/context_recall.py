"""Where the key facts are lost before the model reads anything: in retrieval or in the choice of sentences sent.

Usage: .venv/bin/python benchmarks/context_recall.py [--batches hq+hr,a17+a17b] [--show]  (default: every batch measured)
For each event with a question set (the bundled one with the four reports, and those in ../shared/events), and the
answerable questions of the batches named (as in compare_answers.py), prints the share whose key facts are all in the
top passages retrieved and all in the sentences the model would read, same- and cross-language questions apart.
No model runs: retrieval and the choice of sentences are deterministic, so this takes seconds per batch.
With --show, each question whose facts were retrieved but not sent is printed with the rank of the passage holding them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare_answers import batch_questions, event_inputs, source_language  # noqa: E402
from ingest.pipeline import ingest  # noqa: E402
from kb.answer import K, gather  # noqa: E402
from kb.answer.question import Question  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.evaluate import holds  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from where_lost import stage  # noqa: E402


def recall(kb: KnowledgeBase, questions: list[dict], show: bool = False) -> dict[str, list[int]]:
    """Per group ("same", "cross"): [answerable questions, facts in the top passages, facts in the sentences sent],
    read from `where_lost.stage` with no reply."""
    counts: dict[str, list[int]] = {}
    for q in questions:
        if not q.get("answerable"):
            continue
        group = "same" if source_language(kb, q) == q["lang"] else "cross"
        lost = stage(kb, q, {"facts_ok": False, "raw_answer": ""})
        retrieved, sent = lost != f"not in top {K}", lost not in (f"not in top {K}", "not in sentences")
        c = counts.setdefault(group, [0, 0, 0])
        c[0], c[1], c[2] = c[0] + 1, c[1] + retrieved, c[2] + sent
        if show and retrieved and not sent:
            hits, sources = gather(kb, Question.parse(q["question"]))
            sent_ids = {s.passage.id for s in sources}
            holding = [rank for rank, h in enumerate(hits, start=1) if all(holds(h.passage.text, a) for a in q["facts"])]
            where = ", ".join(f"{r} ({'sent from' if hits[r - 1].passage.id in sent_ids else 'not among the sources'})" for r in holding)
            print(f"  lost, {group}: {q['id']}: passage rank {where or 'facts spread over passages'}")
    return counts


MEASURED = "hq+hr+hs+ht+hu+hv+hw+hx+hy+hz+ia+ib+ic+id+ie+if+ig+ih+ii,a17+a17b+a18+a19+a20+a21+a22+a23+a24+a25+a26+a27+a28+a29+a30+a31+a32+a33+a34"  # every batch measured up to ii/a34


def parser_for(doc: str) -> argparse.ArgumentParser:
    """The options of the scripts that read the batches' questions against each event's knowledge base."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--batches", default=MEASURED, help="the bundled event's batches and the other events' (default: every batch measured up to ii/a34)")
    parser.add_argument("--events", type=Path, default=ROOT.parent / "shared" / "events")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "compare-answers")
    return parser


def knowledge_bases(args: argparse.Namespace) -> Iterator[tuple[str, KnowledgeBase, list[dict]]]:
    """Each event's knowledge base (built in --work when it is not there yet) and the questions of its batches."""
    embedder = load_embedder()
    for event, (paths, batch) in event_inputs(args.reports, args.events, args.batches).items():
        home = args.work / event
        ingest(paths, home, embedder_name(), lambda: embedder, log=lambda m: None)
        kb = KnowledgeBase.open(home, embedder=embedder)
        try:
            yield event, kb, batch_questions(event, batch)
        finally:
            kb.close()


def main() -> int:
    parser = parser_for(__doc__)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    print(f"| event | questions | facts in the top {K} passages | facts in the sentences sent | sent, of those retrieved |")
    print("|---|---|---|---|---|")
    for event, kb, questions in knowledge_bases(args):
        counts = recall(kb, questions, args.show)
        for group in ("same", "cross"):
            n, retrieved, sent = counts.get(group, [0, 0, 0])
            if n:
                print(f"| {event}, {group}-language | {n} | {retrieved / n:.2f} | {sent / n:.2f} | {sent / max(retrieved, 1):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
