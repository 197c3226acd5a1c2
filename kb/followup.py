"""Follow-up questions: a question asked after others ("Et lui ?", "And in 2026?") made into one that stands alone,
before it is searched and answered.

The methods, measured side by side by `benchmarks/followups.py`: "model" has the generator rewrite it from the turn
before, and keeps the rewrite only when every name and figure in it is copied from the conversation; "names" adds the
people and names of the turn before that the question does not name; "concat" puts the question before in front of
it; "fused" answers the model's question, but searches both it and the concatenation, the two lists fused by rank
(on batch f19 the concatenation found the most passages, and the model's question gave the most answers).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from kb.generator import Generator, Usage
from kb.language import detect
from kb.people import named_in
from kb.names import names
from kb.textnorm import fold

METHODS = ("model", "names", "concat", "fused", "none")
NEEDS_MODEL = ("model", "fused")
MAX_TOKENS = 60  # one question
MAX_CHARS = 400  # a rewrite longer than this is not a question
LANGUAGE_NAMES = {"fr": "French", "en": "English"}
INSTRUCTIONS = (
    "You rewrite the last question of a conversation so that it can be understood on its own, for a search engine. "
    "Replace pronouns and fill in what it leaves out with the names and subjects of the earlier turn. "
    "Keep its meaning; if it already stands alone, repeat it unchanged. Reply with the question only."
)
_CITATION = re.compile(r"\s*\[\d+\]")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Turn:
    """One earlier turn of a conversation: the question as it was searched, and the answer shown (empty when it abstained)."""

    searched: str
    answer: str = ""


@dataclass
class Rewrite:
    """A follow-up made standalone: the question searched (and answered), other wordings searched with it, the method
    that made it, and for the model, its tokens and the reason its rewrite was set aside (None when kept)."""

    searched: str
    method: str
    usage: Usage | None = None
    rejected: str | None = None
    also: tuple[str, ...] = ()

    def to_json(self) -> dict:
        out: dict = {"method": self.method}
        if self.also:
            out["also"] = list(self.also)
        if self.usage is not None:
            out["tokens"] = {"prompt": self.usage.prompt_tokens, "completion": self.usage.completion_tokens}
        if self.rejected:
            out["rejected"] = self.rejected
        return out


def language_of(question: str, history: list[Turn]) -> str:
    """The language of a follow-up; a question too short to tell ("Et lui ?") takes the conversation's."""
    before = detect(history[-1].searched) if history else "en"
    return detect(question, default=before)


def with_names(question: str, history: list[Turn], people: list[dict]) -> str:
    """The question followed by the people and names of the turn before that it does not name itself: the people of
    the question before (else of its answer) when it names no one, and the other names of the question before."""
    if not history:
        return question
    before = history[-1]
    carried: list[str] = []
    if not named_in(question, people):
        carried += named_in(before.searched, people) or named_in(before.answer, people)
    folded = fold(question)
    person_words = {w for name in named_in(before.searched, people) for w in fold(name).split()}
    for name in names(before.searched):
        if fold(name) not in folded and not set(fold(name).split()) & person_words and name not in carried:
            carried.append(name)
    carried = [c for c in carried if fold(c) not in folded]
    return f"{question} ({', '.join(carried)})" if carried else question


def concatenated(question: str, history: list[Turn]) -> str:
    """The question before, then this one."""
    return f"{history[-1].searched} {question}" if history else question


def messages(question: str, before: Turn, language: str) -> list[dict]:
    """The model's prompt: the turn before (the question as searched, its answer without citation marks) and the question."""
    answer = _CITATION.sub("", before.answer).strip()
    user = (f"Earlier question: {before.searched}\n" + (f"Its answer: {answer}\n" if answer else "")
            + f"Last question: {question}\nThe last question, standing alone, in {LANGUAGE_NAMES.get(language, 'English')}:")
    return [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": user}]


def problem(rewrite: str, question: str, before: Turn, people: list[dict], language: str) -> str | None:
    """Why a model's rewrite cannot be searched (None when it can): empty or too long, in another language, or with a
    name or figure copied from nowhere in the conversation or the event's list of people."""
    if not rewrite or len(rewrite) > MAX_CHARS or "\n" in rewrite:
        return "the rewrite is not one question"
    if detect(rewrite, default=language) != language:
        return "the rewrite is not in the question's language"
    said = fold(" ".join([question, before.searched, before.answer, *(p["name"] for p in people)]))
    for name in names(rewrite):
        if fold(name) not in said:
            return f"the rewrite names {name}, which the conversation does not"
    said_figures = set(_FIGURE.findall(said))
    for figure in _FIGURE.findall(fold(rewrite)):
        if figure not in said_figures:
            return f"the rewrite gives {figure}, which the conversation does not"
    return None


def by_model(question: str, history: list[Turn], people: list[dict], generator: Generator) -> Rewrite:
    """The model's standalone question, verified; the names method's when the model's fails the check (the caller
    holds the generator's lock, and meters and times the call)."""
    language = language_of(question, history)
    usage = Usage()
    reply = "".join(generator.stream(messages(question, history[-1], language), MAX_TOKENS, usage))
    rewrite = " ".join(reply.strip().strip('"“”«»').split())
    reason = problem(rewrite, question, history[-1], people, language)
    if reason is not None:
        return Rewrite(with_names(question, history, people), "model", usage, reason)
    return Rewrite(rewrite, "model", usage)


def standalone(method: str, question: str, history: list[Turn], people: list[dict], generator: Generator | None = None) -> Rewrite:
    """The question to search for a follow-up, by `method` (one of METHODS); the question itself when there is no history."""
    if method not in METHODS:
        raise ValueError(f"unknown follow-up method {method!r}")
    if not history or method == "none":
        return Rewrite(question, "none")
    if method in NEEDS_MODEL:
        if generator is None:
            raise ValueError(f"the {method} method needs a generator")
        rewrite = by_model(question, history, people, generator)
        if method == "fused":
            rewrite.method, rewrite.also = "fused", (concatenated(question, history),)
        return rewrite
    if method == "names":
        return Rewrite(with_names(question, history, people), "names")
    return Rewrite(concatenated(question, history), "concat")
