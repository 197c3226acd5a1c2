"""Answer a question from the knowledge base: retrieve, prompt a local model, check every sentence, keep the record.

`Answerer.stream()` yields events as they happen: the retrieved passages, each sentence of the answer once it has
passed its check (never the model's raw text), the answer as shown with its citations, then the final record
(also written to the audit log, cancelled answers included).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterator

from kb import audit, followup
from kb.answer.prompt import messages_for, system_prompt
from kb.answer.checks import ACROSS_SIMILARITY, NO_PASSAGE, checked_so_far, closeness, compose, event_of, settle, shown
from kb.answer.question import Question
from kb.answer.sources import K, gather
from kb.answer.context import WORD_BUDGET, Source
from kb.energy import Energy, Meter, grid_intensity
from kb.errors import EventKBError
from kb.generator import Generator, Usage
from kb.knowledge import Hit, KnowledgeBase
from kb.language import detect
from kb.answer.verify import REFUSAL, Similar, Sentence, complete_part, is_refusal
from kb.words import BRIDGE_AT

MAX_QUESTION_CHARS = 1000
MAX_TOKENS = 120  # one or two sentences
DECLINE_AT = 0.006  # the model declines when it gives its refusal this probability at its first word (BENCHMARKS.md)
CANCELLED = "the client left before the answer was complete"
WAIT_SLICE_S = 0.25  # how often a question waiting for the model checks that its client is still there
FOLLOWUP = "fused"  # how follow-ups are made standalone by default: see BENCHMARKS.md, "Follow-up questions"


class BusyError(EventKBError):
    """The model is answering someone else and the wait ran out."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"The model is busy answering another question: retry in {retry_after} s.")
        self.retry_after = retry_after


def validate(question: object) -> str:
    """The question, stripped, or a clear error when it is not a usable question."""
    if not isinstance(question, str):
        raise EventKBError("The question must be text.")
    # Line and paragraph separators (U+2028, U+2029) and other non-printing spaces separate words: keep a space.
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " if ch.isspace() else "" for ch in question).strip()
    if not cleaned:
        raise EventKBError("The question is empty: type a question about the event.")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise EventKBError(f"The question is {len(cleaned)} characters long; the limit is {MAX_QUESTION_CHARS}: shorten it.")
    return cleaned


def cache_key(question: str, build: str, model_sha256: str, settings: dict) -> str:
    """The key an answer is kept under: the question with case, spacing and punctuation normalised, and the build, model
    and settings it was made with, so that a re-ingest, another model or other settings never reuse it."""
    normal = " ".join(re.sub(r"[^\w\s]", " ", question.casefold()).split())
    return hashlib.sha256(json.dumps([normal, build, model_sha256, settings], sort_keys=True).encode()).hexdigest()


@dataclass
class Answerer:
    """Everything one answer needs: the knowledge base, one generator, one meter, the audit log. With an audit log and
    `cache`, a question asked before on the same build, model and settings gets the stored answer again."""

    kb: KnowledgeBase
    generator: Generator
    meter: Meter
    audit_log: sqlite3.Connection | None = None
    wait_s: float = 300.0
    settings: dict = field(default_factory=dict)
    cache: bool = True
    followup: str = FOLLOWUP  # how a follow-up question is made standalone (kb.followup.METHODS)

    def __post_init__(self) -> None:
        defaults = {"k": K, "max_tokens": MAX_TOKENS, "word_budget": WORD_BUDGET, "similarity": ACROSS_SIMILARITY, "followup": self.followup,
                    "decline_at": DECLINE_AT, "bridge_at": BRIDGE_AT}
        unknown = sorted(set(self.settings) - set(defaults))
        if unknown:
            raise EventKBError(f"Unknown answer setting {unknown[0]!r}: use one of {', '.join(defaults)}.")
        self.settings = {**defaults, **self.settings}  # a record's settings given back make the same answer again
        self.followup = self.settings["followup"]
        if self.followup not in followup.METHODS:
            raise EventKBError(f"Unknown follow-up method {self.followup!r}: use one of {', '.join(followup.METHODS)}.")

    def ask(self, question: str, gone: Callable[[], bool] = lambda: False, conversation: str | None = None) -> dict:
        """The final record of an answer (the stream consumed)."""
        record = None
        for event in self.stream(question, gone, conversation):
            if event["type"] == "record":
                record = event["record"]
        assert record is not None
        return record

    def _wait_for_model(self, gone: Callable[[], bool]) -> bool:
        """Take the model's lock; False when the client left meanwhile. BusyError when the wait runs out."""
        deadline = time.monotonic() + self.wait_s
        while not self.generator.lock.acquire(timeout=min(WAIT_SLICE_S, max(0.0, deadline - time.monotonic()))):
            if gone():
                return False
            if time.monotonic() >= deadline:
                raise BusyError(max(1, int(self.wait_s)))
        if gone():  # left while the one before was answered
            self.generator.lock.release()
            return False
        return True

    def _history(self, conversation: str | None) -> list[followup.Turn]:
        """The last complete turn of a conversation, as the follow-up methods read it; none for a new conversation."""
        if conversation is None:
            return []
        if self.audit_log is None:
            raise EventKBError("Follow-up questions need the audit log, where conversations are kept: ask without a conversation.")
        turns = [r for r in audit.conversation(self.audit_log, conversation) if not r.get("cancelled")]
        if not turns:
            return []
        last = turns[-1]
        return [followup.Turn(last.get("searched") or last["question"], "" if last["abstained"] else last["answer"])]

    def _rewrite(self, run: _Run, history: list[followup.Turn], gone: Callable[[], bool]) -> None:
        """Make the follow-up standalone (with the model when that is the method: metered, timed and under its lock)."""
        t0 = time.perf_counter()
        if self.followup not in followup.NEEDS_MODEL:
            rewrite = followup.standalone(self.followup, run.asked, history, self.kb.people)
        elif not self._wait_for_model(gone):
            run.cancelled = True
            rewrite = followup.Rewrite(run.asked, "none")
        else:
            read = self.meter.start()
            usage = Usage()
            try:
                rewrite = followup.standalone(self.followup, run.asked, history, self.kb.people, self.generator)
                usage = rewrite.usage or usage
            finally:
                self.generator.lock.release()
                run.energy += self._generation_energy(usage, read)
        run.rewrite = {**rewrite.to_json(), "ms": round((time.perf_counter() - t0) * 1000, 1)}
        run.question, run.also = rewrite.searched, rewrite.also

    def stream(self, question: str, gone: Callable[[], bool] = lambda: False, conversation: str | None = None) -> Iterator[dict]:
        """Events: {"type": "retrieval"}, {"type": "sentence"} for each checked sentence as soon as it is known,
        {"type": "answer"} (the answer as shown, which replaces them) and {"type": "record"}. The model's raw text is
        never yielded. When `gone()` turns true, or the consumer closes the stream, generation stops and the answer
        is recorded as cancelled. With `conversation` (the id of its first answer), the question is a follow-up:
        it is made standalone from the turn before, and that is what is searched and answered."""
        question = validate(question)
        history = self._history(conversation)
        run = _Run(question, followup.language_of(question, history) if history else detect(question), time.perf_counter())
        run.asked, run.conversation = question, conversation
        if history:
            self._rewrite(run, history, gone)
        engine = dict(self.generator.info.options)  # how llama.cpp ran the model, which can change its replies
        run.cache_key = cache_key(run.question, self.kb.build.name, self.generator.info.sha256, {**self.settings, **({"engine": engine} if engine else {})})
        earlier = audit.cached(self.audit_log, run.cache_key) if self.cache and self.audit_log is not None else None
        if earlier is not None:
            yield from self._repeat(run, earlier)
            return
        read_retrieval = self.meter.start()
        run.read = Question.parse(run.question, run.language)
        run.hits, run.sources = gather(self.kb, run.read, run.also, int(self.settings["k"]), int(self.settings["word_budget"]),
                                       float(self.settings["bridge_at"]))
        run.energy += read_retrieval()
        run.retrieval_ms = (time.perf_counter() - run.t0) * 1000
        try:
            yield {"type": "retrieval", "passages": [h.to_json() for h in run.hits], "sources": [s.n for s in run.sources], "searched": run.question,
                   "also_searched": list(run.also)}
            if run.sources and not run.cancelled:
                if not self._wait_for_model(gone):
                    run.cancelled = True
                else:
                    try:
                        yield from self._generate(run, gone)
                    finally:
                        self.generator.lock.release()
        except GeneratorExit:  # the consumer hung up: nothing more can be sent, but the record is kept
            run.cancelled = True
            with contextlib.suppress(EventKBError):  # a full disk: nobody is left to tell
                self._settle(run)
            raise
        yield from self._settle(run)

    def _generate(self, run: _Run, gone: Callable[[], bool]) -> Iterator[dict]:
        messages = messages_for(run.question, run.language, run.sources, system_prompt(self.kb.event))
        complete = ""
        run.usage.decline = REFUSAL
        with contextlib.closing(self._model_pieces(run, messages, int(self.settings["max_tokens"]), gone)) as pieces:
            for _ in pieces:
                if run.usage.decline_p is not None and run.usage.decline_p >= float(self.settings["decline_at"]):
                    run.declined = True  # read at the first word: the rest need not be written
                    return
                if len(complete_part(run.raw)) > len(complete):  # one more sentence is complete: show it if the answer so far holds
                    complete = complete_part(run.raw)
                    yield from self._show(run, checked_so_far(run.read, run.sources, run.raw, *self._across()))

    def _model_pieces(self, run: _Run, messages: list[dict], max_tokens: int, gone: Callable[[], bool]) -> Iterator[str]:
        """The model's reply piece by piece, added to `run.raw`, timed and metered; it stops when the client leaves, and
        closing it stops the model at once."""
        read = self.meter.start()
        g0 = time.perf_counter()
        pieces = self.generator.stream(messages, max_tokens, run.usage)
        try:
            for piece in pieces:
                if run.first_token_ms is None:
                    run.first_token_ms = run.elapsed_ms()
                run.raw += piece
                if gone():
                    run.cancelled = True
                    return
                yield piece
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # stops llama.cpp at once when the loop did not run to its end
            run.generation_ms = (time.perf_counter() - g0) * 1000
            run.energy += self._generation_energy(run.usage, read)

    def _generation_energy(self, usage: Usage, read: Callable[[], Energy]) -> Energy:
        """This process's energy while the model wrote, plus the model server's estimate when the model runs elsewhere."""
        local = read()
        remote = getattr(self.generator, "energy", None)
        if remote is None:
            return local
        elsewhere = remote(usage)
        return dataclasses.replace(local + elsewhere, detail=f"{elsewhere.detail}; plus this process: {local.detail}")

    def _show(self, run: _Run, supported: list[Sentence]) -> list[dict]:
        """Sentence events for the checked sentences not shown yet."""
        events = []
        for sentence in supported[len(run.shown):]:
            if run.first_shown_ms is None:
                run.first_shown_ms = run.elapsed_ms()
            run.shown.append(sentence)
            events.append({"type": "sentence", "text": compose([sentence]), "citations": sentence.citations})
        return events

    def _repeat(self, run: _Run, earlier: dict) -> Iterator[dict]:
        """Serve a stored answer again: the same events as a new one, and a record of its own marked cached, with this
        request's energy and timings beside the original's energy."""
        read = self.meter.start()
        passages = earlier.pop("retrieved")  # as stored, with their text
        yield {"type": "retrieval", "passages": passages, "sources": [s["n"] for s in earlier["sources"]], "searched": run.question}
        yield {"type": "answer", "text": earlier["answer"], "citations": earlier["citations"], "abstained": earlier["abstained"],
               "mode": earlier["mode"]}
        run.energy, run.first_shown_ms = read(), run.elapsed_ms()
        elapsed = round(run.first_shown_ms, 1)
        record = self._record(run, [], "", [], None, "", [])  # this request's id, time, model, settings and energy
        record.update({
            k: earlier[k] for k in ("answer", "abstained", "abstain_reason", "mode", "raw_answer", "answer_language", "citations",
                                    "sentences", "withdrawn", "sources") if k in earlier})
        record.update({"cached": True, "cached_from": earlier["id"], "original_energy": earlier["energy"],
                       "retrieved": [{"n": p["n"], "id": p["id"], "document": p["document"]} for p in passages],
                       "tokens": {"prompt": 0, "completion": 0},
                       "timings": {"retrieval_ms": 0.0, "first_token_ms": elapsed, "first_shown_ms": elapsed, "generation_ms": 0.0,
                                   "total_ms": elapsed}})
        self._save(record, passages)
        yield {"type": "record", "record": record}

    def _settle(self, run: _Run) -> list[dict]:
        """Settle the answer and keep its record, then return the events left to send: the sentences not shown yet,
        the answer as shown, the record."""
        sentences: list[Sentence] = []
        events: list[dict] = []
        shown_so_far = [compose([s]) for s in run.shown]  # before the last sentences are shown below
        if run.cancelled:
            reason, mode = CANCELLED, "cancelled"
            answer, citations = shown(run.language, run.sources, run.shown, None) if run.shown else ("", [])
        else:
            if not run.sources:
                reason, mode = NO_PASSAGE, "abstained"
            else:
                sentences, reason, mode = settle(run.read, run.sources, REFUSAL if run.declined else run.raw, *self._across())
                if run.declined and reason is not None:
                    reason = f"the model was likely to decline (probability {run.usage.decline_p:.3f} at its first word)"
            answer, citations = shown(run.language, run.sources, sentences, reason)
            supported = [s for s in sentences if s.supported]
            if mode == "generated" and [compose([s]) for s in supported[: len(run.shown)]] == shown_so_far:
                events += self._show(run, supported)
        # Sentences shown while the model wrote that the settled answer does not keep (rare: the whole answer failed a
        # check its first sentences passed). The page replaces them with the answer; the record says so.
        withdrawn = [] if run.cancelled or answer.startswith(" ".join(shown_so_far)) else shown_so_far
        if run.first_shown_ms is None:
            run.first_shown_ms = run.elapsed_ms()
        events.append({"type": "answer", "text": answer, "citations": citations, "abstained": reason is not None, "mode": mode})
        record = self._record(run, sentences or run.shown, answer, citations, reason, mode, withdrawn)
        self._save(record, [dict(h.passage.to_json(), n=n) for n, h in enumerate(run.hits, start=1)])
        events.append({"type": "record", "record": record})
        return events

    def _across(self) -> tuple[Similar, float]:
        """How a sentence in another language than its source is checked: by closeness in meaning, with the knowledge
        base's embedder (multilingual), at least the `similarity` setting."""
        return functools.partial(closeness, self.kb.embedder), float(self.settings["similarity"])

    def _save(self, record: dict, passages: list[dict]) -> None:
        """Write the record and the retrieved passages to the audit log, in one transaction."""
        if self.audit_log is None:
            return
        try:
            audit.save(self.audit_log, record, passages)
        except sqlite3.Error as exc:  # disk full, read-only: the transaction is rolled back whole
            raise EventKBError(f"The answer could not be written to the audit log ({exc}): free some disk space and ask again.") from None

    def _record(self, run: _Run, sentences: list[Sentence], answer: str, citations: list[dict], reason: str | None, mode: str, withdrawn: list[str]) -> dict:
        first_token_ms = run.first_token_ms if run.first_token_ms is not None else run.first_shown_ms
        record_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        return {
            "id": record_id,
            "created": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "question": run.asked,
            "searched": run.question,
            "conversation": run.conversation or record_id,
            "rewrite": run.rewrite,
            "language": run.language,
            "answer": answer,
            "abstained": reason is not None,
            "abstain_reason": reason,
            "mode": mode,
            "cancelled": run.cancelled,
            "raw_answer": run.raw,
            "decline_p": None if run.usage.decline_p is None else round(run.usage.decline_p, 6),
            "answer_language": detect(run.raw, default=run.language) if run.raw and not run.declined and not is_refusal(run.raw) else run.language,
            "citations": citations,
            "sentences": [s.to_json() for s in sentences],
            "withdrawn": withdrawn,
            "retrieved": [{"n": n, **event_of(h.passage), "id": h.passage.id, "document": h.passage.document, "score": round(h.score, 6)} for n, h in enumerate(run.hits, start=1)],
            "sources": [{"n": s.n, **event_of(s.passage), "id": s.passage.id, "sentences": list(s.sentences)} for s in run.sources],
            "model": self.generator.info.to_json(),
            "tokens": {"prompt": run.usage.prompt_tokens, "completion": run.usage.completion_tokens},
            "timings": {"rewrite_ms": (run.rewrite or {}).get("ms", 0.0), "retrieval_ms": round(run.retrieval_ms, 1), "first_token_ms": round(first_token_ms, 1),
                        "first_shown_ms": round(run.first_shown_ms, 1), "generation_ms": round(run.generation_ms, 1),
                        "total_ms": round(run.elapsed_ms(), 1)},
            "energy": run.energy.to_json(grid_intensity()),
            "settings": self.settings,
            "build": self.kb.build.name,
            "cache_key": run.cache_key,
            "cached": False,
            "cached_from": None,
        }


@dataclass
class _Run:
    """The state of one answer while it is produced."""

    question: str
    language: str
    t0: float
    hits: list[Hit] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    energy: Energy = field(default_factory=lambda: Energy(0.0, 0.0, 0.0, "", 0.0))
    retrieval_ms: float = 0.0
    usage: Usage = field(default_factory=Usage)
    raw: str = ""
    first_token_ms: float | None = None
    first_shown_ms: float | None = None
    generation_ms: float = 0.0
    shown: list[Sentence] = field(default_factory=list)
    cancelled: bool = False
    declined: bool = False  # the model's first word made its refusal likely enough (`decline_at`)
    cache_key: str = ""
    asked: str = ""  # the question as typed; `question` is what is searched (the same unless it is a follow-up)
    conversation: str | None = None
    rewrite: dict | None = None  # how a follow-up was made standalone
    also: tuple[str, ...] = ()  # other wordings of the question searched with it (a follow-up after the question before)
    read: Question | None = None  # `question` as the answer path reads it

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000
