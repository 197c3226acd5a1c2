"""What each rule of retrieval and of the choice of sentences changes: the share of answerable questions whose key
facts reach the top passages and the sentences sent, with one rule switched off at a time, per event, without the model.

Usage: .venv/bin/python benchmarks/ablate_context.py [--batches hq+hr,a17+a17b]
The batches are named as in compare_answers.py (default: every batch measured so far). A rule whose removal
loses no fact on any event has shown no gain; one whose gain is on a single event is fitted to that event.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import kb.answer.context as context  # noqa: E402
from context_recall import knowledge_bases, parser_for, recall  # noqa: E402

# Each rule, and how to switch it off: (module, attribute, replacement).
RULES = {
    "later passage past the budget": [(context, "OVERFLOW", 1.0)],
    "a second sentence per passage": [(context, "_candidates", lambda scored: scored[:1])],
}


def main() -> int:
    args = parser_for(__doc__).parse_args()
    print(f"{'event':28} {'rule switched off':36} {'answerable':>10} {'in top passages':>16} {'in sentences sent':>18}")
    for event, kb, questions in knowledge_bases(args):

        def totals() -> tuple[int, int, int]:
            counts = recall(kb, questions).values()
            return sum(c[0] for c in counts), sum(c[1] for c in counts), sum(c[2] for c in counts)

        n, top, sent = totals()
        print(f"{event[:28]:28} {'(none: today)':36} {n:10} {top:16} {sent:18}")
        for name, patches in RULES.items():
            with contextlib.ExitStack() as stack:
                for module, attribute, value in patches:
                    stack.enter_context(mock.patch.object(module, attribute, value))
                _, t, s = totals()
            print(f"{'':28} {name:36} {'':10} {t:11} ({t - top:+d}) {s:12} ({s - sent:+d})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
