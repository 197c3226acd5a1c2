"""The passages retrieved for a question and the numbered sources taken from them for the prompt."""
from __future__ import annotations

import functools

from kb.answer.context import WORD_BUDGET, Source, select
from kb.answer.question import Question
from kb.knowledge import Hit, KnowledgeBase

K = 5  # passages retrieved
ACROSS = ("meaning", "words")  # how the sentences of a passage in another language than the question's are chosen


def closeness_to(embedder, question: str, sentences: list[str]) -> list[float]:
    """The cosine similarity of each sentence to the question, by the (multilingual) embedder."""
    if not sentences:
        return []
    return [float(x) for x in embedder.passages(list(sentences), None) @ embedder.query(question)]


def gather(kb: KnowledgeBase, question: Question, also: tuple[str, ...] = (), k: int = K, budget: int = WORD_BUDGET,
           across: str = ACROSS[0]) -> tuple[list[Hit], list[Source]]:
    """The `k` retrieved passages (for `question` and its other wordings `also`) and the numbered sources for the
    prompt: their sentences that matter to the question, `budget` words in all; in a passage in another language,
    chosen by their closeness in meaning to it (`across="meaning"`) or, like the others, by the words they share."""
    hits = kb.search(question.text, also=also, k=k)
    meaning = functools.partial(closeness_to, kb.embedder) if across == "meaning" else None
    return hits, select(question, [h.passage for h in hits], budget, meaning=meaning)
