"""Retrieval evaluation: recall@1, recall@5 and MRR per search mode, and quote attribution checks.

The question set names, for each question, the passage(s) that answer it as (document, text it
contains); a hit counts when a retrieved passage matches one of them.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from kb.knowledge import KnowledgeBase
from kb.textnorm import fold

EVAL_SET = Path(__file__).resolve().parent.parent / "eval" / "retrieval.toml"
ANSWER_SET = Path(__file__).resolve().parent.parent / "eval" / "answers.toml"


def _norm(text: str) -> str:
    return " ".join(fold(text).replace("’", "'").replace("“", '"').replace("”", '"').split())


def load_set(path: Path = EVAL_SET) -> dict:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != 1:
        raise ValueError(f"{path}: unknown format")
    return data


def matches(passage, expect: list[list[str]]) -> bool:
    """True when the passage is one that answers: same document and it contains the expected text."""
    text = _norm(passage.text)
    return any(passage.document == doc and _norm(snippet) in text for doc, snippet in expect)


@dataclass
class Scores:
    mode: str
    recall_at_1: float
    recall_at_5: float
    mrr: float
    misses: list[str]
    by_lang: dict[str, float]

    def to_json(self) -> dict:
        return {"mode": self.mode, "recall@1": round(self.recall_at_1, 3), "recall@5": round(self.recall_at_5, 3),
                "mrr": round(self.mrr, 3), "recall@5_by_lang": {k: round(v, 3) for k, v in self.by_lang.items()}, "misses": self.misses}


def retrieval(kb: KnowledgeBase, questions: list[dict], mode: str, depth: int = 10) -> Scores:
    """Score one search mode on the questions."""
    r1 = r5 = rr = 0.0
    misses: list[str] = []
    lang_hits: dict[str, list[int]] = {}
    for q in questions:
        hits = kb.search(q["question"], k=depth, mode=mode)
        rank = next((i for i, h in enumerate(hits, start=1) if matches(h.passage, q["expect"])), None)
        r1 += rank == 1
        r5 += rank is not None and rank <= 5
        rr += 1.0 / rank if rank else 0.0
        lang_hits.setdefault(q["lang"], []).append(int(rank is not None and rank <= 5))
        if not rank or rank > 5:
            misses.append(q["id"])
    n = max(len(questions), 1)
    return Scores(mode, r1 / n, r5 / n, rr / n, misses, {k: sum(v) / len(v) for k, v in lang_hits.items()})


def attribution(kb: KnowledgeBase, cases: list[dict]) -> list[dict]:
    """For each person: which required passages their quotes miss and which forbidden ones they include."""
    results = []
    for case in cases:
        _, hits = kb.quotes(case["speaker"])
        texts = [_norm(h.passage.text) for h in hits]
        missing = [m for m in case["must"] if not any(_norm(m) in t for t in texts)]
        wrong = [m for m in case["must_not"] if any(_norm(m) in t for t in texts)]
        results.append({"speaker": case["speaker"], "quotes": len(hits), "missing": missing, "wrongly_attributed": wrong})
    return results


def _has(text: str, alternatives: list[str]) -> bool:
    flat = _norm(text)
    return any(_norm(a) in flat for a in alternatives)


def score_answer(question: dict, record: dict) -> dict:
    """One answer against its question: key facts, citation precision, abstention and language."""
    from kb.language import detect

    facts = question.get("facts", [])
    answered = not record["abstained"]
    facts_ok = answered and question["answerable"] and all(_has(record["answer"], alts) for alts in facts)
    good_citations = 0
    for c in record["citations"]:
        holds_fact = any(_has(c["text"], alts) for alts in facts)
        expected = any(c["document"] == doc and _norm(snippet) in _norm(c["text"]) for doc, snippet in question.get("expect", []))
        good_citations += bool(holds_fact or expected)
    return {
        "id": question["id"],
        "lang": question["lang"],
        "answerable": question["answerable"],
        "abstained": record["abstained"],
        "facts_ok": facts_ok,
        "citations": len(record["citations"]),
        "good_citations": good_citations,
        "language_ok": (detect(record["answer"], default=question["lang"]) == question["lang"]) if answered else None,
        "answer": record["answer"],
        "first_token_ms": record["timings"]["first_token_ms"],
        "total_ms": record["timings"]["total_ms"],
        "cpu_seconds": record["energy"]["cpu_seconds"],
        "wh": record["energy"]["wh"],
        "tokens": record["tokens"],
    }


def summarise_answers(rows: list[dict]) -> dict:
    """Key-fact accuracy, citation precision, abstention accuracy/precision/recall, language match."""
    answerable = [r for r in rows if r["answerable"]]
    cited = sum(r["citations"] for r in rows if not r["abstained"])
    abstained = [r for r in rows if r["abstained"]]
    should = [r for r in rows if not r["answerable"]]
    answered = [r for r in rows if not r["abstained"]]

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 3) if b else None

    return {
        "questions": len(rows),
        "key_fact_accuracy": ratio(sum(r["facts_ok"] for r in answerable), len(answerable)),
        "citation_precision": ratio(sum(r["good_citations"] for r in rows if not r["abstained"]), cited),
        "abstention_accuracy": ratio(sum(r["abstained"] == (not r["answerable"]) for r in rows), len(rows)),
        "abstention_precision": ratio(sum(not r["answerable"] for r in abstained), len(abstained)),
        "abstention_recall": ratio(sum(r["abstained"] for r in should), len(should)),
        "language_match": ratio(sum(bool(r["language_ok"]) for r in answered), len(answered)),
    }
