"""Print retrieval quality (recall@1, recall@5, MRR) for BM25, dense and hybrid, and quote attribution.

Usage: .venv/bin/python benchmarks/eval_retrieval.py [--kb DIR] [--reports DIR] [--json]
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
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.evaluate import attribution, load_set, retrieval  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "eval-kb")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reports = sorted(args.reports.glob("*.pdf"))
    if len(reports) < 4:
        sys.exit(f"error: the four reports are not in {args.reports}: pass --reports DIR.")
    ingest([BUNDLED_EVENT, *reports], args.kb, embedder_name(), load_embedder, log=lambda m: None, rebuild=True)
    kb = KnowledgeBase.open(args.kb)
    data = load_set()
    scores = [retrieval(kb, data["questions"], mode) for mode in ("bm25", "dense", "hybrid")]
    quotes = attribution(kb, data["quotes"])
    if args.json:
        print(json.dumps({"questions": len(data["questions"]), "retrieval": [s.to_json() for s in scores], "quotes": quotes}, ensure_ascii=False, indent=2))
        return 0
    print(f"{len(data['questions'])} questions ({sum(q['lang'] == 'fr' for q in data['questions'])} French, "
          f"{sum(q['lang'] == 'en' for q in data['questions'])} English)\n")
    print(f"{'mode':8} {'recall@1':>9} {'recall@5':>9} {'MRR':>6} {'r@5 fr':>7} {'r@5 en':>7}")
    for s in scores:
        print(f"{s.mode:8} {s.recall_at_1:9.3f} {s.recall_at_5:9.3f} {s.mrr:6.3f} {s.by_lang.get('fr', 0):7.3f} {s.by_lang.get('en', 0):7.3f}")
    for s in scores:
        print(f"  {s.mode} misses@5: {', '.join(s.misses) or 'none'}")
    print("\nquotes by person:")
    for q in quotes:
        print(f"  {q['speaker']}: {q['quotes']} passages; missing {q['missing'] or 'none'}; wrongly attributed {q['wrongly_attributed'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
