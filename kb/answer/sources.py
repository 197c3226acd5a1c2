"""The passages retrieved for a question and the numbered sources taken from them for the prompt."""
from __future__ import annotations

from kb.answer.context import WORD_BUDGET, Source, select
from kb.answer.question import Question
from kb.knowledge import Hit, KnowledgeBase

K = 5  # passages retrieved


def gather(kb: KnowledgeBase, question: Question, also: tuple[str, ...] = (), k: int = K, budget: int = WORD_BUDGET) -> tuple[list[Hit], list[Source]]:
    """The `k` retrieved passages (for `question` and its other wordings `also`) and the numbered sources for the
    prompt: their sentences that matter to the question, `budget` words in all."""
    hits = kb.search(question.text, also=also, k=k)
    return hits, select(question, [h.passage for h in hits], budget)
