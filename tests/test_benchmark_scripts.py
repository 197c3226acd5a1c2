"""The answer-diagnosis scripts of benchmarks/ on a fake knowledge base: where a missed key fact was lost, and
what the current checks make of saved replies."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from kb.embedder import FakeEmbedder
from kb.evaluate import groups_of
from kb.knowledge import Hit
from kb.store import Passage



def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent.parent / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


where_lost = _script("where_lost")
recheck_replies = _script("recheck_replies")
oracle_answers = _script("oracle_answers")


class FakeKB:
    def __init__(self, *texts: str) -> None:
        self.passages = [Passage(i, f"p{i}", "panel-summary", "Résumé", None, (1, 2), "Section", None, t, t) for i, t in enumerate(texts)]
        self.embedder = FakeEmbedder()

    def search(self, query: str, k: int = 5, within: set[int] | None = None, also: tuple[str, ...] = ()) -> list[Hit]:
        return [Hit(p, 1.0) for p in self.passages if within is None or p.row in within][:k]


QUESTION = {"id": "hz-chatgpt-fr", "question": "Combien consomme une requête ChatGPT ?", "answerable": True, "facts": [["2,9", "2.9"]]}


def row(raw: str, right: bool = False) -> dict:
    return {"id": QUESTION["id"], "facts_ok": right, "raw_answer": raw, "held_out": True, "abstain_reason": None,
            "first_token_ms": 1.0, "total_ms": 2.0, "cpu_seconds": 0.1, "wh": 0.001, "tokens": {"prompt": 1, "completion": 1}}


def test_each_stage_where_a_fact_is_lost():
    kb = FakeKB("Une requête ChatGPT consomme 2,9 Wh.")
    assert where_lost.stage(kb, QUESTION, row("2,9 Wh [1].", right=True)) == "right"
    assert where_lost.stage(kb, QUESTION, row("Une requête ChatGPT consomme 3 Wh [1].")) == "model"
    assert where_lost.stage(kb, QUESTION, row("Une requête ChatGPT consomme 2,9 Wh [1].")) == "check"
    assert where_lost.stage(FakeKB("Une requête Google consomme 0,3 Wh."), QUESTION, row("0,3 Wh")) == "not in top 5"
    filler = " ".join(["Une requête ChatGPT consomme beaucoup, dit le panel."] * 4)
    far = FakeKB(*[filler] * 4, "Selon l'AIE, 2,9 Wh.")
    assert where_lost.stage(far, QUESTION, row("Beaucoup [1].")) == "not in sentences"
    from kb.evaluate import batch_of

    assert batch_of("hz-chatgpt-fr") == "hz" and batch_of("chatgpt-request-fr") == "first"


def test_saved_replies_are_checked_again_with_the_current_rules():
    kb = FakeKB("Une requête ChatGPT consomme 2,9 Wh.")
    question = dict(QUESTION, lang="fr", held_out=True)
    right = recheck_replies.recheck(kb, question, row("Une requête ChatGPT consomme 2,9 Wh [1]."))
    assert right["facts_ok"] and not right["abstained"] and right["good_citations"] == 1
    wrong = recheck_replies.recheck(kb, question, row("Une requête ChatGPT consomme 14 Wh [1]."))
    assert wrong["abstained"] and not wrong["facts_ok"]
    assert "held out" in groups_of(right) and "hz" in groups_of(right) and "tuned on" not in groups_of(right)
    declined = recheck_replies.recheck(kb, question, dict(row("Une requête ChatGPT consomme 14 Wh [1]."), declined=True))
    assert not declined["abstained"] and declined["answer"].startswith("«")  # declined at its first word: a refusal, the source quoted
    assert recheck_replies.recheck(kb, question, dict(row("Une requête ChatGPT consomme 14 Wh [1]."), declined=False))["abstained"]


def test_the_oracle_puts_the_answering_passage_first_for_the_question_asked_only():
    others = [f"Les data centres consomment {n}00 TWh." for n in range(6)]
    kb = oracle_answers.AnswerFirst(FakeKB(*others, "Une requête ChatGPT consomme 2,9 Wh."))
    kb.question = dict(QUESTION, expect=[["panel-summary", "ChatGPT consomme 2,9 Wh"]])
    hits = kb.search(QUESTION["question"], k=5)
    assert len(hits) == 5 and hits[0].passage.id == "p6" and [h.passage.id for h in hits[1:]] == ["p0", "p1", "p2", "p3"]
    assert [h.passage.id for h in kb.search("data centres", k=2)] == ["p0", "p1"]  # another query: untouched
    assert where_lost.stage(kb, QUESTION, row("Une requête ChatGPT consomme 3 Wh [1].")) == "model"
    assert len(kb.passages) == 7  # the rest is the knowledge base's own


def test_context_recall_counts_facts_retrieved_and_facts_sent_by_language_group():
    context_recall = _script("context_recall")

    class GlossaryKB(FakeKB):
        glossary: tuple[str, ...] = ()

    expect = [["panel-summary", "2,9 Wh"]]
    sent = GlossaryKB("Une requête ChatGPT consomme 2,9 Wh.")
    assert context_recall.recall(sent, [dict(QUESTION, expect=expect, lang="fr")]) == {"same": [1, 1, 1]}
    filler = " ".join(["Une requête ChatGPT consomme beaucoup, dit le panel."] * 4)
    far = GlossaryKB(*[filler] * 4, "Selon l'AIE, 2,9 Wh.")
    english = dict(QUESTION, question="How much does a ChatGPT request use?", lang="en", expect=expect)
    unanswerable = dict(QUESTION, answerable=False)
    assert context_recall.recall(far, [english, unanswerable]) == {"cross": [1, 1, 0]}  # retrieved, not among the sentences sent


def test_every_rule_the_ablations_switch_off_is_still_in_the_code():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))  # they import each other
    for script, table in (("ablate_context", "RULES"), ("ablate_checks", "CHECKS")):
        for name, patches in getattr(_script(script), table).items():
            for module, attribute, _ in patches:
                assert hasattr(module, attribute), f"{script}: {name!r} switches off {module.__name__}.{attribute}, which is gone"
