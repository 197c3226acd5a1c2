"""Answer a question from the knowledge base: retrieve, prompt a local model, check every sentence, keep the record.

`Answerer.stream()` yields events as they happen: the retrieved passages, each sentence of the answer once it has
passed its check (never the model's raw text), the answer as shown with its citations, then the final record
(also written to the audit log, cancelled answers included).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterator, Sequence

from kb import audit, followup
from kb.context import WORD_BUDGET, Source, content_words, select
from kb.energy import Energy, Meter, grid_intensity
from kb.errors import EventKBError
from kb.generator import Generator, Usage
from kb.knowledge import Hit, KnowledgeBase
from kb.language import detect
from kb.query import asked_unit, event_glossary
from kb.store import Passage
from kb.support import REFUSAL, Similar, Sentence, check, complete_part, is_refusal, repeats, subjects, unmentioned, word_matches
from kb.textnorm import tokens

MAX_QUESTION_CHARS = 1000
K = 5  # passages retrieved
MAX_TOKENS = 120  # one or two sentences
ACROSS_SIMILARITY = 0.80  # how close in meaning (multilingual-e5) a sentence must be to its source in another language
QUOTE_COVERAGE = (0.75, 0.65)  # share of them one source sentence must hold to be quoted when the model declines (short, long question)

_MONTHS = "January February March April May June July August September October November December".split()


def _about(event: dict | None) -> str:
    """What the prompts call the event, from its manifest: its title, organiser and date (or the events, by title)."""
    if event and event.get("events"):
        return "the events " + ", ".join(f'"{e.get("title") or e["id"]}"' for e in event["events"])
    if not (event and event.get("title")):
        return "an event's documents"
    day = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", event.get("date") or "")
    when = f"{int(day[3])} {_MONTHS[int(day[2]) - 1]} {day[1]}" if day else event.get("date") or ""
    context = ", ".join(x for x in (event.get("organiser"), when) if x)
    return f"the event \"{event['title']}\"" + (f" ({context})" if context else "")


def system_prompt(event: dict | None) -> str:
    """The system prompt for the questions on one event: constant for a knowledge base, so that llama.cpp reuses its
    evaluated prefix from one question to the next. What it says of the event comes from the event's manifest."""
    return (
        f"You answer questions about {_about(event)}. "
        "Each question comes with numbered sources. Give the answer the sources contain, in one or two short sentences, "
        "in the language the question asks for, ending each sentence with its source number like [1]. "
        "Copy figures, units and names exactly as the source writes them. "
        f"Reply {REFUSAL} only when no source gives the answer."
    )


def warm_up_question(event: dict | None) -> str:
    """A question to answer once, unlogged, before the first user's: the event's first example, else its title."""
    examples = (event or {}).get("examples") or []
    return examples[0] if examples else f"What is {(event or {}).get('title') or 'this event'} about?"


ABSTAIN = {
    "fr": "Les sources de l'événement ne répondent pas à cette question.",
    "en": "The event's sources do not answer this question.",
}
LANGUAGE_NAMES = {"fr": "French", "en": "English"}
ECHO = "the answer only repeats the question"
NO_PASSAGE = "retrieval found no passage relevant to the question"
CANCELLED = "the client left before the answer was complete"
WAIT_SLICE_S = 0.25  # how often a question waiting for the model checks that its client is still there
UNSUPPORTED = "no sentence of the model's answer is supported by the sources"
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


def messages_for(question: str, language: str, sources: list[Source], system: str = system_prompt(None)) -> list[dict]:
    """The chat messages: the event's constant system prompt, then the sources and the question."""
    lines = "\n".join(s.prompt_line() for s in sources)
    user = f"Sources:\n{lines}\n\nQuestion: {question}\nAnswer in {LANGUAGE_NAMES[language]}."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def search(kb: KnowledgeBase, question: str, also: tuple[str, ...], **filters) -> list[Hit]:
    """The knowledge base's search for the question, with its other wordings when a follow-up has some."""
    return kb.search(question, also=also, **filters) if also else kb.search(question, **filters)


def gather(kb: KnowledgeBase, question: str, also: tuple[str, ...] = (), k: int = K, budget: int = WORD_BUDGET) -> tuple[list[Hit], list[Source]]:
    """The `k` retrieved passages (for `question` and its other wordings `also`) and the numbered sources for the
    prompt: their sentences that matter to the question, `budget` words in all."""
    hits = search(kb, question, also, k=k)
    if subjects(question) and all(unmentioned(question, [h.passage]) for h in hits):
        # None of them can back an answer (see `unmentioned`): look again among the passages that name the subject.
        naming = {p.row for p in kb.passages if not unmentioned(question, [p])}
        if naming:
            hits = search(kb, question, also, k=k, within=naming)
    return hits, select(question, about_subjects(question, [h.passage for h in hits]), budget)


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
    answer = compose(sentences)
    return answer, [_citation(by_n[n], answer) for n in cited]


def _event_of(p: Passage) -> dict:
    """{"event": id} for a passage of one of several events answered together, else nothing."""
    return {"event": p.event} if p.event else {}


def _citation(source: Source, answer: str = "") -> dict:
    """A citation of a source: its passage, and the sentence the model read from it that shares the most words with
    the answer, for the viewer to highlight."""
    p = source.passage
    said = set(tokens(answer))
    best = max(source.sentences, key=lambda s: len(said & set(tokens(s))), default=None)  # the first one on a tie
    read = best.removeprefix("… ").removesuffix(" …") if best else None
    return {"n": source.n, **_event_of(p), "id": p.id, "text": p.text, "document": p.document, "title": p.title, "page": p.page,
            "lines": list(p.lines) if p.lines else None, "speaker": p.speaker, "sentence": read}


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


def settle(question: str, language: str, sources: list[Source], raw: str, similar: Similar | None = None,
           least: float = 0.0) -> tuple[list[Sentence], str | None, str]:
    """What the model's reply becomes: its checked sentences, the reason to abstain (None when it answers) and the
    mode ("generated", "quoted" when a source sentence is quoted instead, "abstained"). `similar` and `least`: how a
    sentence in another language than its source is checked (see `kb.support.check_sentence`)."""
    by_n = {s.n: s for s in sources}
    sentences: list[Sentence] = []
    reason, mode = None, "generated"
    if is_refusal(raw):
        reason = "the model found no answer in the sources"
    else:
        sentences = check(raw, sources, question, similar, least)
        supported = " ".join(s.text for s in sentences if s.supported)
        if not supported:
            reason = UNSUPPORTED
        elif repeats(question, supported):
            reason = ECHO
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
        # "What is the organiser's budget?" answered in TWh, "how much CO2" answered in kWh: not what was asked.
        reason = "the answer gives no figure of the kind the question asks for"
    return sentences, reason, "abstained" if reason is not None else mode


@functools.lru_cache(maxsize=256)
def _vectors(embedder, texts: tuple[str, ...]):
    return embedder.passages(list(texts), None)


def closeness(embedder, sentence: str, others: Sequence[str]) -> float:
    """The cosine similarity of `sentence` to the closest of `others`, by the embedder (multilingual: across languages)."""
    if not others:
        return 0.0
    vectors = _vectors(embedder, (sentence, *others))
    return float((vectors[1:] @ vectors[0]).max())


def _add(a: Energy, b: Energy) -> Energy:
    return Energy(a.joules + b.joules, a.joules_low + b.joules_low, a.joules_high + b.joules_high, b.method, a.cpu_seconds + b.cpu_seconds, b.detail)


def checked_so_far(question: str, language: str, sources: list[Source], raw: str, similar: Similar | None = None, least: float = 0.0) -> list[Sentence]:
    """The supported sentences among the complete ones of a reply still being written, when they already make a
    checked answer (else none): what may be shown meanwhile."""
    complete = complete_part(raw)
    if not complete:
        return []
    sentences, reason, mode = settle(question, language, sources, complete, similar=similar, least=least)
    return [s for s in sentences if s.supported] if reason is None and mode == "generated" else []


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
        defaults = {"k": K, "max_tokens": MAX_TOKENS, "word_budget": WORD_BUDGET, "similarity": ACROSS_SIMILARITY, "followup": self.followup}
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

    def stream(self, question: str, gone: Callable[[], bool] = lambda: False, conversation: str | None = None) -> Iterator[dict]:
        """Events: {"type": "retrieval"}, {"type": "sentence"} for each checked sentence as soon as it is known,
        {"type": "answer"} (the answer as shown, which replaces them) and {"type": "record"}. The model's raw text is
        never yielded. When `gone()` turns true, or the consumer closes the stream, generation stops and the answer
        is recorded as cancelled. With `conversation` (the id of its first answer), the question is a follow-up:
        it is made standalone from the turn before, and that is what is searched and answered."""
        with event_glossary(self.kb.glossary):  # the event's own terms, for the checks as for search
            yield from self._stream(question, gone, conversation)

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
                energy = self._generation_energy(usage, read)
                run.energy = energy if run.energy is None else _add(run.energy, energy)
        run.rewrite = {**rewrite.to_json(), "ms": round((time.perf_counter() - t0) * 1000, 1)}
        run.question, run.also = rewrite.searched, rewrite.also

    def _stream(self, question: str, gone: Callable[[], bool], conversation: str | None) -> Iterator[dict]:
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
        run.hits, run.sources = gather(self.kb, run.question, run.also, int(self.settings["k"]), int(self.settings["word_budget"]))
        retrieval = read_retrieval()
        run.energy = retrieval if run.energy is None else _add(run.energy, retrieval)
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
        with contextlib.closing(self._model_pieces(run, messages, int(self.settings["max_tokens"]), gone)) as pieces:
            for _ in pieces:
                if len(complete_part(run.raw)) > len(complete):  # one more sentence is complete: show it if the answer so far holds
                    complete = complete_part(run.raw)
                    yield from self._show(run, checked_so_far(run.question, run.language, run.sources, run.raw, *self._across()))

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
            run.energy = _add(run.energy, self._generation_energy(run.usage, read))

    def _generation_energy(self, usage: Usage, read: Callable[[], Energy]) -> Energy:
        """This process's energy while the model wrote, plus the model server's estimate when the model runs elsewhere."""
        local = read()
        remote = getattr(self.generator, "energy", None)
        if remote is None:
            return local
        elsewhere = remote(usage)
        return Energy(local.joules + elsewhere.joules, local.joules_low + elsewhere.joules_low, local.joules_high + elsewhere.joules_high,
                      elsewhere.method, local.cpu_seconds + elsewhere.cpu_seconds, f"{elsewhere.detail}; plus this process: {local.detail}")

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
        try:
            audit.save(self.audit_log, record, passages)
        except sqlite3.Error as exc:
            raise EventKBError(f"The answer could not be written to the audit log ({exc}): free some disk space and ask again.") from None
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
                sentences, reason, mode = settle(run.question, run.language, run.sources, run.raw, *self._across())
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
        self._keep(run, record)
        events.append({"type": "record", "record": record})
        return events

    def _across(self) -> tuple[Similar, float]:
        """How a sentence in another language than its source is checked: by closeness in meaning, with the knowledge
        base's embedder (multilingual), at least the `similarity` setting."""
        return functools.partial(closeness, self.kb.embedder), float(self.settings["similarity"])

    def _keep(self, run: _Run, record: dict) -> None:
        """Write the record and the retrieved passages to the audit log, in one transaction."""
        if self.audit_log is None:
            return
        retrieved = [dict(h.passage.to_json(), n=n) for n, h in enumerate(run.hits, start=1)]
        try:
            audit.save(self.audit_log, record, retrieved)
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
            "answer_language": detect(run.raw, default=run.language) if run.raw and not is_refusal(run.raw) else run.language,
            "citations": citations,
            "sentences": [s.to_json() for s in sentences],
            "withdrawn": withdrawn,
            "retrieved": [{"n": n, **_event_of(h.passage), "id": h.passage.id, "document": h.passage.document, "score": round(h.score, 6)} for n, h in enumerate(run.hits, start=1)],
            "sources": [{"n": s.n, **_event_of(s.passage), "id": s.passage.id, "sentences": list(s.sentences)} for s in run.sources],
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
    energy: Energy | None = None
    retrieval_ms: float = 0.0
    usage: Usage = field(default_factory=Usage)
    raw: str = ""
    first_token_ms: float | None = None
    first_shown_ms: float | None = None
    generation_ms: float = 0.0
    shown: list[Sentence] = field(default_factory=list)
    cancelled: bool = False
    cache_key: str = ""
    asked: str = ""  # the question as typed; `question` is what is searched (the same unless it is a follow-up)
    conversation: str | None = None
    rewrite: dict | None = None  # how a follow-up was made standalone
    also: tuple[str, ...] = ()  # other wordings of the question searched with it (a follow-up after the question before)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000
