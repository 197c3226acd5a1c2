"""What the model's reply becomes: its sentences checked against the sources, the citations shown, or the abstention."""
from __future__ import annotations

import functools
import re
from typing import Sequence

from kb.answer.context import Source, content_words
from kb.answer.question import Question
from kb.language import detect
from kb.store import Passage
from kb.answer.verify import Similar, Sentence, check, complete_part, is_refusal, repeats, unmentioned, word_matches
from kb.textnorm import tokens

SUBJECTS_SAME_LANGUAGE = True  # the names asked are looked for only in passages in the question's language
ACROSS_SIMILARITY = 0.80  # how close in meaning (multilingual-e5) a sentence must be to its source in another language
QUOTE_COVERAGE = (0.75, 0.65)  # share of them one source sentence must hold to be quoted when the model declines (short, long question)
ABSTAIN = {
    "fr": "Les sources de l'événement ne répondent pas à cette question.",
    "en": "The event's sources do not answer this question.",
}
ECHO = "the answer only repeats the question"
NO_PASSAGE = "retrieval found no passage relevant to the question"
UNSUPPORTED = "no sentence of the model's answer is supported by the sources"


def shown(language: str, sources: list[Source], sentences: list[Sentence], reason: str | None) -> tuple[str, list[dict]]:
    """The answer as shown and its citations: the fixed sentence and none when there is a reason to abstain."""
    if reason is not None:
        return ABSTAIN[language], []
    by_n = {s.n: s for s in sources}
    cited = sorted({n for s in sentences if s.supported for n in s.citations})
    answer = compose(sentences)
    return answer, [_citation(by_n[n], answer) for n in cited]


def event_of(p: Passage) -> dict:
    """{"event": id} for a passage of one of several events answered together, else nothing."""
    return {"event": p.event} if p.event else {}


def _citation(source: Source, answer: str = "") -> dict:
    """A citation of a source: its passage, and the sentence the model read from it that shares the most words with
    the answer, for the viewer to highlight."""
    p = source.passage
    said = set(tokens(answer))
    best = max(source.sentences, key=lambda s: len(said & set(tokens(s))), default=None)  # the first one on a tie
    read = best.removeprefix("… ").removesuffix(" …") if best else None
    return {"n": source.n, **event_of(p), "id": p.id, "text": p.text, "document": p.document, "title": p.title, "page": p.page,
            "lines": list(p.lines) if p.lines else None, "speaker": p.speaker, "sentence": read}


def compose(sentences: list[Sentence]) -> str:
    """The answer as shown: the supported sentences, each followed by its checked citations."""
    parts = []
    for s in sentences:
        if s.supported:
            body, stop = (s.text[:-1], s.text[-1]) if s.text[-1:] in ".!?" else (s.text, "")
            parts.append(body.rstrip() + "".join(f" [{n}]" for n in s.citations) + stop)
    return " ".join(parts)


def quote_fallback(question: Question, sources: list[Source]) -> Sentence | None:
    """When the model declines, a source sentence in the question's language that holds nearly all its words, quoted verbatim."""
    words, language = question.words, question.language
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


def settle(question: Question, sources: list[Source], raw: str, similar: Similar | None = None,
           least: float = 0.0) -> tuple[list[Sentence], str | None, str]:
    """What the model's reply becomes: its checked sentences, the reason to abstain (None when it answers) and the
    mode ("generated", "quoted" when a source sentence is quoted instead, "abstained"). `similar` and `least`: how a
    sentence in another language than its source is checked (see `kb.answer.verify.check_sentence`)."""
    sentences: list[Sentence] = []
    reason, mode = None, "generated"
    if is_refusal(raw):
        reason = "the model found no answer in the sources"
    else:
        sentences = check(raw, sources, question, similar, least)
        supported = " ".join(s.text for s in sentences if s.supported)
        if not supported:
            reason = UNSUPPORTED
        elif repeats(question.text, supported):
            reason = ECHO
    # Declined, said nothing ("1.", "The answer is 1." carry fewer than two content words) or only echoed the question.
    declined = is_refusal(raw) or reason == ECHO or len([w for w in content_words(re.sub(r"\[\d+\]", "", raw)) if not w[0].isdigit()]) < 2
    if reason is not None and declined:
        # The model declined (or said nothing, like "1."), yet a source sentence holds nearly all the question: quote it.
        quoted = quote_fallback(question, sources)
        if quoted is not None:
            sentences, reason, mode = [quoted], None, "quoted"
    if reason is None:
        backing = [source.passage for source in sources if any(source.n in s.citations for s in sentences if s.supported)]
        # Names are matched by their letters, which another language may not share ("White Paper", "Livre Blanc").
        across = SUBJECTS_SAME_LANGUAGE and any(detect(p.text, default=question.language) != question.language for p in backing)
        missing = [] if across else unmentioned(question, backing)
        if missing:  # "GPT-4" asked, a passage on GPT-3 or BLOOM cited: the answer is about something else
            reason = f"the passages behind the answer do not mention {', '.join(missing)}"
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


def checked_so_far(question: Question, sources: list[Source], raw: str, similar: Similar | None = None, least: float = 0.0) -> list[Sentence]:
    """The supported sentences among the complete ones of a reply still being written, when they already make a
    checked answer (else none): what may be shown meanwhile."""
    complete = complete_part(raw)
    if not complete:
        return []
    sentences, reason, mode = settle(question, sources, complete, similar=similar, least=least)
    return [s for s in sentences if s.supported] if reason is None and mode == "generated" else []
