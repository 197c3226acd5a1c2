"""The passages retrieved for a question and the numbered sources taken from them for the prompt."""
from __future__ import annotations

from kb.answer.context import WORD_BUDGET, Source, select
from kb.answer.question import Question
from kb.answer.verify import unmentioned
from kb.knowledge import Hit, KnowledgeBase
from kb.store import Passage

K = 5  # passages retrieved


def search(kb: KnowledgeBase, question: str, also: tuple[str, ...], **filters) -> list[Hit]:
    """The knowledge base's search for the question, with its other wordings when a follow-up has some."""
    return kb.search(question, also=also, **filters) if also else kb.search(question, **filters)


def gather(kb: KnowledgeBase, question: Question, also: tuple[str, ...] = (), k: int = K, budget: int = WORD_BUDGET) -> tuple[list[Hit], list[Source]]:
    """The `k` retrieved passages (for `question` and its other wordings `also`) and the numbered sources for the
    prompt: their sentences that matter to the question, `budget` words in all."""
    hits = search(kb, question.text, also, k=k)
    if question.subjects and all(unmentioned(question, [h.passage]) for h in hits):
        # None of them can back an answer (see `unmentioned`): look again among the passages that name the subject.
        naming = {p.row for p in kb.passages if not unmentioned(question, [p])}
        if naming:
            hits = search(kb, question.text, also, k=k, within=naming)
    return hits, select(question, about_subjects(question, [h.passage for h in hits]), budget)


def about_subjects(question: Question, passages: list[Passage]) -> list[Passage]:
    """The passages in retrieval order, those that mention every name the question asks about ("ChatGPT", "BLOOM")
    first: only they can back an answer (see `unmentioned`), so they must not lose their place in the prompt to others."""
    if not question.subjects:
        return passages
    mention = [p for p in passages if not unmentioned(question, [p])]
    return mention + [p for p in passages if p not in mention]
