"""The answer path, in the order it runs: `question` (the question read once), `sources` (the passages retrieved) and
`context` (the sentences the model reads from them), `prompt` (what the model is told), `verify` (each sentence of the
reply checked against its source), `checks` (the citations, the abstention) and `answerer` (the stream of events, the
timings, the energy and the audit record)."""
from kb.answer.answerer import FOLLOWUP, MAX_QUESTION_CHARS, MAX_TOKENS, Answerer, BusyError, cache_key, validate
from kb.answer.prompt import messages_for, system_prompt, warm_up_question
from kb.answer.checks import (ABSTAIN, ACROSS_SIMILARITY, ECHO, NO_PASSAGE, UNSUPPORTED, checked_so_far, closeness, compose,
                              quote_fallback, settle, shown)
from kb.answer.question import Question
from kb.answer.sources import K, gather

__all__ = ["ABSTAIN", "ACROSS_SIMILARITY", "ECHO", "FOLLOWUP", "K", "MAX_QUESTION_CHARS", "MAX_TOKENS", "NO_PASSAGE", "UNSUPPORTED",
           "Answerer", "BusyError", "Question", "cache_key", "checked_so_far", "closeness", "compose", "gather", "messages_for",
           "quote_fallback", "settle", "shown", "system_prompt", "validate", "warm_up_question"]
