"""The passages retrieved for a question and the numbered sources taken from them for the prompt."""
from __future__ import annotations

from kb.answer.context import WORD_BUDGET, Source, select
from kb.answer.question import Question
from kb.knowledge import Hit, KnowledgeBase
from kb.words import BRIDGE_AT

K = 5  # passages retrieved


def gather(kb: KnowledgeBase, question: Question, also: tuple[str, ...] = (), k: int = K, budget: int = WORD_BUDGET,
           bridge_at: float = BRIDGE_AT) -> tuple[list[Hit], list[Source]]:
    """The `k` retrieved passages (for `question` and its other wordings `also`) and the numbered sources for the
    prompt: their sentences that matter to the question, `budget` words in all, a passage's words standing for the
    question's in another language from a cosine of `bridge_at` (over 1: never)."""
    hits = kb.search(question.text, also=also, k=k)
    lexicon = getattr(kb, "lexicon", None)
    bridge = lexicon.bridge(question.text, kb.embedder, bridge_at) if lexicon is not None and lexicon.words and bridge_at <= 1.0 else None
    return hits, select(question, [h.passage for h in hits], budget, bridge=bridge)
