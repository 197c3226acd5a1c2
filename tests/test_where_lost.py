"""benchmarks/where_lost.py: where a missed key fact was lost, on a fake knowledge base."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from kb.knowledge import Hit
from kb.store import Passage

_spec = importlib.util.spec_from_file_location("where_lost", Path(__file__).resolve().parent.parent / "benchmarks" / "where_lost.py")
where_lost = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(where_lost)


class FakeKB:
    def __init__(self, *texts: str) -> None:
        self.passages = [Passage(i, f"p{i}", "panel-summary", "Résumé", None, (1, 2), "Section", None, t, t) for i, t in enumerate(texts)]

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return [Hit(p, 1.0) for p in self.passages[:k]]


QUESTION = {"id": "hz-chatgpt-fr", "question": "Combien consomme une requête ChatGPT ?", "answerable": True, "facts": [["2,9", "2.9"]]}


def row(raw: str, right: bool = False) -> dict:
    return {"id": QUESTION["id"], "facts_ok": right, "raw_answer": raw, "held_out": True}


def test_each_stage_where_a_fact_is_lost():
    kb = FakeKB("Une requête ChatGPT consomme 2,9 Wh.")
    assert where_lost.stage(kb, QUESTION, row("2,9 Wh [1].", right=True)) == "right"
    assert where_lost.stage(kb, QUESTION, row("Une requête ChatGPT consomme 3 Wh [1].")) == "model"
    assert where_lost.stage(kb, QUESTION, row("Une requête ChatGPT consomme 2,9 Wh [1].")) == "check"
    assert where_lost.stage(FakeKB("Une requête Google consomme 0,3 Wh."), QUESTION, row("0,3 Wh")) == "not in top 5"
    filler = " ".join(["Une requête ChatGPT consomme beaucoup, dit le panel."] * 4)
    far = FakeKB(*[filler] * 4, "Selon l'AIE, 2,9 Wh.")
    assert where_lost.stage(far, QUESTION, row("Beaucoup [1].")) == "not in sentences"
    assert where_lost.batch("hz-chatgpt-fr") == "hz" and where_lost.batch("chatgpt-request-fr") == "first"
