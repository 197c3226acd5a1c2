"""Answer a question from the knowledge base: retrieve, prompt a local model, check every sentence, keep the record.

`Answerer.stream()` yields events as they happen: the retrieved passages, the answer's text pieces,
the checked citations, then the final record (also written to the audit log).
"""
from __future__ import annotations

import re
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from kb import audit
from kb.context import WORD_BUDGET, Source, content_words, coverage, select
from kb.energy import Energy, Meter, grid_intensity
from kb.errors import EventKBError
from kb.generator import Generator, Usage
from kb.knowledge import Hit, KnowledgeBase
from kb.language import detect
from kb.query import asked_unit
from kb.store import Passage
from kb.support import REFUSAL, Sentence, check, is_refusal, off_topic, repeats, subjects, unmentioned, word_matches
from kb.textnorm import tokens

MAX_QUESTION_CHARS = 1000
K = 5  # passages retrieved
MAX_TOKENS = 120  # one or two sentences
MIN_COVERAGE = 0.34  # share of the question's content words one retrieved passage must hold
QUOTE_COVERAGE = (0.75, 0.65)  # share of them one source sentence must hold to be quoted when the model declines (short, long question)

# Constant, so that llama.cpp reuses its evaluated prefix from one question to the next.
SYSTEM = (
    "You answer questions about a panel on generative AI and the environment (AILouvain, 18 March 2024). "
    "Each question comes with numbered sources. Give the answer the sources contain, in one or two short sentences, "
    "in the language the question asks for, ending each sentence with its source number like [1]. "
    "Copy figures, units and names exactly as the source writes them. "
    f"Reply {REFUSAL} only when no source gives the answer."
)
ABSTAIN = {
    "fr": "Les sources de l'événement ne répondent pas à cette question.",
    "en": "The event's sources do not answer this question.",
}
LANGUAGE_NAMES = {"fr": "French", "en": "English"}
ECHO = "the answer only repeats the question"
NO_PASSAGE = "retrieval found no passage relevant to the question"


class BusyError(EventKBError):
    """The model is answering someone else and the wait ran out."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"The model is busy answering another question: retry in {retry_after} s.")
        self.retry_after = retry_after


def validate(question: object) -> str:
    """The question, stripped, or a clear error when it is not a usable question."""
    if not isinstance(question, str):
        raise EventKBError("The question must be text.")
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise EventKBError("The question is empty: type a question about the event.")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise EventKBError(f"The question is {len(cleaned)} characters long; the limit is {MAX_QUESTION_CHARS}: shorten it.")
    return cleaned


def messages_for(question: str, language: str, sources: list[Source]) -> list[dict]:
    """The chat messages: the constant system prompt, then the sources and the question."""
    lines = "\n".join(s.prompt_line() for s in sources)
    user = f"Sources:\n{lines}\n\nQuestion: {question}\nAnswer in {LANGUAGE_NAMES[language]}."
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def gather(kb: KnowledgeBase, question: str) -> tuple[list[Hit], float, list[Source]]:
    """The retrieved passages, the largest share of the question's words one of them holds, and the numbered sources
    for the prompt (none when that share is below MIN_COVERAGE)."""
    hits = kb.search(question, k=K)
    if subjects(question) and all(unmentioned(question, [h.passage]) for h in hits):
        # None of them can back an answer (see `unmentioned`): look again among the passages that name the subject.
        naming = {p.row for p in kb.passages if not unmentioned(question, [p])}
        if naming:
            hits = kb.search(question, k=K, within=naming)
    passages = about_subjects(question, [h.passage for h in hits])
    relevance = coverage(question, passages)
    return hits, relevance, select(question, passages) if relevance >= MIN_COVERAGE else []


def about_subjects(question: str, passages: list[Passage]) -> list[Passage]:
    """The passages in retrieval order, those that mention every name the question asks about ("ChatGPT", "BLOOM")
    first: only they can back an answer (see `unmentioned`), so they must not lose their place in the prompt to others."""
    if not subjects(question):
        return passages
    mention = [p for p in passages if not unmentioned(question, [p])]
    return mention + [p for p in passages if p not in mention]


def shown(language: str, sources: list[Source], sentences: list[Sentence], reason: str | None) -> tuple[str, list[dict]]:
    """The answer as shown and its citations: the fixed sentence and none when there is a reason to abstain."""
    if reason is not None:
        return ABSTAIN[language], []
    by_n = {s.n: s for s in sources}
    cited = sorted({n for s in sentences if s.supported for n in s.citations})
    return compose(sentences), [_citation(by_n[n]) for n in cited]


def _citation(source: Source) -> dict:
    p = source.passage
    return {"n": source.n, "id": p.id, "text": p.text, "document": p.document, "title": p.title, "page": p.page,
            "lines": list(p.lines) if p.lines else None, "speaker": p.speaker}


def compose(sentences: list[Sentence]) -> str:
    """The answer as shown: the supported sentences, each followed by its checked citations."""
    parts = []
    for s in sentences:
        if s.supported:
            body, stop = (s.text[:-1], s.text[-1]) if s.text[-1:] in ".!?" else (s.text, "")
            parts.append(body.rstrip() + "".join(f" [{n}]" for n in s.citations) + stop)
    return " ".join(parts)


def quote_fallback(question: str, language: str, sources: list[Source]) -> Sentence | None:
    """When the model declines, a source sentence in the question's language that holds nearly all its words, quoted verbatim."""
    words = content_words(question)
    if len(words) < 2:
        return None
    needed = QUOTE_COVERAGE[0] if len(words) < 5 else QUOTE_COVERAGE[1]
    for source in sources:
        for sentence in source.sentences:
            have = set(tokens(sentence))
            held = sum(word_matches(w, have) for w in words) / len(words)
            if held >= needed and detect(sentence, default=language) == language and 4 <= len(sentence.split()) <= 60:
                text = f"« {sentence.strip(' «»')} »" if language == "fr" else f"“{sentence.strip(' “”')}”"
                return Sentence(text, [], [source.n], True)
    return None


def settle(question: str, language: str, sources: list[Source], raw: str) -> tuple[list[Sentence], str | None, str]:
    """What the model's reply becomes: its checked sentences, the reason to abstain (None when it answers) and the
    mode ("generated", "quoted" when a source sentence is quoted instead, "abstained")."""
    by_n = {s.n: s for s in sources}
    sentences: list[Sentence] = []
    reason = None
    if is_refusal(raw):
        reason = "the model found no answer in the sources"
    else:
        sentences = check(raw, sources, question)
        supported = " ".join(s.text for s in sentences if s.supported)
        if not supported:
            reason = "no sentence of the model's answer is supported by the sources"
        elif repeats(question, supported):
            reason = ECHO
        elif off_topic(question, supported):
            reason = "the answer speaks of nothing the question asks about"
    mode = "generated"
    # Declined, said nothing ("1.", "The answer is 1." carry fewer than two content words) or only echoed the question.
    declined = is_refusal(raw) or reason == ECHO or len([w for w in content_words(re.sub(r"\[\d+\]", "", raw)) if not w[0].isdigit()]) < 2
    if reason is not None and declined:
        # The model declined (or said nothing, like "1."), yet a source sentence holds nearly all the question: quote it.
        quoted = quote_fallback(question, language, sources)
        if quoted is not None:
            sentences, reason, mode = [quoted], None, "quoted"
    if reason is None:
        backing = [by_n[n].passage for s in sentences if s.supported for n in s.citations]
        missing = unmentioned(question, backing)
        if missing:  # "GPT-4" asked, a passage on GPT-3 or BLOOM cited: the answer is about something else
            reason = f"the passages behind the answer do not mention {', '.join(missing)}"
    unit = asked_unit(question)
    if reason is None and unit is not None and not any(unit.search(s.text) for s in sentences if s.supported):
        # "What is AILouvain's budget?" answered in TWh, "how much CO2" answered in kWh: not what was asked.
        reason = "the answer gives no figure of the kind the question asks for"
    return sentences, reason, "abstained" if reason is not None else mode


def _add(a: Energy, b: Energy) -> Energy:
    return Energy(a.joules + b.joules, a.joules_low + b.joules_low, a.joules_high + b.joules_high, b.method, a.cpu_seconds + b.cpu_seconds, b.detail)


@dataclass
class Answerer:
    """Everything one answer needs: the knowledge base, one generator, one meter, the audit log."""

    kb: KnowledgeBase
    generator: Generator
    meter: Meter
    audit_log: sqlite3.Connection | None = None
    wait_s: float = 300.0
    settings: dict = field(default_factory=lambda: {"k": K, "max_tokens": MAX_TOKENS, "min_coverage": MIN_COVERAGE, "word_budget": WORD_BUDGET})

    def ask(self, question: str) -> dict:
        """The final record of an answer (the stream consumed)."""
        record = None
        for event in self.stream(question):
            if event["type"] == "record":
                record = event["record"]
        assert record is not None
        return record

    def stream(self, question: str) -> Iterator[dict]:
        """Events: {"type": "retrieval"}, {"type": "token", "text"} ..., {"type": "citations"}, {"type": "record"}."""
        question = validate(question)
        t0 = time.perf_counter()
        language = detect(question)
        read_retrieval = self.meter.start()
        hits, relevance, sources = gather(self.kb, question)
        energy = read_retrieval()
        retrieval_ms = (time.perf_counter() - t0) * 1000
        yield {"type": "retrieval", "passages": [h.to_json() for h in hits], "sources": [s.n for s in sources]}

        usage = Usage()
        raw = ""
        first_token_ms = None
        generation_ms = 0.0
        reason = None
        if not sources:
            reason = NO_PASSAGE
        else:
            if not self.generator.lock.acquire(timeout=self.wait_s):
                raise BusyError(max(1, int(self.wait_s)))
            try:
                read = self.meter.start()
                g0 = time.perf_counter()
                pending = ""
                for piece in self.generator.stream(messages_for(question, language, sources), MAX_TOKENS, usage):
                    raw += piece
                    # Hold back what may still become the refusal marker, so that it is never shown.
                    if REFUSAL.startswith(raw.strip()[: len(REFUSAL)]) and len(raw.strip()) <= len(REFUSAL):
                        pending += piece
                        continue
                    if first_token_ms is None:
                        first_token_ms = (time.perf_counter() - t0) * 1000
                    yield {"type": "token", "text": pending + piece}
                    pending = ""
                generation_ms = (time.perf_counter() - g0) * 1000
                energy = _add(energy, read())
            finally:
                self.generator.lock.release()

        if reason is None:
            sentences, reason, mode = settle(question, language, sources, raw)
        else:
            sentences, mode = [], "abstained"
        abstained = reason is not None
        answer, citations = shown(language, sources, sentences, reason)
        if first_token_ms is None:
            first_token_ms = (time.perf_counter() - t0) * 1000
            yield {"type": "token", "text": answer}
        yield {"type": "citations", "citations": citations}

        record = {
            "id": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8],
            "created": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "question": question,
            "language": language,
            "answer": answer,
            "abstained": abstained,
            "abstain_reason": reason,
            "mode": mode,
            "raw_answer": raw,
            "answer_language": detect(raw, default=language) if raw and not is_refusal(raw) else language,
            "citations": citations,
            "sentences": [s.to_json() for s in sentences],
            "retrieved": [{"n": n, "id": h.passage.id, "document": h.passage.document, "score": round(h.score, 6)} for n, h in enumerate(hits, start=1)],
            "sources": [{"n": s.n, "id": s.passage.id, "sentences": list(s.sentences)} for s in sources],
            "relevance": round(relevance, 3),
            "model": self.generator.info.to_json(),
            "tokens": {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens},
            "timings": {"retrieval_ms": round(retrieval_ms, 1), "first_token_ms": round(first_token_ms, 1),
                        "generation_ms": round(generation_ms, 1), "total_ms": round((time.perf_counter() - t0) * 1000, 1)},
            "energy": energy.to_json(grid_intensity()),
            "settings": self.settings,
            "build": self.kb.build.name,
        }
        if self.audit_log is not None:
            retrieved = [dict(h.passage.to_json(), n=n) for n, h in enumerate(hits, start=1)]
            try:
                audit.save(self.audit_log, record, retrieved)
            except sqlite3.Error as exc:  # disk full, read-only: the transaction is rolled back whole
                raise EventKBError(f"The answer could not be written to the audit log ({exc}): free some disk space and ask again.") from None
        yield {"type": "record", "record": record}
