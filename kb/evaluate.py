"""Evaluation: retrieval recall@1/@5 and MRR per search mode, quote attribution, and answer quality and speed.

The question sets name, for each question, the passage(s) that answer it as (document, text it
contains), and for answers the key facts a correct answer states; `evaluate()` runs them all.
"""
from __future__ import annotations

import re
import resource
import statistics
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kb.errors import EventKBError
from kb.knowledge import KnowledgeBase
from kb.textnorm import fold

EVAL_SET = Path(__file__).resolve().parent.parent / "eval" / "retrieval.toml"
ANSWER_SET = Path(__file__).resolve().parent.parent / "eval" / "answers.toml"
EVENT_SETS = Path(__file__).resolve().parent.parent / "eval" / "events"  # one file per event, named by its id


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
    from kb.errors import NotFound

    for case in cases:
        try:
            _, hits = kb.quotes(case["speaker"])
        except NotFound:  # the knowledge base does not know this person: none of their quotes is found
            hits = []
        texts = [_norm(h.passage.text) for h in hits]
        missing = [m for m in case["must"] if not any(_norm(m) in t for t in texts)]
        wrong = [m for m in case["must_not"] if any(_norm(m) in t for t in texts)]
        results.append({"speaker": case["speaker"], "quotes": len(hits), "required": len(case["must"]), "missing": missing, "wrongly_attributed": wrong})
    return results


def quote_scores(results: list[dict]) -> dict:
    """Attribution precision (attributed passages that are not someone else's words) and recall (required passages
    found), over the results of `attribution`."""
    quotes = sum(c["quotes"] for c in results)
    wrong = sum(len(c["wrongly_attributed"]) for c in results)
    required = sum(c["required"] for c in results)
    return {"attributed_passages": quotes, "precision": round(1 - wrong / max(1, quotes), 3),
            "recall": round(1 - sum(len(c["missing"]) for c in results) / max(1, required), 3), "required": required}


def event_set(kb: KnowledgeBase, folder: Path = EVENT_SETS) -> dict | None:
    """The question set written for the event this KB holds (eval/events/<event id>.toml), if there is one."""
    event_id = (kb.event or {}).get("id")
    path = folder / f"{event_id}.toml"
    return load_set(path) if event_id and path.is_file() else None


def batch_of(question_id: str) -> str:
    """The batch a question of the answer set belongs to: its "hX-" prefix, or "first" for the first 61."""
    found = re.match(r"(h[a-z])-", question_id)
    return found.group(1) if found else "first"


SPLITS = ("tuned on", "held out", "all")


def groups_of(row: dict) -> tuple[str, str, str]:
    """The groups a scored answer row is counted in: its batch, "held out" or "tuned on", and "all"."""
    return batch_of(row["id"]), "held out" if row["held_out"] else "tuned on", "all"


def holds(text: str, alternatives: list[str]) -> bool:
    """Whether `text` contains one of the alternatives of a key fact, compared without case or accents."""
    flat = _norm(text)
    return any(_norm(a) in flat for a in alternatives)


def score_answer(question: dict, record: dict) -> dict:
    """One answer against its question: key facts, citation precision, abstention and language."""
    from kb.language import detect

    facts = question.get("facts", [])
    answered = not record["abstained"]
    facts_ok = answered and question["answerable"] and all(holds(record["answer"], alts) for alts in facts)
    good_citations = 0
    for c in record["citations"]:
        holds_fact = any(holds(c["text"], alts) for alts in facts)
        expected = any(c["document"] == doc and _norm(snippet) in _norm(c["text"]) for doc, snippet in question.get("expect", []))
        good_citations += bool(holds_fact or expected)
    return {
        "id": question["id"],
        "lang": question["lang"],
        "held_out": bool(question.get("held_out")),
        "answerable": question["answerable"],
        "abstained": record["abstained"],
        "facts_ok": facts_ok,
        "citations": len(record["citations"]),
        "good_citations": good_citations,
        "language_ok": (detect(record["answer"], default=question["lang"]) == question["lang"]) if answered else None,
        "answer": record["answer"],
        "raw_answer": record.get("raw_answer", ""),
        "abstain_reason": record.get("abstain_reason"),
        "decline_p": record.get("decline_p"),
        "declined": (record.get("decline_p") or 0.0) >= record.get("settings", {}).get("decline_at", float("inf")),
        "first_token_ms": record["timings"]["first_token_ms"],
        "first_shown_ms": record["timings"].get("first_shown_ms", record["timings"]["first_token_ms"]),
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
        "citation_recall": ratio(sum(r["facts_ok"] and r["good_citations"] > 0 for r in answerable), sum(r["facts_ok"] for r in answerable)),
    }


def percentile(values: list[float], q: float) -> float:
    """The value at quantile q (0-1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def speed_summary(rows: list[dict]) -> dict:
    """Median and 90th percentile of time to the model's first token and to the first checked sentence shown, total time,
    tokens, CPU time and energy, over answers that ran the model."""
    generated = [r for r in rows if r["tokens"]["completion"]]
    out: dict = {"answers_with_generation": len(generated), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    fields = {"first_token_s": lambda r: r["first_token_ms"] / 1000, "first_shown_s": lambda r: r.get("first_shown_ms", r["first_token_ms"]) / 1000, "total_s": lambda r: r["total_ms"] / 1000,
              "completion_tokens": lambda r: r["tokens"]["completion"], "prompt_tokens": lambda r: r["tokens"]["prompt"],
              "cpu_s": lambda r: r["cpu_seconds"], "wh": lambda r: r["wh"]}
    for name, get in fields.items():
        values = [get(r) for r in generated]
        out[name] = {"median": round(statistics.median(values), 5), "p90": round(percentile(values, 0.9), 5)} if values else None
    return out


def _usable(question: dict, ingested: set[str]) -> bool:
    expect = question.get("expect") or []
    return not expect and not question.get("answerable", True) or any(doc in ingested for doc, _ in expect)


def subset(questions: list[dict], n: int | None) -> list[dict]:
    """Every k-th question, so that a quick run keeps the mix of languages and sources."""
    if not n or n >= len(questions):
        return questions
    step = len(questions) / n
    return [questions[int(i * step)] for i in range(n)]


def in_batch(questions: list[dict], batch: str | None) -> list[dict]:
    """The questions of one batch of the answer set ("first", "hp"), or all of them when no batch is named."""
    if batch is None:
        return questions
    picked = [q for q in questions if batch_of(q["id"]) == batch]
    if not picked:
        names = ", ".join(dict.fromkeys(batch_of(q["id"]) for q in questions))
        raise EventKBError(f"No answer question belongs to the batch {batch!r}: use one of {names}.")
    return picked


def answer_all(answerer, questions: list[dict], log: Callable[[str], None]) -> list[dict]:
    """Ask every question and score its answer, logging one line per answer."""
    rows = []
    for q in questions:
        row = score_answer(q, answerer.ask(q["question"]))
        rows.append(row)
        log(f"{'abst' if row['abstained'] else ('ok  ' if row['facts_ok'] else 'miss')} {q['id']}: {row['answer'][:90]}")
    return rows


def evaluate(kb: KnowledgeBase, answerer, n: int | None = None, log: Callable[[str], None] = lambda m: None,
             batch: str | None = None) -> dict:
    """Retrieval, quotes and answers on the committed sets (answers of one batch only, if named), restricted to
    questions whose sources this KB holds."""
    ingested = {d["id"] for d in kb.documents() if d["ingested"]}
    retrieval_set = load_set()
    questions = [q for q in retrieval_set["questions"] if _usable(q, ingested)]
    answer_questions = [q for q in in_batch(load_set(ANSWER_SET)["questions"], batch) if _usable(q, ingested)]
    skipped = len(retrieval_set["questions"]) - len(questions)
    questions, answer_questions = subset(questions, n), subset(answer_questions, n)
    bundled = bool(questions)  # the committed sets are the bundled event's; another event has its own file
    answer_questions = answer_questions if bundled else []
    result: dict = {"retrieval": [retrieval(kb, questions, mode).to_json() for mode in ("bm25", "dense", "hybrid")] if bundled else [],
                    "quotes": attribution(kb, retrieval_set["quotes"]) if bundled else []}
    result["quote_attribution_precision"] = quote_scores(result["quotes"])["precision"] if bundled else None
    rows = answer_all(answerer, answer_questions, log)
    result["answers"] = summarise_answers(rows)
    # Questions written after the pipeline was tuned, scored apart: the honest estimate for unseen questions.
    held_out = [r for r in rows if r["held_out"]]
    result["answers_held_out"] = summarise_answers(held_out) if held_out else None
    result["answers_tuned_on"] = summarise_answers([r for r in rows if not r["held_out"]]) if held_out else None
    own = event_set(kb)
    if own is not None:
        cases = attribution(kb, own.get("quotes", []))
        result["event"] = {"id": own["event"], "batch": own.get("batch"), "quotes": cases, "quote_scores": quote_scores(cases)}
        own_questions = subset(own.get("questions", []), n)
        findable = [q for q in own_questions if q.get("expect")]
        result["event"]["retrieval"] = [retrieval(kb, findable, mode).to_json() for mode in ("bm25", "dense", "hybrid")] if findable else []
        own_rows = answer_all(answerer, own_questions, log)
        result["event"]["answers"] = summarise_answers(own_rows) if own_rows else None
        result["event"]["rows"] = own_rows
        rows = rows + own_rows  # in the speed figures too
    result["speed"] = speed_summary(rows)
    result["model"] = answerer.generator.info.to_json()
    result["meter"] = answerer.meter.name
    result["counts"] = {"retrieval_questions": len(questions), "answer_questions": len(answer_questions),
                        "skipped_for_missing_documents": skipped, "ingested": sorted(ingested)}
    result["rows"] = rows
    return result
